package commands

import (
	"strings"

	cs "github.com/countersign/countersign"
)

// The commands that only look: status, audit, policy explain, help.

// isWord reports whether tok is the keyword w, unquoted, in any case.
func isWord(tok token, w string) bool { return !tok.quoted && strings.EqualFold(tok.text, w) }

// parseStatus reads: status [SERVICE]
func parseStatus(c *cursor) (Command, error) {
	var s Status
	tok, ok, err := c.next()
	if err != nil {
		return nil, err
	}
	if ok {
		svc, msg := checkService(tok.text)
		if msg != "" {
			return nil, c.fail("service", tok.text, msg)
		}
		s.Service = svc
	}
	if err := c.end(); err != nil {
		return nil, err
	}
	return s, nil
}

// parseAudit reads: audit [SERVICE|@USER] [since DURATION], or audit anchor.
// A service cannot be called "since" or "anchor" here; those words are taken
// as the duration and the anchor.
func parseAudit(c *cursor) (Command, error) {
	a := Audit{Since: DefaultAuditSince}
	tok, ok, err := c.next()
	if err != nil {
		return nil, err
	}
	if ok && isWord(tok, "anchor") {
		if err := c.end(); err != nil {
			return nil, err
		}
		return AuditAnchor{}, nil
	}
	if ok && !isWord(tok, "since") {
		if isUserWord(tok.text) {
			user, msg := checkUser(tok.text)
			if msg != "" {
				return nil, c.fail("user", tok.text, msg)
			}
			a.User = user
		} else {
			svc, msg := checkService(tok.text)
			if msg != "" {
				return nil, c.fail("service", tok.text, msg+"; or give @USER")
			}
			a.Service = svc
		}
		if tok, ok, err = c.next(); err != nil {
			return nil, err
		}
	}
	if ok {
		if !isWord(tok, "since") {
			return nil, c.fail("", tok.text, `unexpected; want "since DURATION", e.g. since 7d`)
		}
		dtok, err := c.need("DURATION after since, e.g. 24h or 7d")
		if err != nil {
			return nil, err
		}
		d, msg := checkSince(dtok.text)
		if msg != "" {
			return nil, c.fail("duration", dtok.text, msg)
		}
		a.Since = d
	}
	if err := c.end(); err != nil {
		return nil, err
	}
	return a, nil
}

// actionNames returns "deploy, rollback, …".
func actionNames() string {
	kinds := cs.ActionKinds()
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// parseConfig reads: config reload
func parseConfig(c *cursor) (Command, error) {
	tok, err := c.need(`"reload": config reload`)
	if err != nil {
		return nil, err
	}
	if !isWord(tok, "reload") {
		return nil, c.fail("", tok.text, `unknown config command; want "config reload"`)
	}
	if err := c.end(); err != nil {
		return nil, err
	}
	return ConfigReload{}, nil
}

// parsePolicy reads: policy explain ACTION TARGET [@USER] [--break-glass REASON…],
// or policy show
func parsePolicy(sc *scanner) (Command, error) {
	c := newCursor(sc, "policy explain")
	tok, err := c.need(`"explain": policy explain ACTION TARGET`)
	if err != nil {
		return nil, err
	}
	if isWord(tok, "show") {
		c.usage = "policy show"
		if err := c.end(); err != nil {
			return nil, err
		}
		return PolicyShow{}, nil
	}
	if !isWord(tok, "explain") {
		return nil, c.fail("", tok.text, `unknown policy command; want "policy explain" or "policy show"`)
	}
	if tok, err = c.need("ACTION (" + actionNames() + ")"); err != nil {
		return nil, err
	}
	p := PolicyExplain{Action: cs.ActionKind(strings.ToLower(tok.text))}
	if !p.Action.Valid() {
		return nil, c.fail("action", tok.text, "not an action: want one of "+actionNames())
	}
	if tok, err = c.need("TARGET (a service, or for dns a DNS name)"); err != nil {
		return nil, err
	}
	var msg string
	if p.Action == cs.ActionDNS {
		p.Target, msg = checkDNSName(tok.text, recordName)
	} else {
		p.Target, msg = checkService(tok.text)
	}
	if msg != "" {
		return nil, c.fail("target", tok.text, msg)
	}
	tok, ok, err := c.next()
	if err != nil {
		return nil, err
	}
	if ok {
		if p.User, msg = checkUser(tok.text); msg != "" {
			return nil, c.fail("user", tok.text, msg)
		}
	}
	if err := c.end(); err != nil {
		return nil, err
	}
	p.BreakGlass = c.breakGlass
	return p, nil
}

// parseHelp reads: help [VERB], where VERB may be two words ("dns set").
func parseHelp(c *cursor) (Command, error) {
	words, err := c.all()
	if err != nil {
		return nil, err
	}
	switch {
	case len(words) == 0:
		return Help{}, nil
	case len(words) > 2:
		return nil, c.extra(words[2].text)
	}
	texts := make([]string, len(words))
	for i, w := range words {
		texts[i] = w.text
	}
	if topic, ok := canonicalTopic(strings.Join(texts, " ")); ok {
		return Help{Topic: topic}, nil
	}
	if _, ok := canonicalTopic(texts[0]); ok {
		return nil, c.extra(texts[1])
	}
	msg := `unknown command; type "help" for the list of commands`
	if s := nearest(strings.ToLower(texts[0]), topVerbs); s != "" {
		msg = `unknown command; did you mean "help ` + s + `"?`
	}
	return nil, c.fail("verb", texts[0], msg)
}
