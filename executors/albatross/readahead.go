package albatross

import (
	"errors"
	"io"
	"sync"
)

// The read-ahead of an upload: readAheadBlocks blocks of readAheadBlock
// bytes (4 MiB), enough to cover sshd's 2 MiB window twice.
const (
	readAheadBlock  = 256 << 10
	readAheadBlocks = 16
)

// readAhead reads src in a goroutine of its own, up to blocks × size
// bytes ahead of its reader, so that fetching (registry, gunzip, layer
// digests, our SHA-256) and the SSH upload (encryption, waiting for the
// window sshd grants) overlap instead of taking turns, as they do
// through the unbuffered pipes of mutate.Extract and ssh.Session. Read
// is for one goroutine at a time; Close may be called from another.
type readAhead struct {
	full      chan []byte   // blocks read, in order; closed when fill returns
	free      chan []byte   // blocks to read into
	quit      chan struct{} // closed by Close
	done      chan struct{} // closed when fill has returned
	closeOnce sync.Once
	err       error // why fill stopped; written before full is closed

	cur, blk []byte // the unread rest of the block being read, and that block
}

func newReadAhead(src io.Reader, size, blocks int) *readAhead {
	a := &readAhead{
		full: make(chan []byte, blocks), free: make(chan []byte, blocks),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
	for range blocks {
		a.free <- make([]byte, size)
	}
	go a.fill(src)
	return a
}

// errReadAheadClosed is what Read returns after Close stopped the
// goroutine before src ended.
var errReadAheadClosed = errors.New("read-ahead closed")

func (a *readAhead) fill(src io.Reader) {
	defer close(a.done)
	defer close(a.full)
	for {
		var b []byte
		select {
		case b = <-a.free:
		case <-a.quit:
			a.err = errReadAheadClosed
			return
		}
		// Fill the block (fewer, larger hand-overs), keeping src's
		// error as it is, io.EOF included.
		n := 0
		var err error
		for n < len(b) && err == nil {
			var k int
			k, err = src.Read(b[n:])
			n += k
		}
		if n > 0 {
			select {
			case a.full <- b[:n]:
			case <-a.quit:
				a.err = errReadAheadClosed
				return
			}
		}
		if err != nil {
			a.err = err
			return
		}
	}
}

// Read returns what src gave, in order, then src's error (io.EOF at its
// end).
func (a *readAhead) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.blk != nil {
			a.free <- a.blk[:cap(a.blk)] // never blocks: free holds every block
			a.blk = nil
		}
		b, ok := <-a.full
		if !ok {
			return 0, a.err
		}
		a.blk, a.cur = b, b
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// Close stops the goroutine and waits for it: when Close returns, src is
// not read any more. A read of src in progress is not interrupted:
// cancel what src reads from first to cut it short.
func (a *readAhead) Close() {
	a.closeOnce.Do(func() { close(a.quit) })
	<-a.done
}
