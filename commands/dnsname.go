package commands

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxDNSName is the longest name in presentation form, without the
// trailing dot (RFC 1035: 255 octets on the wire).
const maxDNSName = 253

// nameRules says which special forms a DNS name may take where it is used.
type nameRules struct {
	wildcard   bool // "*" as the whole first label (record names)
	underscore bool // labels starting with "_" (_acme-challenge, _sip._tcp, sel._domainkey)
	root       bool // "." alone (null MX, RFC 7505; "no service" SRV, RFC 2782)
}

var (
	// recordName is the owner name of a record.
	recordName = nameRules{wildcard: true, underscore: true}
	// aliasTarget is a CNAME target: may point at an underscore name,
	// as in ACME challenge delegation.
	aliasTarget = nameRules{underscore: true}
	// hostTarget is an NS target: a host name.
	hostTarget = nameRules{}
	// serviceTarget is an MX or SRV target: a host name, or "." for none.
	serviceTarget = nameRules{root: true}
	// ptrTarget is a PTR target: a host name, or a DNS-SD service
	// instance (printer._ipp._tcp.example.org).
	ptrTarget = nameRules{underscore: true}
)

// checkDNSName validates a DNS name per RFC 1035 and 1123 (labels of 1 to
// 63 letters, digits and hyphens, not starting or ending with a hyphen; at
// most 253 characters; at least two labels, the last not all digits) plus
// what rules allows, and returns it in lower case with a trailing dot.
// A Slack auto-link (<http://x.org|x.org>) is replaced by its label.
func checkDNSName(s string, rules nameRules) (string, string) {
	s = strings.ToLower(unwrapLinks(s))
	if s == "." {
		if rules.root {
			return ".", ""
		}
		return "", "the root name is not allowed here"
	}
	s = strings.TrimSuffix(s, ".")
	switch {
	case s == "":
		return "", "empty name"
	case len(s) > maxDNSName:
		return "", fmt.Sprintf("longer than %d characters", maxDNSName)
	}
	labels := strings.Split(s, ".")
	for i, l := range labels {
		if msg := checkLabel(l, i, i == len(labels)-1, rules); msg != "" {
			return "", msg
		}
	}
	if len(labels) < 2 {
		return "", "not a fully qualified name: want e.g. www.example.org"
	}
	if isDigits(labels[len(labels)-1]) {
		return "", "last label is all digits: an IP address is not a DNS name"
	}
	return s + ".", ""
}

// checkLabel validates label number i of a name.
func checkLabel(l string, i int, last bool, rules nameRules) string {
	switch {
	case l == "":
		return "empty label (two dots in a row, or a leading dot)"
	case len(l) > 63:
		return fmt.Sprintf("label %q is longer than 63 characters", l)
	case l == "*":
		if rules.wildcard && i == 0 {
			return ""
		}
		return "a wildcard * may only be the whole first label of a record name"
	case !isASCII(l):
		return fmt.Sprintf("label %q is not ASCII: write an internationalised name in its xn-- form", l)
	}
	body := l
	if l[0] == '_' {
		if !rules.underscore || last {
			return fmt.Sprintf("label %q: a label starting with _ is not allowed here", l)
		}
		body = l[1:]
		if body == "" {
			return fmt.Sprintf("label %q: want letters or digits after _", l)
		}
	}
	for j := 0; j < len(body); j++ {
		c := body[j]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Sprintf("label %q: letters, digits and hyphens only", l)
		}
	}
	if body[0] == '-' || body[len(body)-1] == '-' {
		return fmt.Sprintf("label %q starts or ends with a hyphen", l)
	}
	return ""
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// unwrapLinks replaces Slack's link markup by what the person typed: the
// label of <http://x.org|x.org> and <mailto:a@x.org|a@x.org>, or the URL
// of <https://x.org/> when there is no label. Slack adds this markup to
// anything that looks like a host name or an address, even inside quotes.
// Mentions (<@U1>, <#C1>, <!here>) are left alone.
func unwrapLinks(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		// Look for the closing '>' only after a link's scheme, so that
		// text full of '<' costs linear time.
		if !isLinkTarget(s[i+1:]) {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break // no '>' in the rest: no more links
		}
		inner := s[i+1 : i+j]
		b.WriteString(s[:i])
		if k := strings.IndexByte(inner, '|'); k >= 0 {
			b.WriteString(inner[k+1:])
		} else {
			b.WriteString(inner)
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}

// isLinkTarget reports whether s, the text after a '<', starts a Slack link.
func isLinkTarget(s string) bool {
	for _, p := range []string{"http://", "https://", "mailto:"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

// slackEntities undoes the only escaping Slack applies to message text.
var slackEntities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

// slackText turns Slack message text into what the person typed: links
// unwrapped, then &lt; &gt; &amp; decoded. It is applied to record data
// (TXT and CAA values), which must reach DNS exactly as meant.
func slackText(s string) string {
	return slackEntities.Replace(unwrapLinks(s))
}
