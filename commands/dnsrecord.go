package commands

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// maxTTL is the largest TTL set accepts: one week.
const maxTTL = 604800

// maxCharString is the longest DNS character-string (RFC 1035 3.3).
const maxCharString = 255

// field is one part of a record's data, with its check.
type field struct {
	name  string
	check func(string) (string, string)
}

// rrType is a record type the bot changes and what its value looks like.
type rrType struct {
	name   string
	shape  string  // the value's form, for messages and help
	fields []field // the value's parts; nil for TXT, which has its own rule
}

// rrTypes lists the record types, in the order help shows them.
var rrTypes = []rrType{
	{"A", "an IPv4 address, e.g. 192.0.2.10", []field{{"address", checkIPv4}}},
	{"AAAA", "an IPv6 address, e.g. 2001:db8::10", []field{{"address", checkIPv6}}},
	{"CNAME", "a DNS name, e.g. www.example.org", []field{{"target", nameCheck(aliasTarget)}}},
	{"TXT", `one or more "quoted strings", or a single word`, nil},
	{"MX", "PREFERENCE HOST, e.g. 10 mail.example.org", []field{
		{"preference", u16Check("preference")}, {"host", nameCheck(serviceTarget)}}},
	{"SRV", "PRIORITY WEIGHT PORT TARGET, e.g. 10 5 5060 sip.example.org", []field{
		{"priority", u16Check("priority")}, {"weight", u16Check("weight")},
		{"port", u16Check("port")}, {"target", nameCheck(serviceTarget)}}},
	{"CAA", `FLAGS TAG "VALUE", e.g. 0 issue "letsencrypt.org"`, []field{
		{"flags", checkCAAFlags}, {"tag", checkCAATag}, {"value", checkCAAValue}}},
	{"NS", "a DNS name, e.g. ns1.example.org", []field{{"target", nameCheck(hostTarget)}}},
}

// lookupType returns the record type named s, in any case.
func lookupType(s string) (rrType, bool) {
	u := strings.ToUpper(s)
	for _, t := range rrTypes {
		if t.name == u {
			return t, true
		}
	}
	return rrType{}, false
}

// typeNames returns "A, AAAA, …, NS".
func typeNames() string {
	names := make([]string, len(rrTypes))
	for i, t := range rrTypes {
		names[i] = t.name
	}
	return strings.Join(names, ", ")
}

// recordValue reads the value of a record of type t from words (not
// empty) and returns it in presentation format with the number of words
// it used; what follows is the caller's (a TTL, or nothing).
//
// TXT takes every leading quoted word as one character-string, or else a
// single bare word. The other types take one word per field (MX: two, SRV:
// four, CAA: three), or one quoted word holding all the fields, as in a
// zone file: `MX 10 mail.x.org` and `MX "10 mail.x.org"` are the same.
func (c *cursor) recordValue(t rrType, words []token) (string, int, error) {
	if t.fields == nil {
		return c.txtValue(words)
	}
	parts, used := words, len(t.fields)
	if first := words[0]; first.quoted && strings.ContainsFunc(first.text, unicode.IsSpace) {
		sub := scanner{line: first.text}
		var msg string
		parts, msg = subWords(&sub)
		if msg != "" {
			return "", 0, c.fail("value", first.text, msg)
		}
		if len(parts) != len(t.fields) {
			return "", 0, c.fail("value", first.text, fmt.Sprintf("want %d parts: %s", len(t.fields), t.shape))
		}
		used = 1
	}
	vals := make([]string, len(t.fields))
	for i, f := range t.fields {
		if i >= len(parts) {
			return "", 0, c.missing(fmt.Sprintf("%s %s: the value is %s", t.name, f.name, t.shape))
		}
		v, msg := f.check(parts[i].text)
		if msg != "" {
			return "", 0, c.fail(f.name, parts[i].text, msg)
		}
		vals[i] = v
	}
	return strings.Join(vals, " "), used, nil
}

// subWords splits the inside of a quoted word into words, or returns
// what is wrong with it.
func subWords(sc *scanner) ([]token, string) {
	var toks []token
	for {
		tok, ok, err := sc.next()
		if err != nil {
			return nil, err.(*ParseError).Message // the scanner makes only these
		}
		if !ok {
			return toks, ""
		}
		toks = append(toks, tok)
	}
}

// txtValue reads the character-strings of a TXT record.
func (c *cursor) txtValue(words []token) (string, int, error) {
	n := 1
	if words[0].quoted {
		for n < len(words) && words[n].quoted {
			n++
		}
	}
	parts := make([]string, n)
	for i, w := range words[:n] {
		s := slackText(w.text)
		if len(s) > maxCharString {
			return "", 0, c.fail("text", w.text, fmt.Sprintf(
				"%d bytes, but a TXT string holds at most %d: split it into several quoted strings", len(s), maxCharString))
		}
		parts[i] = quoteString(s)
	}
	return strings.Join(parts, " "), n, nil
}

// quoteString returns s as a DNS presentation character-string: in double
// quotes, with " and \ escaped by a backslash and bytes outside printable
// ASCII as \DDD, exactly as github.com/miekg/dns prints it, so that values
// compare equal to records read back from a server.
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// checkTTL accepts 1..maxTTL seconds.
func checkTTL(s string) (uint32, string) {
	n, msg := checkUint(s, 1, maxTTL, "a TTL in seconds,")
	return uint32(n), msg
}

// checkIPv4 accepts a dotted-quad IPv4 address.
func checkIPv4(s string) (string, string) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return "", "not an IPv4 address"
	case a.Is4In6():
		return "", "an IPv4-mapped IPv6 address: write the plain IPv4 address"
	case a.Is6():
		return "", "an IPv6 address: use an AAAA record"
	}
	return a.String(), ""
}

// checkIPv6 accepts an IPv6 address without zone, not IPv4-mapped, and
// returns it in its canonical (RFC 5952) form.
func checkIPv6(s string) (string, string) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return "", "not an IPv6 address"
	case a.Is4():
		return "", "an IPv4 address: use an A record"
	case a.Is4In6():
		return "", "an IPv4-mapped address: use an A record with the IPv4 address"
	case a.Zone() != "":
		return "", "an address with a zone (%…) cannot go in DNS"
	}
	return a.String(), ""
}

// nameCheck returns a field check for a DNS name under rules.
func nameCheck(rules nameRules) func(string) (string, string) {
	return func(s string) (string, string) { return checkDNSName(s, rules) }
}

// u16Check returns a field check for a 16-bit number.
func u16Check(what string) func(string) (string, string) {
	return func(s string) (string, string) {
		n, msg := checkUint(s, 0, 65535, what)
		return strconv.FormatUint(n, 10), msg
	}
}

// checkCAAFlags accepts the CAA flags byte (0, or 128 for critical).
func checkCAAFlags(s string) (string, string) {
	n, msg := checkUint(s, 0, 255, "flags")
	return strconv.FormatUint(n, 10), msg
}

// caaTag is a CAA property tag (RFC 8659 4.1): letters and digits.
var caaTag = regexp.MustCompile(`^[a-z0-9]{1,15}$`)

// checkCAATag accepts a tag such as issue, issuewild or iodef, in lower case.
func checkCAATag(s string) (string, string) {
	l := strings.ToLower(s)
	if !caaTag.MatchString(l) {
		return "", "not a CAA tag: 1 to 15 letters and digits, e.g. issue, issuewild, iodef"
	}
	return l, ""
}

// checkCAAValue accepts the property value and quotes it.
func checkCAAValue(s string) (string, string) {
	v := slackText(s)
	if len(v) > maxCharString {
		return "", fmt.Sprintf("%d bytes, at most %d", len(v), maxCharString)
	}
	return quoteString(v), ""
}
