package commands

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one word of a command line.
type token struct {
	text   string // the word, without quotes, escapes resolved
	quoted bool   // it was written in double quotes
}

// scanner splits a command line into words lazily, so that a verb can take
// "the rest of the line" (a reason) as typed, without the rest having to be
// well-formed words: a reason may contain a lone double quote.
//
// Words are separated by white space. A word that starts with a double
// quote runs to the matching closing quote and may contain white space;
// inside it, a backslash escapes a double quote or a backslash, and any
// other backslash is kept as it is. Slack's smart quotes (“ ”) count as
// double quotes, because Slack clients substitute them as people type.
type scanner struct {
	line string
	pos  int
}

// isQuote reports whether r is a double quote, straight or curly.
func isQuote(r rune) bool { return r == '"' || r == '“' || r == '”' }

// skipSpace moves past white space.
func (s *scanner) skipSpace() {
	for s.pos < len(s.line) {
		r, n := utf8.DecodeRuneInString(s.line[s.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		s.pos += n
	}
}

// done reports whether only white space is left.
func (s *scanner) done() bool {
	s.skipSpace()
	return s.pos >= len(s.line)
}

// peekRaw returns the next word as typed, without consuming it, for
// checks such as "is this --break-glass" that must not be fooled by quotes.
func (s *scanner) peekRaw() string {
	s.skipSpace()
	return wordAt(s.line, s.pos)
}

// next returns the next word; ok is false at the end of the line. err is
// a *ParseError (without usage) for an unterminated quote or a quote in
// the middle of a word.
func (s *scanner) next() (tok token, ok bool, err error) {
	if s.done() {
		return token{}, false, nil
	}
	start := s.pos
	r, n := utf8.DecodeRuneInString(s.line[s.pos:])
	if isQuote(r) {
		s.pos += n
		return s.quoted(start)
	}
	for s.pos < len(s.line) {
		r, n := utf8.DecodeRuneInString(s.line[s.pos:])
		if unicode.IsSpace(r) {
			break
		}
		if isQuote(r) {
			s.pos = len(s.line)
			return token{}, false, &ParseError{
				Token:   wordAt(s.line, start),
				Message: "double quote inside a word; put the whole word in quotes",
			}
		}
		s.pos += n
	}
	return token{text: s.line[start:s.pos]}, true, nil
}

// quoted reads a quoted word whose opening quote starts at start and has
// been consumed.
func (s *scanner) quoted(start int) (token, bool, error) {
	var b strings.Builder
	for s.pos < len(s.line) {
		r, n := utf8.DecodeRuneInString(s.line[s.pos:])
		s.pos += n
		switch {
		case r == '\\' && s.pos < len(s.line):
			r2, n2 := utf8.DecodeRuneInString(s.line[s.pos:])
			if isQuote(r2) || r2 == '\\' {
				b.WriteRune(r2)
				s.pos += n2
			} else {
				b.WriteRune(r)
			}
		case isQuote(r):
			if s.pos < len(s.line) {
				r2, _ := utf8.DecodeRuneInString(s.line[s.pos:])
				if !unicode.IsSpace(r2) {
					s.pos = len(s.line)
					return token{}, false, &ParseError{
						Token:   wordAt(s.line, start),
						Message: "text right after a closing quote; leave a space",
					}
				}
			}
			return token{text: b.String(), quoted: true}, true, nil
		default:
			b.WriteRune(r)
		}
	}
	return token{}, false, &ParseError{Token: s.line[start:], Message: "unterminated quote"}
}

// rest consumes and returns the rest of the line as typed, with runs of
// white space (new lines included) folded into one space, so that a reason
// shows on one line. If the rest is exactly one quoted word, its quotes are
// removed: `lock www "db migration"` gives the reason "db migration".
func (s *scanner) rest() string {
	s.skipSpace()
	raw := s.line[s.pos:]
	sub := scanner{line: raw}
	if tok, ok, err := sub.next(); err == nil && ok && tok.quoted && sub.done() {
		raw = tok.text
	}
	s.pos = len(s.line)
	return strings.Join(strings.Fields(raw), " ")
}

// wordAt returns the white-space delimited word of line starting at start.
func wordAt(line string, start int) string {
	end := start
	for end < len(line) {
		r, n := utf8.DecodeRuneInString(line[end:])
		if unicode.IsSpace(r) {
			break
		}
		end += n
	}
	return line[start:end]
}
