package commands

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseError is returned by Parse for every bad input. Its fields are safe
// to show to the person who typed the command.
type ParseError struct {
	// Token is the offending word as typed (unquoted), or "" when the
	// problem is something missing or the line as a whole.
	Token string
	// Message says what is wrong, in lower case, e.g. "not a whole number".
	Message string
	// Usage is the usage line of the verb (several lines, separated by
	// "\n", for "dns"), or "" when no verb was recognised.
	Usage string
	// Arg names the argument the token was meant to be, e.g. "replicas",
	// or "" when the token is not an argument (a verb, an extra word).
	Arg string
}

// Error returns the one-line form, e.g.
//
//	replicas "abc": not a whole number — usage: scale SERVICE REPLICAS [--break-glass REASON…]
func (e *ParseError) Error() string {
	var b strings.Builder
	switch {
	case e.Arg != "":
		b.WriteString(e.Arg)
		b.WriteByte(' ')
		b.WriteString(strconv.Quote(shorten(e.Token)))
		b.WriteString(": ")
	case e.Token != "":
		b.WriteString(strconv.Quote(shorten(e.Token)))
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Usage != "" {
		b.WriteString(" — usage: ")
		b.WriteString(strings.ReplaceAll(e.Usage, "\n", " | "))
	}
	return b.String()
}

// maxShownToken bounds how much of a token Error repeats back.
const maxShownToken = 80

// shorten cuts s to about maxShownToken bytes, on a rune boundary.
func shorten(s string) string {
	if len(s) <= maxShownToken {
		return s
	}
	i := maxShownToken
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
