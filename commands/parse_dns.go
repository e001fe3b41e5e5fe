package commands

import "strings"

// The dns commands: dns set, dns add, dns delete (changes, which may end
// with --break-glass REASON…) and dns show.

// dnsVerbs are the words after "dns".
var dnsVerbs = []string{"set", "add", "delete", "show"}

// parseDNS reads the word after "dns" and the rest of the command.
func parseDNS(sc *scanner) (Command, error) {
	usage := Usage("dns")
	tok, ok, err := sc.next()
	if err != nil {
		return nil, (&cursor{usage: usage}).withUsage(err)
	}
	if !ok {
		return nil, &ParseError{Message: "missing what to do: dns set, dns add, dns delete or dns show", Usage: usage}
	}
	sub := strings.ToLower(tok.text)
	switch sub {
	case "set":
		return parseDNSSet(newCursor(sc, "dns set"))
	case "add":
		return parseDNSAdd(newCursor(sc, "dns add"))
	case "delete":
		return parseDNSDelete(newCursor(sc, "dns delete"))
	case "show":
		return parseDNSShow(newCursor(sc, "dns show"))
	}
	msg := "unknown dns command; want set, add, delete or show"
	if s := nearest(sub, dnsVerbs); s != "" {
		msg = "unknown dns command; did you mean " + `"dns ` + s + `"?`
	}
	return nil, &ParseError{Token: tok.text, Message: msg, Usage: usage}
}

// dnsName reads a required record NAME.
func (c *cursor) dnsName() (string, error) {
	tok, err := c.need("NAME (a DNS name such as www.example.org)")
	if err != nil {
		return "", err
	}
	name, msg := checkDNSName(tok.text, recordName)
	if msg != "" {
		return "", c.fail("name", tok.text, msg)
	}
	return name, nil
}

// dnsType reads a required record TYPE.
func (c *cursor) dnsType() (rrType, error) {
	tok, err := c.need("TYPE (" + typeNames() + ")")
	if err != nil {
		return rrType{}, err
	}
	return c.checkType(tok)
}

// checkType looks up a record type word.
func (c *cursor) checkType(tok token) (rrType, error) {
	t, ok := lookupType(tok.text)
	if !ok {
		return rrType{}, c.fail("type", tok.text, "not a record type the bot changes: want one of "+typeNames())
	}
	return t, nil
}

// txtHint is added when a word after a TXT value is not what was expected:
// most likely text with spaces that was not quoted.
func txtHint(t rrType, tok token) string {
	if t.name == "TXT" && !isDigits(tok.text) {
		return `; TXT text with spaces must be in "quotes"`
	}
	return ""
}

// nameTypeRest reads NAME TYPE and returns the words after them.
func (c *cursor) nameTypeRest() (string, rrType, []token, error) {
	name, err := c.dnsName()
	if err != nil {
		return "", rrType{}, nil, err
	}
	t, err := c.dnsType()
	if err != nil {
		return "", rrType{}, nil, err
	}
	words, err := c.all()
	return name, t, words, err
}

// parseDNSSet reads: dns set NAME TYPE VALUE [TTL] [--break-glass REASON…]
func parseDNSSet(c *cursor) (Command, error) {
	name, t, words, err := c.nameTypeRest()
	if err != nil {
		return nil, err
	}
	value, ttl, err := c.valueTTL(t, words)
	if err != nil {
		return nil, err
	}
	return DNSSet{Name: name, Type: t.name, Value: value, TTL: ttl, BreakGlass: c.breakGlass}, nil
}

// parseDNSAdd reads: dns add NAME TYPE VALUE [TTL] [--break-glass REASON…]
func parseDNSAdd(c *cursor) (Command, error) {
	name, err := c.dnsName()
	if err != nil {
		return nil, err
	}
	tok, err := c.need("TYPE (" + typeNames() + ")")
	if err != nil {
		return nil, err
	}
	t, err := c.checkType(tok)
	if err != nil {
		return nil, err
	}
	if t.name == "CNAME" {
		// RFC 1034 3.6.2: an alias has exactly one target.
		return nil, c.fail("type", tok.text, "a name has at most one CNAME record: use dns set to replace it")
	}
	words, err := c.all()
	if err != nil {
		return nil, err
	}
	value, ttl, err := c.valueTTL(t, words)
	if err != nil {
		return nil, err
	}
	return DNSAdd{Name: name, Type: t.name, Value: value, TTL: ttl, BreakGlass: c.breakGlass}, nil
}

// valueTTL reads VALUE [TTL] of a record of type t from words; the TTL
// is 0 when not given.
func (c *cursor) valueTTL(t rrType, words []token) (string, uint32, error) {
	if len(words) == 0 {
		return "", 0, c.missing("VALUE: for " + t.name + ", " + t.shape)
	}
	value, used, err := c.recordValue(t, words)
	if err != nil {
		return "", 0, err
	}
	rest := words[used:]
	if len(rest) == 0 {
		return value, 0, nil
	}
	ttl, msg := checkTTL(rest[0].text)
	if msg != "" {
		return "", 0, c.fail("ttl", rest[0].text, msg+txtHint(t, rest[0]))
	}
	if len(rest) > 1 {
		return "", 0, c.extra(rest[1].text)
	}
	return value, ttl, nil
}

// parseDNSDelete reads: dns delete NAME TYPE [VALUE] [--break-glass REASON…]
func parseDNSDelete(c *cursor) (Command, error) {
	name, t, words, err := c.nameTypeRest()
	if err != nil {
		return nil, err
	}
	del := DNSDelete{Name: name, Type: t.name, BreakGlass: c.breakGlass}
	if len(words) == 0 {
		return del, nil
	}
	value, used, err := c.recordValue(t, words)
	if err != nil {
		return nil, err
	}
	if rest := words[used:]; len(rest) > 0 {
		return nil, c.fail("", rest[0].text, "unexpected extra argument"+txtHint(t, rest[0]))
	}
	del.Value = value
	return del, nil
}

// parseDNSShow reads: dns show NAME [TYPE]
func parseDNSShow(c *cursor) (Command, error) {
	name, err := c.dnsName()
	if err != nil {
		return nil, err
	}
	show := DNSShow{Name: name}
	tok, ok, err := c.next()
	if err != nil {
		return nil, err
	}
	if ok {
		t, err := c.checkType(tok)
		if err != nil {
			return nil, err
		}
		show.Type = t.name
	}
	if err := c.end(); err != nil {
		return nil, err
	}
	return show, nil
}
