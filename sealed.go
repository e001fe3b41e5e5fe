package countersign

import (
	"bytes"
	"strconv"
	"sync"
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
	start := r.i
	t, ok := r.str()
	// The very call encoding/json makes, on the only text Seal writes.
	if !ok || !sealedTime(t) || e.Time.UnmarshalJSON(line[start:r.i]) != nil {
		return Event{}, false
	}
	var fields [7]span // kind, actor, request, action, target, prev, hash
	if !r.lit(`,"kind":`) || !r.span(&fields[0]) || !r.lit(`,"actor":`) || !r.span(&fields[1]) {
		return Event{}, false
	}
	// Seal omits these when empty.
	for i, name := range [...]string{`,"request":`, `,"action":`, `,"target":`} {
		if r.lit(name) && (!r.span(&fields[2+i]) || fields[2+i].empty()) {
			return Event{}, false
		}
	}
	if !r.lit(`,"detail":`) {
		return Event{}, false
	}
	start = r.i
	if !r.value(0) {
		return Event{}, false
	}
	detail := line[start:r.i]
	if !r.lit(`,"prev":`) || !r.span(&fields[5]) || !r.lit(hashSuffixStart) {
		return Event{}, false
	}
	fields[6] = span{r.i, min(r.i+64, len(line))}
	r.i = fields[6].to
	if fields[6].to-fields[6].from != 64 || !r.lit(`"}`) || r.i != len(line) {
		return Event{}, false
	}
	lh := sealedHashers.Get().(*lineHasher)
	defer sealedHashers.Put(lh)
	if !lh.matches(line) {
		return Event{}, false
	}
	// One copy of the line holds every string of the event.
	all := string(line)
	text := func(i int) string { return all[fields[i].from:fields[i].to] }
	e.Seq, e.Kind, e.Actor = seq, EventKind(text(0)), Actor(text(1))
	e.Request, e.Action, e.Target = RequestID(text(2)), ActionKind(text(3)), text(4)
	e.Detail = append([]byte(nil), detail...)
	e.Prev, e.Hash = text(5), text(6)
	return e, true
}

// sealedHashers are ParseSealed's.
var sealedHashers = sync.Pool{New: func() any { return new(lineHasher) }}

// span is where a string's contents are in a line; the zero span is "".
type span struct{ from, to int }

func (s span) empty() bool { return s.to == s.from }

// span reads a string as str does, and says where its contents are.
func (r *sealedReader) span(s *span) bool {
	start := r.i + 1
	if _, ok := r.str(); !ok {
		return false
	}
	*s = span{start, r.i - 1}
	return true
}

// sealedTime reports whether t has the shape of TimeLayout, which is
// what Seal writes: 2006-01-02T15:04:05.000000Z, all digits where the
// layout has them. Whether the digits make a time is for UnmarshalJSON.
func sealedTime(t []byte) bool {
	const shape = "dddd-dd-ddTdd:dd:dd.ddddddZ"
	if len(t) != len(shape) {
		return false
	}
	for i := range len(shape) {
		if shape[i] == 'd' {
			if t[i] < '0' || t[i] > '9' {
				return false
			}
		} else if t[i] != shape[i] {
			return false
		}
	}
	return true
}

// isCanonical reports whether canonicalJSON leaves b as it is, as far
// as sealedReader.value can tell: false may be canonical all the same.
func isCanonical(b []byte) bool {
	r := sealedReader{b: b}
	return r.value(0) && r.i == len(b)
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
		case c < utf8.RuneSelf:
			if !plainASCII[c] {
				return nil, false
			}
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

// plainASCII are the ASCII bytes encoding/json writes in a string as
// they are (with SetEscapeHTML(false)): not control characters, not '"'
// nor '\\'.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := byte(0x20); c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

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
