package dns

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/miekg/dns"
)

// Records travel as cs.Record: owner name lower case and fully qualified,
// type upper case, and the value in miekg/dns presentation format with
// domain names in lower case (the canonical form of RFC 4034 6.2). Values
// typed by a person and values read from the primary both pass through
// the same parser and printer, so equal records compare equal as text.

// toRecord converts an RR into canonical form.
func toRecord(rr dns.RR) cs.Record {
	h := rr.Header()
	h.Name = dns.CanonicalName(h.Name)
	switch v := rr.(type) {
	case *dns.CNAME:
		v.Target = strings.ToLower(v.Target)
	case *dns.NS:
		v.Ns = strings.ToLower(v.Ns)
	case *dns.PTR:
		v.Ptr = strings.ToLower(v.Ptr)
	case *dns.MX:
		v.Mx = strings.ToLower(v.Mx)
	case *dns.SRV:
		v.Target = strings.ToLower(v.Target)
	case *dns.DNAME:
		v.Target = strings.ToLower(v.Target)
	case *dns.TLSA:
		// Hex as typed, or lower case from the wire: upper case, as
		// miekg/dns prints SSHFP fingerprints and BIND prints both.
		v.Certificate = strings.ToUpper(v.Certificate)
	}
	return cs.Record{
		Name:  h.Name,
		Type:  dns.TypeToString[h.Rrtype],
		TTL:   h.Ttl,
		Value: strings.TrimPrefix(rr.String(), h.String()),
	}
}

// parseRecord checks value as the data of a record of typ at name and
// returns the record in canonical form. name must be fully qualified.
// Errors wrap ErrInvalid and say what is wrong with the value.
func parseRecord(name, typ string, ttl uint32, value string) (cs.Record, error) {
	rr, err := parseRR(name, typ, ttl, value)
	if err != nil {
		return cs.Record{}, err
	}
	return toRecord(rr), nil
}

// parseRR is parseRecord returning the miekg/dns RR, for a message.
func parseRR(name, typ string, ttl uint32, value string) (dns.RR, error) {
	if err := checkValue(name, typ, value); err != nil {
		return nil, fmt.Errorf("%w %s value %q: %v", ErrInvalid, typ, value, err)
	}
	line := fmt.Sprintf("%s %d IN %s %s", name, ttl, typ, value)
	// No origin: a relative name in the value is an error, not silently
	// completed with some origin.
	zp := dns.NewZoneParser(strings.NewReader(line), "", "")
	rr, ok := zp.Next()
	if !ok {
		err := zp.Err()
		var pe *dns.ParseError
		if errors.As(err, &pe) {
			err = errors.New(pe.Error())
		}
		return nil, fmt.Errorf("%w %s value %q: %v", ErrInvalid, typ, value, err)
	}
	if _, more := zp.Next(); more || dns.TypeToString[rr.Header().Rrtype] != typ {
		return nil, fmt.Errorf("%w %s value %q: not exactly one record", ErrInvalid, typ, value)
	}
	return rr, nil
}

// checkValue applies the rules the zone-file parser does not: addresses
// of the right family, fully qualified targets, quoted TXT text, and no
// comments or line structure hidden in a value.
func checkValue(name, typ, value string) error {
	if strings.TrimSpace(value) == "" {
		return errors.New("no value")
	}
	if strings.ContainsFunc(value, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return errors.New("contains a control character (a line break?)")
	}
	if c := unquoted(value, ";()$@"); c != 0 {
		return fmt.Errorf("%q outside quotes is zone-file syntax, not data", c)
	}
	switch typ {
	case "A":
		if a, err := netip.ParseAddr(value); err != nil || !a.Is4() {
			return errors.New("not an IPv4 address, e.g. 192.0.2.10")
		}
	case "AAAA":
		a, err := netip.ParseAddr(value)
		if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return errors.New("not an IPv6 address, e.g. 2001:db8::10 (for IPv4 use an A record)")
		}
	case "CNAME", "NS", "PTR":
		if value == "." || !validName(value) {
			return errors.New("not a fully qualified DNS name ending in a dot, e.g. www.example.org.")
		}
		if typ == "CNAME" && dns.CanonicalName(value) == name {
			return errors.New("a CNAME cannot point at its own name")
		}
	case "TXT":
		return checkTXT(value)
	case "SSHFP":
		return checkDigestRecord(value, 3, map[string]int{"1": 20, "2": 32}, "ALGORITHM FP-TYPE FINGERPRINT, e.g. 4 2 and 64 hex digits")
	case "TLSA":
		return checkDigestRecord(value, 4, map[string]int{"1": 32, "2": 64}, "USAGE SELECTOR MATCHING-TYPE DATA, e.g. 3 1 1 and 64 hex digits")
	}
	return nil
}

// checkDigestRecord checks an SSHFP or TLSA value: n words, numbers then
// hex data whose length in bytes, for the digest types in sizes (the
// second-last word), is fixed. The zone-file parser takes any text as
// the data and only packing the message would find it is not hex.
func checkDigestRecord(value string, n int, sizes map[string]int, shape string) error {
	f := strings.Fields(value)
	if len(f) != n {
		return fmt.Errorf("want %d parts: %s", n, shape)
	}
	data := f[n-1]
	if _, err := hex.DecodeString(data); err != nil || data == "" {
		return errors.New("the data is not hex (an even number of the digits 0-9, a-f)")
	}
	if size, ok := sizes[f[n-2]]; ok && len(data) != 2*size {
		return fmt.Errorf("%d hex digits, but digest type %s is %d", len(data), f[n-2], 2*size)
	}
	return nil
}

// unquoted returns the first byte of set that occurs in s outside double
// quotes (and not escaped by a backslash), or 0.
func unquoted(s, set string) byte {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(set, c) >= 0:
			return c
		}
	}
	return 0
}

// maxString is the longest character-string (RFC 1035 3.3).
const maxString = 255

// checkTXT accepts one or more "quoted strings" separated by spaces, each
// of at most 255 bytes, as `dns set` produces them. Unquoted text is
// refused: the parser would split it at spaces into several strings,
// which is rarely what was meant.
func checkTXT(v string) error {
	n := 0
	for i := 0; i < len(v); {
		if v[i] == ' ' || v[i] == '\t' {
			i++
			continue
		}
		if v[i] != '"' {
			return errors.New(`TXT text must be in double quotes, e.g. "v=spf1 -all"`)
		}
		i++
		size, closed := 0, false
		for i < len(v) && !closed {
			switch {
			case v[i] == '"':
				closed = true
			case v[i] == '\\' && i+3 < len(v) && isDigits(v[i+1:i+4]):
				i += 3
			case v[i] == '\\':
				i++
			}
			if !closed {
				size++
			}
			i++
		}
		if !closed {
			return errors.New("a quoted string is not closed")
		}
		if size > maxString {
			return fmt.Errorf("a string of %d bytes; a TXT string holds at most %d: split it into several quoted strings", size, maxString)
		}
		if i < len(v) && v[i] != ' ' && v[i] != '\t' {
			return errors.New("quoted strings must be separated by spaces")
		}
		n++
	}
	if n == 0 {
		return errors.New("no text")
	}
	return nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// checkTTL accepts 1 to MaxTTL seconds.
func checkTTL(ttl uint32) error {
	if ttl < 1 || ttl > MaxTTL {
		return fmt.Errorf("%w TTL %d: want 1 to %d seconds", ErrInvalid, ttl, MaxTTL)
	}
	return nil
}

// sortRecords orders records by type, then value, then TTL.
func sortRecords(recs []cs.Record) {
	slices.SortFunc(recs, func(a, b cs.Record) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		if c := strings.Compare(a.Value, b.Value); c != 0 {
			return c
		}
		return int(a.TTL) - int(b.TTL)
	})
}

// sameRecords reports whether a and b hold the same records with the same
// TTLs, in any order.
func sameRecords(a, b []cs.Record) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sortRecords(a)
	sortRecords(b)
	return slices.Equal(a, b)
}

// formatRecord is one record as a zone file line without the class.
func formatRecord(r cs.Record) string {
	return fmt.Sprintf("%s %d %s %s", r.Name, r.TTL, r.Type, r.Value)
}

// listRecords lists records on one line, or returns none.
func listRecords(recs []cs.Record, none string) string {
	if len(recs) == 0 {
		return none
	}
	s := make([]string, len(recs))
	for i, r := range recs {
		s[i] = formatRecord(r)
	}
	return strings.Join(s, ", ")
}
