package commands

import (
	"errors"
	"strings"
)

// breakGlassFlag is the option that asks for the break-glass route.
const breakGlassFlag = "--break-glass"

// cursor walks the arguments of one verb. It knows the verb's usage line,
// so every error it makes carries it, and whether the verb may end with
// --break-glass REASON….
type cursor struct {
	sc    *scanner
	usage string
	// allowBreakGlass says --break-glass may end the line; once seen,
	// breakGlass holds its reason and the cursor reports no more words.
	allowBreakGlass bool
	sawBreakGlass   bool
	breakGlass      string
}

// fail returns a *ParseError for a bad token of argument arg ("" when the
// token is not an argument, e.g. an extra word).
func (c *cursor) fail(arg, tok, msg string) error {
	return &ParseError{Token: tok, Message: msg, Usage: c.usage, Arg: arg}
}

// missing returns the error for an absent argument, e.g. "missing SERVICE".
func (c *cursor) missing(what string) error {
	return &ParseError{Message: "missing " + what, Usage: c.usage}
}

// withUsage adds the usage line to a scanner error.
func (c *cursor) withUsage(err error) error {
	if pe, ok := errors.AsType[*ParseError](err); ok && pe.Usage == "" {
		pe.Usage = c.usage
	}
	return err
}

// next returns the next argument word; ok is false at the end of the line
// or, where allowed, at --break-glass, whose reason it then takes.
func (c *cursor) next() (tok token, ok bool, err error) {
	if c.sawBreakGlass {
		return token{}, false, nil
	}
	raw := c.sc.peekRaw()
	if isOption(raw) {
		if !isBreakGlass(raw) {
			msg := "unknown option"
			if c.allowBreakGlass {
				msg += "; the only option is " + breakGlassFlag + " REASON…"
			}
			return token{}, false, c.fail("", raw, msg)
		}
		if !c.allowBreakGlass {
			return token{}, false, c.fail("", raw, breakGlassOnly)
		}
		c.sc.next() // a bare word: cannot fail
		c.sawBreakGlass = true
		c.breakGlass = c.sc.rest()
		if c.breakGlass == "" {
			return token{}, false, c.fail("", raw, "needs a reason: "+breakGlassFlag+" REASON…")
		}
		return token{}, false, nil
	}
	tok, ok, err = c.sc.next()
	if err != nil {
		return token{}, false, c.withUsage(err)
	}
	return tok, ok, nil
}

// need returns the next word, or "missing WHAT".
func (c *cursor) need(what string) (token, error) {
	tok, ok, err := c.next()
	if err != nil {
		return token{}, err
	}
	if !ok {
		return token{}, c.missing(what)
	}
	return tok, nil
}

// all returns every remaining word (up to --break-glass, if allowed).
func (c *cursor) all() ([]token, error) {
	var toks []token
	for {
		tok, ok, err := c.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return toks, nil
		}
		toks = append(toks, tok)
	}
}

// end checks that nothing but an allowed --break-glass is left.
func (c *cursor) end() error {
	tok, ok, err := c.next()
	if err != nil {
		return err
	}
	if ok {
		return c.extra(tok.text)
	}
	return nil
}

// extra returns the error for a word that should not be there.
func (c *cursor) extra(tok string) error {
	return c.fail("", tok, "unexpected extra argument")
}

// reason takes the rest of the line as a required free-text reason. It is
// kept as received (Slack markup included), only white space is folded.
func (c *cursor) reason(what string) (string, error) {
	if raw := c.sc.peekRaw(); isBreakGlass(raw) {
		return "", c.fail("", raw, breakGlassOnly)
	}
	r := c.sc.rest()
	if r == "" {
		return "", c.missing(what)
	}
	return r, nil
}

// breakGlassOnly says where --break-glass may go.
const breakGlassOnly = breakGlassFlag + " may only end deploy, rollback, scale, dns set, dns add, dns delete or policy explain"

// isOption reports whether a word, as typed, looks like an option:
// "--x", or "—x" / "–x" because Slack clients turn "--" into a dash.
func isOption(raw string) bool {
	for _, p := range []string{"--", "—", "–"} {
		if strings.HasPrefix(raw, p) && len(raw) > len(p) {
			return true
		}
	}
	return raw == "--"
}

// isBreakGlass reports whether a word, as typed, is --break-glass (in any
// case, and with Slack's dash substitutions).
func isBreakGlass(raw string) bool {
	l := strings.ToLower(raw)
	return l == breakGlassFlag || l == "—break-glass" || l == "–break-glass"
}
