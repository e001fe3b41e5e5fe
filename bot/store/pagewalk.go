package store

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// bbolt's own consistency check (tx.Check) reads pages on a goroutine of
// its own, where a fault on the memory map cannot be caught, and it reads
// what a cursor never does: the keys of branch pages. walkPages goes over
// every page tx.Check will read first, from the file rather than the map,
// and refuses one whose page numbers, offsets or sizes point past the end
// of the file, so that tx.Check only reads memory that is there.
//
// The layout is bbolt's (go.etcd.io/bbolt/internal/common): a page is a
// 16-byte header (id, flags, count, overflow) and count 16-byte elements;
// a branch element is (pos, ksize, child page id), a leaf element (flags,
// pos, ksize, vsize), pos counting from the element itself; a leaf value
// flagged as a bucket starts with the bucket's root page id, 0 for a
// bucket kept inline, whose page follows in the value.

const (
	pageHeader  = 16
	elementSize = 16

	branchPage = 0x01
	leafPage   = 0x02

	bucketLeaf = 0x01
	inBucket   = 16 // root page id, sequence
)

// maxDepth bounds the walk: a damaged page may point back up the tree.
const maxDepth = 64

// pageWalk reads the file's pages for walkPages.
type pageWalk struct {
	f        io.ReaderAt
	size     int64
	pageSize int64
	seen     map[uint64]bool
}

// walkPages checks the pages reachable from the root bucket's root page
// of the file at path.
func walkPages(path string, pageSize int, root uint64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	w := &pageWalk{f: f, size: fi.Size(), pageSize: int64(pageSize), seen: map[uint64]bool{}}
	return w.page(root, 0)
}

// page checks page id and what it points to.
func (w *pageWalk) page(id uint64, depth int) error {
	if depth > maxDepth {
		return &damageError{what: fmt.Sprintf("page %d: the tree is deeper than %d pages", id, maxDepth)}
	}
	if w.seen[id] {
		return nil // tx.Check says what is wrong with a page reached twice
	}
	w.seen[id] = true
	if id < 2 || id >= uint64(w.size/w.pageSize) {
		return &damageError{what: fmt.Sprintf("page %d is past the end of the file or a meta page", id)}
	}
	head := make([]byte, pageHeader)
	if _, err := w.f.ReadAt(head, int64(id)*w.pageSize); err != nil {
		return fmt.Errorf("check: read page %d: %w", id, err)
	}
	pages := int64(binary.LittleEndian.Uint32(head[12:])) + 1
	if int64(id)+pages > w.size/w.pageSize {
		return &damageError{what: fmt.Sprintf("page %d: its %d overflow pages run past the end of the file", id, pages-1)}
	}
	p := make([]byte, pages*w.pageSize)
	if _, err := w.f.ReadAt(p, int64(id)*w.pageSize); err != nil {
		return fmt.Errorf("check: read page %d: %w", id, err)
	}
	return w.elements(id, p, depth)
}

// elements checks the elements of page p (page id, or an inline bucket's
// page inside page id) and the pages they point to.
func (w *pageWalk) elements(id uint64, p []byte, depth int) error {
	bad := func(format string, a ...any) error {
		return &damageError{what: fmt.Sprintf("page %d: ", id) + fmt.Sprintf(format, a...)}
	}
	if len(p) < pageHeader {
		return bad("an inline bucket is shorter than a page header")
	}
	flags, count := binary.LittleEndian.Uint16(p[8:]), int(binary.LittleEndian.Uint16(p[10:]))
	if flags != branchPage && flags != leafPage {
		return nil // tx.Check reports a page of the wrong kind without reading it
	}
	if pageHeader+count*elementSize > len(p) {
		return bad("%d elements do not fit in the page", count)
	}
	for i := range count {
		at := pageHeader + i*elementSize
		e := p[at : at+elementSize]
		pos, ksize := int64(binary.LittleEndian.Uint32(e[4:])), int64(binary.LittleEndian.Uint32(e[8:]))
		if flags == branchPage {
			pos, ksize = int64(binary.LittleEndian.Uint32(e[0:])), int64(binary.LittleEndian.Uint32(e[4:]))
		}
		end := int64(at) + pos + ksize
		if flags == leafPage {
			end += int64(binary.LittleEndian.Uint32(e[12:]))
		}
		if end > int64(len(p)) {
			return bad("element %d: its key or value runs past the end of the page", i)
		}
		if flags == branchPage {
			if err := w.page(binary.LittleEndian.Uint64(e[8:]), depth+1); err != nil {
				return err
			}
			continue
		}
		if binary.LittleEndian.Uint32(e[0:])&bucketLeaf == 0 {
			continue
		}
		v := p[int64(at)+pos+ksize : end]
		if len(v) < inBucket {
			return bad("element %d: a bucket's header is cut short", i)
		}
		var err error
		if root := binary.LittleEndian.Uint64(v); root == 0 {
			err = w.elements(id, v[inBucket:], depth+1)
		} else {
			err = w.page(root, depth+1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// rootPage returns the root bucket's root page of the meta page of
// transaction txid: one of the two at the start of the file.
func rootPage(path string, pageSize int, txid int) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("check: %w", err)
	}
	defer f.Close()
	// A meta page: the page header, then magic, version, page size,
	// flags (4 bytes each), the root bucket (root page id, sequence),
	// the freelist page, the high water mark, the transaction ID.
	m := make([]byte, pageHeader+56)
	for i := range 2 {
		if _, err := f.ReadAt(m, int64(i*pageSize)); err != nil {
			return 0, fmt.Errorf("check: read meta page %d: %w", i, err)
		}
		if binary.LittleEndian.Uint64(m[pageHeader+48:]) == uint64(txid) {
			return binary.LittleEndian.Uint64(m[pageHeader+16:]), nil
		}
	}
	return 0, &damageError{what: fmt.Sprintf("no meta page holds transaction %d", txid)}
}
