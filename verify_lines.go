package countersign

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Each record carries its own hash and its predecessor's, so whether a
// line is sound, given that the line before it was, can be decided from
// the two lines alone: NextLines hashes lines on several goroutines and
// then only looks for the first line that is not sound, in order.

// minLinesPerWorker is the fewest lines worth a goroutine of their own.
const minLinesPerWorker = 256

// linesPerClaim is how many lines a hashing goroutine takes at a time:
// few enough that the goroutines finish together, whichever of them the
// scheduler or the caller's meanwhile held up.
const linesPerClaim = 64

// NextLines verifies lines as that many calls of Next would, in order,
// and returns the same error Next would for the first bad one, with Count
// and Head where Next would leave them. It hashes on up to workers
// goroutines, the caller's among them (GOMAXPROCS when workers <= 0). A
// panic while hashing, such as a fault reading a line from a memory map
// (the other goroutines turn faults into panics), only stops that
// goroutine's checks: Next reads the line again on the caller's
// goroutine, where it faults or panics as it would have.
func (v *Verifier) NextLines(lines [][]byte, workers int) error {
	return v.NextBatch(LineBatch{Lines: lines, Workers: workers})
}

// LineBatch is lines for NextBatch, and what else to do with them.
type LineBatch struct {
	Lines   [][]byte
	Workers int // as NextLines's
	// Meanwhile, if not nil, runs once on the calling goroutine while the
	// others start hashing, which it then joins: a caller that reads its
	// next lines in Meanwhile keeps every core busy without a goroutine
	// more than there are cores. It must not touch Lines.
	Meanwhile func()
	// Admit, if not nil, says whether Lines[i] belongs in the chain at
	// all, on any of the goroutines: the batch ends before the first line
	// it refuses, and Count tells where.
	Admit func(i int) bool
}

// NextBatch verifies b.Lines as NextLines does, up to the first line
// b.Admit refuses, and runs b.Meanwhile along. Whatever happens, the
// other goroutines are done with the lines before NextBatch returns or a
// panic of Meanwhile goes on.
func (v *Verifier) NextBatch(b LineBatch) error {
	n := len(b.Lines)
	workers := b.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n/minLinesPerWorker))
	if cap(v.sound) < n {
		v.sound = make([]bool, n)
	}
	c := lineChecks{lines: b.Lines, admit: b.Admit, sound: v.sound[:n], first: v.count + 1, head: v.headBytes()}
	clear(c.sound)
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(func() {
			debug.SetPanicOnFault(true)
			c.work()
		})
	}
	func() {
		defer wg.Wait()
		if b.Meanwhile != nil {
			b.Meanwhile()
		}
		c.work()
	}()
	good := 0
	for good < n && c.sound[good] {
		good++
	}
	if good > 0 {
		v.count += uint64(good)
		copy(v.head[:], hashField(b.Lines[good-1]))
	}
	// Next says what is wrong with the first line that is not sound (or,
	// should lineSound be stricter than Next, accepts it and goes on).
	for i := good; i < n; i++ {
		if b.Admit != nil && !b.Admit(i) {
			return nil
		}
		if err := v.Next(b.Lines[i]); err != nil {
			return err
		}
	}
	return nil
}

// lineChecks is one NextBatch's lines, shared by its goroutines,
// which claim them linesPerClaim at a time and mark the sound ones.
type lineChecks struct {
	lines   [][]byte
	admit   func(i int) bool // LineBatch.Admit
	sound   []bool
	first   uint64 // the seq lines[0] must have
	head    []byte // the hash field lines[0] must have as its prev
	claimed atomic.Int64
}

// work checks lines until none is left to claim. A panic stops it: the
// lines of its claim left unchecked stay not sound.
func (c *lineChecks) work() {
	defer func() { _ = recover() }()
	var lh lineHasher
	for {
		to := int(c.claimed.Add(linesPerClaim))
		from := to - linesPerClaim
		if from >= len(c.lines) {
			return
		}
		for i := from; i < min(to, len(c.lines)); i++ {
			prev := c.head
			if i > 0 {
				prev = hashField(c.lines[i-1]) // nil when line i-1 is bad: NextLines stops there
			}
			c.sound[i] = prev != nil && (c.admit == nil || c.admit(i)) && lineSound(c.lines[i], c.first+uint64(i), prev, &lh)
		}
	}
}

// lineSound reports whether Next accepts line as record seq after a
// record whose hash field is prev, hashing with lh. It may say no where
// Next would accept (a seq with leading zeros or of 20 digits), never yes
// where Next would not.
func lineSound(line []byte, seq uint64, prev []byte, lh *lineHasher) bool {
	const seqPrefix = `{"seq":`
	if len(line) < len(seqPrefix)+prevSuffixLen || string(line[:len(seqPrefix)]) != seqPrefix {
		return false
	}
	p, _, ok := lineLinks(line)
	return ok && seqIs(line[len(seqPrefix):], seq) && bytes.Equal(p, prev) && lh.matches(line)
}

// seqIs reports whether rest begins with seq in decimal, without leading
// zeros, and a comma: what Next parses with strconv.ParseUint, for seqs
// below 10^19.
func seqIs(rest []byte, seq uint64) bool {
	const maxDigits = 19 // 10^19-1 fits in a uint64
	var n uint64
	for i, c := range rest {
		switch {
		case c == ',':
			return i > 0 && n == seq && (rest[0] != '0' || i == 1)
		case c < '0' || c > '9' || i == maxDigits:
			return false
		}
		n = n*10 + uint64(c-'0')
	}
	return false
}

// hashField returns the hash field of a line, which a canonical line ends
// with, or nil when it does not end like one.
func hashField(line []byte) []byte {
	_, hash, _ := lineLinks(line)
	return hash
}
