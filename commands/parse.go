package commands

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	cs "github.com/countersign/countersign"
)

// MaxInputBytes bounds the text Parse accepts (Slack's own limit for a
// slash command is about the same).
const MaxInputBytes = 4000

// Parse turns the text typed after the slash command (or sent to the bot)
// into a command. The text may start with "/cs ". Verbs are
// case-insensitive. Every command is returned as a value, not a pointer:
// switch on Deploy, Rollback, ….
//
// Every bad input gives a *ParseError naming the bad token, with the
// verb's usage line when the verb is known. Parse never panics.
func Parse(text string) (Command, error) {
	line, err := clean(text)
	if err != nil {
		return nil, err
	}
	sc := &scanner{line: line}
	tok, ok, err := sc.next()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &ParseError{Message: "empty command; the commands are: " + strings.Join(topVerbs, ", ")}
	}
	verb := strings.ToLower(tok.text)
	switch verb {
	case "dns":
		return parseDNS(sc)
	case "policy":
		return parsePolicy(sc)
	case "deploy":
		return parseDeploy(newCursor(sc, verb))
	case "rollback":
		return parseRollback(newCursor(sc, verb))
	case "scale":
		return parseScale(newCursor(sc, verb))
	case "lock":
		return parseLock(newCursor(sc, verb))
	case "unlock":
		return parseUnlock(newCursor(sc, verb))
	case "adopt":
		return parseAdopt(newCursor(sc, verb))
	case "status":
		return parseStatus(newCursor(sc, verb))
	case "audit":
		return parseAudit(newCursor(sc, verb))
	case "help":
		return parseHelp(newCursor(sc, verb))
	case "approve":
		return parseApprove(newCursor(sc, verb))
	case "deny":
		return parseDeny(newCursor(sc, verb))
	case "config":
		return parseConfig(newCursor(sc, "config reload"))
	}
	return nil, unknownVerb(tok.text, topVerbs)
}

// topVerbs are the first words of every command, in help order.
var topVerbs = []string{"deploy", "rollback", "scale", "dns", "lock", "unlock", "adopt", "status", "audit", "policy", "help", "approve", "deny", "config"}

// newCursor starts reading the arguments of a verb known to lookupDoc.
func newCursor(sc *scanner, verb string) *cursor {
	d, _ := lookupDoc(verb)
	return &cursor{sc: sc, usage: d.usage, allowBreakGlass: d.breakGlass}
}

// clean bounds and checks the raw text and strips a leading "/cs".
func clean(text string) (string, error) {
	if len(text) > MaxInputBytes {
		return "", &ParseError{Message: fmt.Sprintf("command too long: %d bytes, at most %d", len(text), MaxInputBytes)}
	}
	if !utf8.ValidString(text) {
		return "", &ParseError{Message: "not valid UTF-8 text"}
	}
	for _, r := range text {
		if forbiddenRune(r) {
			return "", &ParseError{Token: string(r), Message: fmt.Sprintf("control character %U is not allowed", r)}
		}
	}
	line := strings.TrimSpace(text)
	if len(line) >= 3 && strings.EqualFold(line[:3], "/cs") {
		if r, _ := utf8.DecodeRuneInString(line[3:]); len(line) == 3 || unicode.IsSpace(r) {
			line = strings.TrimSpace(line[3:])
		}
	}
	return line, nil
}

// forbiddenRune reports control characters other than white space, and
// the bidirectional controls that can make a reason or a value display
// differently from what it is ("Trojan Source").
func forbiddenRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return false
	case unicode.IsControl(r):
		return true
	case r == '\u061c' || r == '\u200e' || r == '\u200f',
		'\u202a' <= r && r <= '\u202e',
		'\u2066' <= r && r <= '\u2069':
		return true
	}
	return false
}

// unknownVerb returns the error for a word that is not a verb, suggesting
// the nearest verb when there is one close enough to be a typo.
func unknownVerb(word string, verbs []string) error {
	msg := `unknown command; type "help" for the list of commands`
	if s := nearest(strings.ToLower(word), verbs); s != "" {
		msg = fmt.Sprintf(`unknown command; did you mean %q? Type "help" for the list of commands`, s)
	}
	return &ParseError{Token: word, Message: msg}
}

// nearest returns the verb within edit distance 2 of w (1 for short
// words), or "".
func nearest(w string, verbs []string) string {
	if len(w) > 20 {
		return ""
	}
	best, bestD := "", 3
	for _, v := range verbs {
		d := cs.EditDistance(w, v)
		if d < bestD && (d == 1 || len(v) > 4) {
			best, bestD = v, d
		}
	}
	return best
}
