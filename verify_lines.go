package countersign

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
)

// Each record carries its own hash and its predecessor's, so whether a
// line is sound, given that the line before it was, can be decided from
// the two lines alone: NextLines hashes lines on several goroutines and
// then only looks for the first line that is not sound, in order.

// minLinesPerWorker is the fewest lines worth a goroutine of their own.
const minLinesPerWorker = 256

// NextLines verifies lines as that many calls of Next would, in order,
// and returns the same error Next would for the first bad one, with Count
// and Head where Next would leave them. It hashes on up to workers
// goroutines (GOMAXPROCS when workers <= 0). A panic there, such as a
// fault reading a line from a memory map (the workers turn faults into
// panics), only stops that worker's checks: Next reads the line again on
// the caller's goroutine, where it faults or panics as it would have.
func (v *Verifier) NextLines(lines [][]byte, workers int) error {
	n := len(lines)
	if n == 0 {
		return nil
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n/minLinesPerWorker))
	if cap(v.sound) < n {
		v.sound = make([]bool, n)
	}
	sound := v.sound[:n]
	first := v.count + 1
	head := v.headBytes()
	check := func(from, to int) {
		var lh lineHasher
		for i := from; i < to; i++ {
			prev := head
			if i > 0 {
				var ok bool
				if _, prev, ok = lineLinks(lines[i-1]); !ok {
					prev = nil // line i-1 is bad: NextLines stops there
				}
			}
			sound[i] = prev != nil && lineSound(lines[i], first+uint64(i), prev, &lh)
		}
	}
	clear(sound)
	if workers == 1 {
		check(0, n)
	} else {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				debug.SetPanicOnFault(true)
				defer func() { _ = recover() }() // the lines left are not sound
				check(w*n/workers, (w+1)*n/workers)
			})
		}
		wg.Wait()
	}
	good := 0
	for good < n && sound[good] {
		good++
	}
	if good > 0 {
		_, hash, _ := lineLinks(lines[good-1])
		v.count += uint64(good)
		copy(v.head[:], hash)
	}
	// Next says what is wrong with the first line that is not sound (or,
	// should lineSound be stricter than Next, accepts it and goes on).
	for _, line := range lines[good:] {
		if err := v.Next(line); err != nil {
			return err
		}
	}
	return nil
}

// lineSound reports whether Next accepts line as record seq after a
// record whose hash is prev: it reads the same fields the same way, and
// hashes with lh.
func lineSound(line []byte, seq uint64, prev []byte, lh *lineHasher) bool {
	const seqPrefix = `{"seq":`
	if !bytes.HasPrefix(line, []byte(seqPrefix)) || len(line) < len(seqPrefix)+prevSuffixLen {
		return false
	}
	rest := line[len(seqPrefix):]
	comma := bytes.IndexByte(rest, ',')
	if comma < 0 {
		return false
	}
	if got, err := strconv.ParseUint(string(rest[:comma]), 10, 64); err != nil || got != seq {
		return false
	}
	p, _, ok := lineLinks(line)
	return ok && bytes.Equal(p, prev) && lh.matches(line)
}
