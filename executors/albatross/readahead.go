package albatross

import (
	"errors"
	"hash"
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
// digests) and the SSH upload (encryption, waiting for the window sshd
// grants) overlap instead of taking turns, as they do through the
// unbuffered pipes of mutate.Extract and ssh.Session. With a hash, a
// third goroutine hashes each block between the two: the SHA-256 of the
// binary is then neither the fetch's nor the upload's work, and on two
// cores the three stages run side by side. Read and WriteTo are for one
// goroutine at a time; Close may be called from another.
type readAhead struct {
	full      chan []byte   // blocks read (and hashed), in order; closed when the last stage returns
	free      chan []byte   // blocks to read into
	quit      chan struct{} // closed by Close
	done      chan struct{} // closed when every goroutine has returned
	closeOnce sync.Once
	err       error // why fill stopped; written before full is closed
	// stopped: the hash stage closed full on Close, maybe before fill
	// returned (err is then not to be read); written before full is closed.
	stopped bool

	cur, blk []byte // the unread rest of the block being read, and that block
}

// newReadAhead starts reading src; h (may be nil) is fed every block,
// in order, before Read returns it.
func newReadAhead(src io.Reader, size, blocks int, h hash.Hash) *readAhead {
	a := &readAhead{
		full: make(chan []byte, blocks), free: make(chan []byte, blocks),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
	for range blocks {
		a.free <- make([]byte, size)
	}
	if h == nil {
		go func() {
			defer close(a.done)
			a.fill(src, a.full)
		}()
		return a
	}
	filled := make(chan []byte, blocks)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.fill(src, filled) }()
	go func() { defer wg.Done(); a.hash(h, filled) }()
	go func() { wg.Wait(); close(a.done) }()
	return a
}

// errReadAheadClosed is what Read returns after Close stopped the
// goroutine before src ended.
var errReadAheadClosed = errors.New("read-ahead closed")

// fill reads src into free blocks and sends them on out, which it closes
// when it returns, a.err set.
func (a *readAhead) fill(src io.Reader, out chan<- []byte) {
	defer close(out)
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
			case out <- b[:n]:
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

// hash feeds h the blocks from in and passes them on to a.full, which
// it closes when in is closed (a.err is then set) or on Close.
func (a *readAhead) hash(h hash.Hash, in <-chan []byte) {
	defer close(a.full)
	for b := range in {
		h.Write(b)
		select {
		case a.full <- b:
		case <-a.quit:
			a.stopped = true
			return
		}
	}
}

// next makes a.cur the next unread data; it returns the stream's error
// (io.EOF at its end) when there is none.
func (a *readAhead) next() error {
	for len(a.cur) == 0 {
		if a.blk != nil {
			a.free <- a.blk[:cap(a.blk)] // never blocks: free holds every block
			a.blk = nil
		}
		b, ok := <-a.full
		if !ok {
			if a.stopped {
				return errReadAheadClosed
			}
			return a.err
		}
		a.blk, a.cur = b, b
	}
	return nil
}

// Read returns what src gave, in order, then src's error (io.EOF at its
// end).
func (a *readAhead) Read(p []byte) (int, error) {
	if err := a.next(); err != nil {
		return 0, err
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// WriteTo writes whole blocks to w, without the copy into io.Copy's
// buffer and in writes as large as the blocks. It returns src's error
// unless it is io.EOF.
func (a *readAhead) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if err := a.next(); err != nil {
			if errors.Is(err, io.EOF) {
				return total, nil
			}
			return total, err
		}
		n, err := w.Write(a.cur)
		total += int64(n)
		a.cur = a.cur[n:]
		if err != nil {
			return total, err
		}
	}
}

// Close stops the goroutines and waits for them: when Close returns, src
// is not read any more and the hash is not written to. A read of src in
// progress is not interrupted: cancel what src reads from first to cut it
// short.
func (a *readAhead) Close() {
	a.closeOnce.Do(func() { close(a.quit) })
	<-a.done
}
