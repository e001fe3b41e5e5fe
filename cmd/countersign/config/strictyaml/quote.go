package strictyaml

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on what a problem shows of the file: a problem is one line of a
// report or a log, and a 50 MB value must not come back as a 50 MB line.
const (
	maxQuoted  = 60  // characters of a value (Quote)
	maxMessage = 400 // bytes of a message, whatever is in it (bounded)
)

// Quote shows a value from the file in a problem message: quoted as %q
// does, and cut after 60 characters, with its full length after.
// Never use it on a secret: secrets are never shown at all.
func Quote(s string) string { return QuoteMax(s, maxQuoted) }

// QuoteMax is Quote cut after max characters instead, for values worth
// more of a line (a local file path).
func QuoteMax(s string, max int) string {
	if len(s) <= max {
		return strconv.Quote(s)
	}
	i := 0
	for n := 0; n < max && i < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	if i == len(s) {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:i]) + "… (" + strconv.Itoa(len(s)) + " bytes)"
}

// bounded bounds text that the caller did not write and that may quote
// the file (another package's problems, template and YAML errors): each
// quoted string in it is cut as Quote cuts it, and what is still too long
// is cut at 400 bytes. Add and its kin bound every path and message so.
func bounded(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	var b strings.Builder
	for rest := s; rest != ""; {
		i := strings.IndexByte(rest, '"')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i:]
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			b.WriteByte('"')
			rest = rest[1:]
			continue
		}
		v, _ := strconv.Unquote(q)
		b.WriteString(Quote(v))
		rest = rest[len(q):]
	}
	out := b.String()
	if len(out) <= maxMessage {
		return out
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(out[cut]) {
		cut--
	}
	return out[:cut] + "… (" + strconv.Itoa(len(s)) + " bytes)"
}
