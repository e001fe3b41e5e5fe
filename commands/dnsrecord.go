package commands

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	cs "github.com/countersign/countersign"
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
	// whole, if set, checks the parts together once each passed its own
	// check (a fingerprint's length depends on its type), and returns
	// the index of the part that is wrong and why.
	whole func(vals []string) (int, string)
}

// valueRules returns the value rules of a record type of cs.DNSTypes. A
// type of that list without rules here cannot be parsed, and a test fails.
func valueRules(name string) (rrType, bool) {
	switch name {
	case "A":
		return rrType{name, "an IPv4 address, e.g. 192.0.2.10", []field{{"address", checkIPv4}}, nil}, true
	case "AAAA":
		return rrType{name, "an IPv6 address, e.g. 2001:db8::10", []field{{"address", checkIPv6}}, nil}, true
	case "CNAME":
		return rrType{name, "a DNS name, e.g. www.example.org", []field{{"target", nameCheck(aliasTarget)}}, nil}, true
	case "TXT":
		return rrType{name, `one or more "quoted strings", or a single word`, nil, nil}, true
	case "MX":
		return rrType{name, "PREFERENCE HOST, e.g. 10 mail.example.org", []field{
			{"preference", u16Check("preference")}, {"host", nameCheck(serviceTarget)}}, nil}, true
	case "SRV":
		return rrType{name, "PRIORITY WEIGHT PORT TARGET, e.g. 10 5 5060 sip.example.org", []field{
			{"priority", u16Check("priority")}, {"weight", u16Check("weight")},
			{"port", u16Check("port")}, {"target", nameCheck(serviceTarget)}}, nil}, true
	case "CAA":
		return rrType{name, `FLAGS TAG "VALUE", e.g. 0 issue "letsencrypt.org"`, []field{
			{"flags", checkCAAFlags}, {"tag", checkCAATag}, {"value", checkCAAValue}}, nil}, true
	case "NS":
		return rrType{name, "a DNS name, e.g. ns1.example.org", []field{{"target", nameCheck(hostTarget)}}, nil}, true
	case "PTR":
		return rrType{name, "a DNS name, e.g. host.example.org", []field{{"target", nameCheck(ptrTarget)}}, nil}, true
	case "SSHFP":
		return rrType{name, "ALGORITHM FP-TYPE FINGERPRINT, as ssh-keygen -r prints them, e.g. 4 2 and 64 hex digits", []field{
			{"algorithm", rangeCheck("algorithm", "1 RSA, 2 DSA, 3 ECDSA, 4 Ed25519, 6 Ed448", 1, 255)},
			{"fingerprint type", rangeCheck("fingerprint type", "1 SHA-1, 2 SHA-256", 1, 2)},
			{"fingerprint", checkHex}}, sshfpLength}, true
	case "TLSA":
		return rrType{name, "USAGE SELECTOR MATCHING-TYPE DATA, e.g. 3 1 1 and 64 hex digits", []field{
			{"usage", rangeCheck("usage", "0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE", 0, 3)},
			{"selector", rangeCheck("selector", "0 full certificate, 1 public key", 0, 1)},
			{"matching type", rangeCheck("matching type", "0 exact data, 1 SHA-256, 2 SHA-512", 0, 2)},
			{"data", checkHex}}, tlsaLength}, true
	}
	return rrType{}, false
}

// rrTypes returns the record types, in the order help shows them.
func rrTypes() []rrType {
	var out []rrType
	for _, n := range cs.DNSTypes() {
		if t, ok := valueRules(n); ok {
			out = append(out, t)
		}
	}
	return out
}

// lookupType returns the record type named s, in any case.
func lookupType(s string) (rrType, bool) {
	u := strings.ToUpper(s)
	if !cs.ValidDNSType(u) {
		return rrType{}, false
	}
	return valueRules(u)
}

// typeNames returns "A, AAAA, …, TLSA".
func typeNames() string {
	return strings.Join(cs.DNSTypes(), ", ")
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
	if t.whole != nil {
		if i, msg := t.whole(vals); msg != "" {
			return "", 0, c.fail(t.fields[i].name, parts[i].text, msg)
		}
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

// rangeCheck returns a field check for a number from lo to hi; meaning
// says what the numbers stand for.
func rangeCheck(what, meaning string, lo, hi uint64) func(string) (string, string) {
	return func(s string) (string, string) {
		n, msg := checkUint(s, lo, hi, what)
		if msg != "" {
			msg += " (" + meaning + ")"
		}
		return strconv.FormatUint(n, 10), msg
	}
}

// maxHexData bounds the binary data of an SSHFP or TLSA record: a full
// certificate (TLSA matching type 0) is rarely over 2 KB.
const maxHexData = 4096

// checkHex accepts binary data written in hex (an even number of hex
// digits, in any case) and returns it in upper case, as the executor's
// DNS library and BIND print it.
func checkHex(s string) (string, string) {
	switch {
	case s == "":
		return "", "empty: want hex digits"
	case strings.Trim(s, "0123456789abcdefABCDEF") != "":
		return "", "not hex: want the digits 0-9 and a-f"
	case len(s)%2 != 0:
		return "", fmt.Sprintf("%d hex digits: want an even number (two per byte)", len(s))
	case len(s) > 2*maxHexData:
		return "", fmt.Sprintf("%d bytes, at most %d", len(s)/2, maxHexData)
	}
	return strings.ToUpper(s), ""
}

// digestLength checks that hex is as long as a digest of size bytes.
func digestLength(hex, digest string, size int) string {
	if len(hex) != 2*size {
		return fmt.Sprintf("%d hex digits, but a %s is %d (%d bytes)", len(hex), digest, 2*size, size)
	}
	return ""
}

// sshfpLength checks the fingerprint's length against its type.
func sshfpLength(vals []string) (int, string) {
	switch vals[1] {
	case "1":
		return 2, digestLength(vals[2], "SHA-1 fingerprint (type 1)", 20)
	case "2":
		return 2, digestLength(vals[2], "SHA-256 fingerprint (type 2)", 32)
	}
	return 0, ""
}

// tlsaLength checks the data's length against the matching type.
func tlsaLength(vals []string) (int, string) {
	switch vals[2] {
	case "1":
		return 3, digestLength(vals[3], "SHA-256 digest (matching type 1)", 32)
	case "2":
		return 3, digestLength(vals[3], "SHA-512 digest (matching type 2)", 64)
	}
	return 0, ""
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
