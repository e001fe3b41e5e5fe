package bot

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
)

// DefaultBodyBudget is the memory a BodyBudget with no Max lets unverified
// request bodies hold at once: two of GitHub's largest deliveries, or 64
// of Slack's.
const DefaultBodyBudget = 64 << 20

// ErrBodyBudget is returned by BodyBudget.Read when taking the body would
// hold more than the budget; the handler answers 503 with Retry-After.
var ErrBodyBudget = errors.New("too many unverified request bodies in flight")

// BusyRetryAfter is the Retry-After, in seconds, of a request refused
// with ErrBodyBudget: long enough for the bodies in flight to be read (the
// server's ReadTimeout bounds a slow one).
const BusyRetryAfter = "30"

// bodyStep is how much more a body of unknown length reserves at a time.
const bodyStep = 256 << 10

// minHold is the least a body holds of the budget, however short: it caps
// how many bodies are read at once (2048 in DefaultBodyBudget), each with
// its connection's buffers and goroutine.
const minHold = 32 << 10

// freeAfter is how many bytes of large bodies (bigBody and over) must
// have been given back since the last time before the memory is returned
// to the system: small ones, the usual deliveries, never force it.
const (
	freeAfter = 16 << 20
	bigBody   = 1 << 20
)

// BodyBudget bounds the memory that request bodies not yet verified (a
// webhook's before its HMAC is checked) hold at once, whoever sends them:
// a body reserves its bytes before it is read, and one that does not fit
// is refused at once instead of waiting. The zero value (Max
// DefaultBodyBudget) is ready to use; one budget may serve several
// handlers. Safe for concurrent use.
type BodyBudget struct {
	// Max is the bytes all bodies may hold at once (0: DefaultBodyBudget).
	Max int64

	mu       sync.Mutex
	used     int64
	released int64      // bytes given back since the memory was last returned
	free     sync.Mutex // one return of memory at a time
}

// Size is the bytes all bodies may hold at once.
func (b *BodyBudget) Size() int64 {
	if b.Max <= 0 {
		return DefaultBodyBudget
	}
	return b.Max
}

func (b *BodyBudget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.Size() {
		return false
	}
	b.used += n
	return true
}

// give returns n bytes to the budget. When no body is held any more and
// large ones were, the memory goes back to the system now rather than in
// a few minutes: a flood of forged bodies must not leave the process at
// its peak.
func (b *BodyBudget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	if n >= bigBody {
		b.released += n
	}
	idle := b.used == 0 && b.released >= freeAfter
	if idle {
		b.released = 0
	}
	b.mu.Unlock()
	if idle {
		b.free.Lock()
		debug.FreeOSMemory()
		b.free.Unlock()
	}
}

// bodyBuffers keeps the buffers of bodies declared no longer than
// minHold, the usual deliveries, for the next ones: a new buffer for each
// was the largest allocation of a webhook delivery. Such a body holds
// minHold of the budget whatever its length, so the budget accounts for
// a pooled buffer's whole size.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, minHold); return &b }}

// Body is a request body read within a BodyBudget. Release gives its
// memory back; Bytes must not be used after (its buffer may be reused).
type Body struct {
	Bytes  []byte
	held   int64
	budget *BodyBudget
	pooled *[]byte // the buffer from bodyBuffers, if any
}

// Release gives the body's reservation back; it may be called more than
// once, and on a nil Body.
func (body *Body) Release() {
	if body == nil || body.held == 0 {
		return
	}
	body.Bytes = nil
	if body.pooled != nil {
		bodyBuffers.Put(body.pooled)
		body.pooled = nil
	}
	body.budget.give(body.held)
	body.held = 0
}

// Read reads r to its end within the budget, writing every byte to sum as
// it goes (an HMAC, so that the body is verified as it streams in). size
// is the declared length (Content-Length, or ≤ 0 if unknown): it is
// reserved whole before anything is read, so an oversized flood is
// refused without reading a byte. It returns ErrBodyBudget when the body
// does not fit (what was reserved is given back), or r's error (such as
// *http.MaxBytesError) wrapped.
func (b *BodyBudget) Read(r io.Reader, size int64, sum io.Writer) (*Body, error) {
	want := int64(bodyStep)
	if size > 0 {
		want = size
	}
	held := max(want, minHold)
	if !b.take(held) {
		return nil, ErrBodyBudget
	}
	body := &Body{held: held, budget: b}
	if want <= minHold {
		body.pooled = bodyBuffers.Get().(*[]byte)
		body.Bytes = (*body.pooled)[:0:want]
	} else {
		body.Bytes = make([]byte, 0, want)
	}
	var probe [1]byte
	for {
		buf := body.Bytes[len(body.Bytes):cap(body.Bytes)]
		probing := len(buf) == 0
		if probing {
			// Full: a declared length ends here; otherwise look ahead
			// one byte before growing.
			buf = probe[:]
		}
		n, err := r.Read(buf)
		if n > 0 {
			sum.Write(buf[:n])
			if probing {
				if !body.grow(b) {
					body.Release()
					return nil, ErrBodyBudget
				}
				body.Bytes = append(body.Bytes, probe[0])
			} else {
				body.Bytes = body.Bytes[:len(body.Bytes)+n]
			}
		}
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			body.Release()
			return nil, fmt.Errorf("read body: %w", err)
		}
	}
}

// grow makes room for a body longer than declared (only a reader that is
// not an HTTP body does that) or of unknown length, by half again, within
// the budget.
func (body *Body) grow(b *BodyBudget) bool {
	more := max(int64(bodyStep), body.held/2)
	if !b.take(more) {
		return false
	}
	body.held += more
	grown := make([]byte, len(body.Bytes), body.held)
	copy(grown, body.Bytes)
	body.Bytes = grown
	return true
}
