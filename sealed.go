package countersign

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"
)

// ParseSealed decodes a canonical line whose hash field is the hash of
// its contents, giving the Event that ParseEvent gives, without
// encoding/json and without sealing it again: a canonical line is one
// that Seal writes again byte for byte from what ParseEvent reads of it.
// ok is false for any other line, and also for canonical lines it does
// not read itself (strings holding escapes, a detail nested deeper than
// maxSealedDepth): the caller falls back to ParseEvent, and to Seal to
// check the hash, which say what is wrong, if anything.
func ParseSealed(line []byte) (e Event, ok bool) {
	r := sealedReader{b: line}
	if !r.lit(`{"seq":`) {
		return Event{}, false
	}
	seq, ok := r.seq()
	if !ok || !r.lit(`,"time":`) {
		return Event{}, false
	}
	e.Seq = seq
	start := r.i
	t, ok := r.str()
	// The very call encoding/json makes; then the text must be what Seal
	// writes for the time it gives.
	if !ok || e.Time.UnmarshalJSON(line[start:r.i]) != nil || e.Time.UTC().Truncate(time.Microsecond).Format(TimeLayout) != string(t) {
		return Event{}, false
	}
	var kind, actor []byte
	if !r.lit(`,"kind":`) {
		return Event{}, false
	}
	if kind, ok = r.str(); !ok || !r.lit(`,"actor":`) {
		return Event{}, false
	}
	if actor, ok = r.str(); !ok {
		return Event{}, false
	}
	e.Kind, e.Actor = EventKind(kind), Actor(actor)
	// Seal omits these when empty.
	for _, f := range [...]struct {
		name string
		set  func(string)
	}{
		{`,"request":`, func(s string) { e.Request = RequestID(s) }},
		{`,"action":`, func(s string) { e.Action = ActionKind(s) }},
		{`,"target":`, func(s string) { e.Target = s }},
	} {
		if !r.lit(f.name) {
			continue
		}
		v, ok := r.str()
		if !ok || len(v) == 0 {
			return Event{}, false
		}
		f.set(string(v))
	}
	if !r.lit(`,"detail":`) {
		return Event{}, false
	}
	start = r.i
	if !r.value(0) {
		return Event{}, false
	}
	detail := line[start:r.i]
	if !r.lit(`,"prev":`) {
		return Event{}, false
	}
	prev, ok := r.str()
	if !ok || !r.lit(hashSuffixStart) {
		return Event{}, false
	}
	hash := r.b[r.i:min(r.i+64, len(r.b))]
	r.i += len(hash)
	if len(hash) != 64 || !r.lit(`"}`) || r.i != len(line) || !lineHashMatches(line, new([]byte)) {
		return Event{}, false
	}
	e.Detail = append([]byte(nil), detail...)
	e.Prev, e.Hash = string(prev), string(hash)
	return e, true
}

// maxSealedDepth bounds the nesting of a detail ParseSealed reads.
const maxSealedDepth = 32

// sealedReader reads a canonical line from i on; each method says
// whether what it read is canonical, and leaves i after it.
type sealedReader struct {
	b []byte
	i int
}

// lit reads s, and reports whether it was there.
func (r *sealedReader) lit(s string) bool {
	if !bytes.HasPrefix(r.b[r.i:], []byte(s)) {
		return false
	}
	r.i += len(s)
	return true
}

// seq reads a number as encoding/json writes a uint64.
func (r *sealedReader) seq() (uint64, bool) {
	start := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	d := r.b[start:r.i]
	if len(d) == 0 || (len(d) > 1 && d[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(string(d), 10, 64)
	return n, err == nil
}

// str reads a JSON string that encoding/json writes as it is and reads
// back unchanged: no escapes, none of the characters it escapes (control
// characters, U+2028, U+2029) and valid UTF-8. It returns the contents.
func (r *sealedReader) str() ([]byte, bool) {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return nil, false
	}
	start := r.i + 1
	for i := start; i < len(r.b); {
		c := r.b[i]
		switch {
		case c == '"':
			r.i = i + 1
			return r.b[start:i], true
		case c == '\\' || c < 0x20:
			return nil, false
		case c < utf8.RuneSelf:
			i++
		default:
			ch, size := utf8.DecodeRune(r.b[i:])
			if ch == utf8.RuneError && size == 1 || ch == '\u2028' || ch == '\u2029' {
				return nil, false
			}
			i += size
		}
	}
	return nil, false
}

// value reads a JSON value as canonicalJSON writes it: no white space,
// object keys in strictly increasing order, numbers valid JSON.
func (r *sealedReader) value(depth int) bool {
	if r.i >= len(r.b) || depth > maxSealedDepth {
		return false
	}
	switch c := r.b[r.i]; {
	case c == '{':
		r.i++
		if r.lit("}") {
			return true
		}
		var last []byte
		for {
			k, ok := r.str()
			if !ok || (last != nil && bytes.Compare(k, last) <= 0) || !r.lit(":") || !r.value(depth+1) {
				return false
			}
			last = k
			if r.lit("}") {
				return true
			}
			if !r.lit(",") {
				return false
			}
		}
	case c == '[':
		r.i++
		if r.lit("]") {
			return true
		}
		for {
			if !r.value(depth + 1) {
				return false
			}
			if r.lit("]") {
				return true
			}
			if !r.lit(",") {
				return false
			}
		}
	case c == '"':
		_, ok := r.str()
		return ok
	case c == 't':
		return r.lit("true")
	case c == 'f':
		return r.lit("false")
	case c == 'n':
		return r.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return r.number()
	}
	return false
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *sealedReader) number() bool {
	r.lit("-")
	switch {
	case r.lit("0"):
	case r.i < len(r.b) && r.b[r.i] >= '1' && r.b[r.i] <= '9':
		r.digits()
	default:
		return false
	}
	if r.lit(".") && r.digits() == 0 {
		return false
	}
	if r.lit("e") || r.lit("E") {
		if !r.lit("+") {
			r.lit("-")
		}
		if r.digits() == 0 {
			return false
		}
	}
	return true
}

// digits reads decimal digits and returns how many.
func (r *sealedReader) digits() int {
	start := r.i
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		r.i++
	}
	return r.i - start
}
