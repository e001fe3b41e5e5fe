package github

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"unicode/utf8"
)

// jsonScan walks JSON in one pass, accepting exactly what encoding/json
// accepts: the grammar of RFC 8259, strings with any bytes but control
// characters (invalid UTF-8 included), and at most jsonMaxDepth nested
// arrays and objects. It validates the values it skips without decoding
// them, so a reader that wants a few fields of a large document pays one
// quick pass instead of encoding/json's validation pass and decoding pass.
type jsonScan struct {
	data []byte
	pos  int
	// typeErr is the first value of the wrong type the reader met; like
	// encoding/json, the reader reports it only once the whole document
	// is known to be valid.
	typeErr error
}

// jsonMaxDepth is encoding/json's bound on nesting.
const jsonMaxDepth = 10000

// jsonKind is what a JSON value is, by its first byte.
type jsonKind byte

const (
	jsonInvalid jsonKind = iota
	jsonNull
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

func (k jsonKind) String() string {
	return [...]string{"invalid", "null", "bool", "number", "string", "array", "object"}[k]
}

// syntaxError is the error for the byte at the scanner's position.
func (s *jsonScan) syntaxError(what string) error {
	if s.pos >= len(s.data) {
		return fmt.Errorf("invalid JSON: unexpected end of input %s", what)
	}
	return fmt.Errorf("invalid JSON: unexpected %q at offset %d %s", s.data[s.pos], s.pos, what)
}

// wrongType records that the value at path is a kind the reader cannot
// take, and skips it.
func (s *jsonScan) wrongType(path, want string, depth int) error {
	if s.typeErr == nil {
		s.typeErr = fmt.Errorf("JSON field %s is %s, not %s", path, s.kind(), want)
	}
	return s.skipValue(depth)
}

func (s *jsonScan) skipSpace() {
	// Pretty-printed payloads indent with runs of spaces.
	for s.pos+8 <= len(s.data) && binary.LittleEndian.Uint64(s.data[s.pos:]) == swarOnes*' ' {
		s.pos += 8
	}
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// kind is the kind of the value starting at the scanner's position.
func (s *jsonScan) kind() jsonKind {
	if s.pos >= len(s.data) {
		return jsonInvalid
	}
	switch c := s.data[s.pos]; {
	case c == 'n':
		return jsonNull
	case c == 't' || c == 'f':
		return jsonBool
	case c == '-' || '0' <= c && c <= '9':
		return jsonNumber
	case c == '"':
		return jsonString
	case c == '[':
		return jsonArray
	case c == '{':
		return jsonObject
	}
	return jsonInvalid
}

// end checks that nothing but space follows the document's value.
func (s *jsonScan) end() error {
	s.skipSpace()
	if s.pos != len(s.data) {
		return s.syntaxError("after the top-level value")
	}
	return nil
}

// skipValue skips the value at the scanner's position, validating it;
// depth is how many arrays and objects enclose it.
func (s *jsonScan) skipValue(depth int) error {
	switch s.kind() {
	case jsonNull:
		return s.literal("null")
	case jsonBool:
		if s.data[s.pos] == 't' {
			return s.literal("true")
		}
		return s.literal("false")
	case jsonNumber:
		return s.number()
	case jsonString:
		_, _, err := s.str()
		return err
	case jsonArray:
		return s.array(depth+1, func(depth int) error { return s.skipValue(depth) })
	case jsonObject:
		return s.object(depth+1, func(_ []byte, depth int) error { return s.skipValue(depth) })
	}
	return s.syntaxError("looking for a value")
}

// literal consumes word (null, true or false).
func (s *jsonScan) literal(word string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		for i := range len(word) {
			if s.pos >= len(s.data) || s.data[s.pos] != word[i] {
				break
			}
			s.pos++
		}
		return s.syntaxError("in literal " + word)
	}
	s.pos += len(word)
	return nil
}

// number consumes a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScan) number() error {
	if s.peek() == '-' {
		s.pos++
	}
	switch c := s.peek(); {
	case c == '0':
		s.pos++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return s.syntaxError("in a number")
	}
	if s.peek() == '.' {
		s.pos++
		if !isDigit(s.peek()) {
			return s.syntaxError("after a decimal point")
		}
		s.digits()
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(); c == '+' || c == '-' {
			s.pos++
		}
		if !isDigit(s.peek()) {
			return s.syntaxError("in an exponent")
		}
		s.digits()
	}
	return nil
}

func (s *jsonScan) digits() {
	for isDigit(s.peek()) {
		s.pos++
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// peek is the byte at the scanner's position, or 0 at the end.
func (s *jsonScan) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// Bytes repeated in every byte of a word, for the string scan.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// swarSpecial marks, in the high bit of each byte, the bytes of the
// little-endian word w that end a run of plain string bytes: a quote, a
// backslash or a control character. Marks above the first may be false,
// the first one is exact.
func swarSpecial(w uint64) uint64 {
	q := w ^ (swarOnes * '"')
	bs := w ^ (swarOnes * '\\')
	return ((q-swarOnes)&^q | (bs-swarOnes)&^bs | (w-swarOnes*0x20)&^w) & swarHighs
}

// str consumes a string and returns its raw contents, between the quotes
// and still escaped, and whether it has escapes.
func (s *jsonScan) str() (raw []byte, escaped bool, err error) {
	s.pos++ // the opening quote
	start := s.pos
	for {
		// Eight bytes at a time to the next quote, backslash or control
		// character; strings are most of a webhook payload.
		for s.pos+8 <= len(s.data) {
			m := swarSpecial(binary.LittleEndian.Uint64(s.data[s.pos:]))
			if m != 0 {
				s.pos += bits.TrailingZeros64(m) / 8
				break
			}
			s.pos += 8
		}
		for s.pos < len(s.data) && s.data[s.pos] >= 0x20 && s.data[s.pos] != '"' && s.data[s.pos] != '\\' {
			s.pos++
		}
		switch s.peek() {
		case '"':
			raw = s.data[start:s.pos]
			s.pos++
			return raw, escaped, nil
		case '\\':
			escaped = true
			if err := s.escape(); err != nil {
				return nil, false, err
			}
		default: // a control character or the end
			return nil, false, s.syntaxError("in a string")
		}
	}
}

// escape consumes one escape sequence.
func (s *jsonScan) escape() error {
	s.pos++ // the backslash
	switch s.peek() {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos++
		return nil
	case 'u':
		s.pos++
		for range 4 {
			if !isHex(s.peek()) {
				return s.syntaxError("in a \\u escape")
			}
			s.pos++
		}
		return nil
	}
	return s.syntaxError("in an escape")
}

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// array consumes an array at nesting depth, calling elem for each element
// with the scanner on it.
func (s *jsonScan) array(depth int, elem func(depth int) error) error {
	if depth > jsonMaxDepth {
		return fmt.Errorf("invalid JSON: nested deeper than %d", jsonMaxDepth)
	}
	s.pos++ // [
	s.skipSpace()
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for {
		s.skipSpace()
		if err := elem(depth); err != nil {
			return err
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.syntaxError("after an array element")
		}
	}
}

// object consumes an object at nesting depth, calling member for each
// member with its key (unescaped) and the scanner on its value.
func (s *jsonScan) object(depth int, member func(key []byte, depth int) error) error {
	if depth > jsonMaxDepth {
		return fmt.Errorf("invalid JSON: nested deeper than %d", jsonMaxDepth)
	}
	s.pos++ // {
	s.skipSpace()
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		s.skipSpace()
		if s.peek() != '"' {
			return s.syntaxError("looking for an object key")
		}
		key, err := s.key()
		if err != nil {
			return err
		}
		s.skipSpace()
		if s.peek() != ':' {
			return s.syntaxError("after an object key")
		}
		s.pos++
		s.skipSpace()
		if err := member(key, depth); err != nil {
			return err
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.syntaxError("after an object member")
		}
	}
}

// key consumes an object's key and returns it as encoding/json matches
// it against field names: invalid UTF-8 is left in, as it cannot match
// a field's name whether replaced or not.
func (s *jsonScan) key() ([]byte, error) {
	start := s.pos
	raw, escaped, err := s.str()
	if err != nil || !escaped {
		return raw, err
	}
	return s.unquote(s.data[start:s.pos])
}

// stringValue consumes a string and returns it decoded as encoding/json
// decodes it: escapes resolved, invalid UTF-8 and lone surrogates
// replaced by U+FFFD. The result may share the scanner's data.
func (s *jsonScan) stringValue() ([]byte, error) {
	start := s.pos
	raw, escaped, err := s.str()
	if err != nil {
		return nil, err
	}
	if !escaped && utf8.Valid(raw) {
		return raw, nil
	}
	return s.unquote(s.data[start:s.pos])
}

// unquote decodes a quoted string with encoding/json itself, for exactly
// its replacements; escapes are rare in webhooks.
func (s *jsonScan) unquote(quoted []byte) ([]byte, error) {
	var v string
	if err := json.Unmarshal(quoted, &v); err != nil {
		return nil, err
	}
	return []byte(v), nil
}

// readString decodes the value at the scanner's position into *dst as
// encoding/json decodes into a string field: null leaves it as it is.
func (s *jsonScan) readString(dst *string, path string, depth int) error {
	switch s.kind() {
	case jsonNull:
		return s.literal("null")
	case jsonString:
		v, err := s.stringValue()
		if err != nil {
			return err
		}
		*dst = string(v)
		return nil
	}
	return s.wrongType(path, "a string", depth)
}

// readBool decodes the value at the scanner's position into *dst as
// encoding/json decodes into a bool field: null leaves it as it is.
func (s *jsonScan) readBool(dst *bool, path string, depth int) error {
	switch s.kind() {
	case jsonNull:
		return s.literal("null")
	case jsonBool:
		v := s.data[s.pos] == 't'
		if err := s.skipValue(depth); err != nil {
			return err
		}
		*dst = v
		return nil
	}
	return s.wrongType(path, "a bool", depth)
}

// readObject decodes the object at the scanner's position as encoding/json
// decodes into a struct field, calling member for each member: null leaves
// the struct as it is.
func (s *jsonScan) readObject(path string, depth int, member func(key []byte, depth int) error) error {
	switch s.kind() {
	case jsonNull:
		return s.literal("null")
	case jsonObject:
		return s.object(depth+1, member)
	}
	return s.wrongType(path, "an object", depth)
}

// jsonKeyIs reports whether an object's key selects the struct field
// named name, as encoding/json matches them: exactly, or else equal under
// Unicode case folding.
func jsonKeyIs(key []byte, name string) bool {
	return string(key) == name || bytes.EqualFold(key, []byte(name))
}
