package commands

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are inputs worth starting from: every example in the help,
// every case of the table tests' kind, and some hostile text.
var fuzzSeeds = []string{
	"", " ", "/cs", "/cs ", "/CS deploy www", "help", "help dns", "help dns set", "help policy",
	"deploy www", "deploy www 3f2a9c1", "deploy www " + digest, "deploy www --break-glass outage",
	"deploy www —break-glass x", "deploy www --break-glass", `deploy "www`, `deploy "w"x`, `deploy w"x`,
	"rollback www", "rollback www to R40", "rollback www R40", "rollback www to",
	"scale www 3", "scale www -1", "scale www 99999999999999999999", "scale www 3 --break-glass load",
	"dns set ci.mirageos.org A 128.232.124.253 10800", "dns set x.org AAAA 2001:db8::1",
	"dns set x.org MX 10 mail.x.org 300", `dns set x.org MX "10 mail.x.org"`, "dns set x.org MX 0 .",
	"dns set _sip._tcp.x.org SRV 10 5 5060 sip.x.org", `dns set x.org SRV "10 5 5060 sip.x.org" 60`,
	`dns set x.org CAA 0 issue "letsencrypt.org"`, `dns set x.org CAA "0 issue \"letsencrypt.org\""`,
	`dns set x.org TXT "a" "b" 60`, `dns set x.org TXT “smart”`, "dns set x.org TXT word",
	"dns set *.x.org A 192.0.2.1", "dns set <http://x.org|x.org> A 192.0.2.1",
	`dns set x.org TXT "<http://a.org|a.org> &amp;"`, "dns set a..b A 1.2.3.4", "dns set 1.2.3.4 A 1.2.3.4",
	"dns add x.org MX 20 mail2.x.org", `dns add x.org TXT "a" "b" 60`, "dns add x.org CNAME y.org", "dns add x.org A",
	"dns add x.org A 192.0.2.1 --break-glass x", "dns set x.org PTR host.x.org", "dns set x.org SSHFP 4 2 " + sha256hex,
	"dns set x.org TLSA 3 1 1 " + sha256hex, `dns set x.org TLSA "3 0 0 30"`, "dns set x.org SSHFP 1 1 abc",
	"dns delete x.org A", "dns delete x.org A 192.0.2.1 --break-glass x", "dns show x.org MX", "dns", "dns frob",
	"lock www db migration", `lock www "quoted"`, `lock www 5" screen`, "unlock www",
	"status", "status www", "audit", "audit www since 7d", "audit @U123ABC", "audit <@U123ABC|bob> since 90m",
	"audit since 9999999d", "policy explain deploy www @U123", "policy explain dns x.org --break-glass f",
	"policy", "approve R42", "approve r1", "deny R42 no", "deny R42",
	"deploy www\x00", "deploy \u202ewww", "deploy \xff\xfe", `"\`, `"\"`, "“", "”", "—", "--", "— —",
	"dns set x.org TXT \"" + strings.Repeat("a", 300) + "\"",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	for _, d := range docs {
		for _, e := range d.examples {
			f.Add(e)
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(text)
		if err == nil {
			if c == nil {
				t.Fatalf("Parse(%q) = nil, nil", text)
			}
			if _, ok := lookupDoc(c.Verb()); !ok {
				t.Fatalf("Parse(%q).Verb() = %q, not a documented verb", text, c.Verb())
			}
			checkParsed(t, text, c)
			return
		}
		if c != nil {
			t.Fatalf("Parse(%q) returned %#v with error %v", text, c, err)
		}
		pe, ok := errors.AsType[*ParseError](err)
		if !ok {
			t.Fatalf("Parse(%q) error %T, want *ParseError", text, err)
		}
		if pe.Message == "" {
			t.Fatalf("Parse(%q): empty Message in %#v", text, pe)
		}
		if pe.Error() == "" {
			t.Fatalf("Parse(%q): empty Error()", text)
		}
	})
}

// checkParsed checks the invariants of a parsed command that the rest of
// the bot relies on: names valid, values without control characters.
func checkParsed(t *testing.T, text string, c Command) {
	t.Helper()
	bad := func(what, v string) {
		t.Fatalf("Parse(%q): %s %q", text, what, v)
	}
	service := func(s string) {
		if _, msg := checkService(s); msg != "" {
			bad("service", s)
		}
	}
	dnsName := func(s string) {
		if !strings.HasSuffix(s, ".") || strings.ToLower(s) != s || len(s) > maxDNSName+1 {
			bad("dns name", s)
		}
	}
	clean := func(what, s string) {
		if !utf8.ValidString(s) || strings.ContainsFunc(s, forbiddenRune) {
			bad(what, s)
		}
	}
	switch c := c.(type) {
	case Deploy:
		service(c.Service)
		clean("break-glass", c.BreakGlass)
	case Rollback:
		service(c.Service)
	case Scale:
		service(c.Service)
		if c.Replicas < 0 || c.Replicas > MaxReplicas {
			t.Fatalf("Parse(%q): replicas %d", text, c.Replicas)
		}
	case DNSSet:
		dnsName(c.Name)
		if c.Value == "" || c.TTL > maxTTL {
			t.Fatalf("Parse(%q): %#v", text, c)
		}
		// Presentation format is printable ASCII.
		for i := 0; i < len(c.Value); i++ {
			if c.Value[i] < ' ' || c.Value[i] > '~' {
				bad("value", c.Value)
			}
		}
	case DNSAdd:
		dnsName(c.Name)
		if c.Value == "" || c.TTL > maxTTL || c.Type == "CNAME" {
			t.Fatalf("Parse(%q): %#v", text, c)
		}
		for i := 0; i < len(c.Value); i++ {
			if c.Value[i] < ' ' || c.Value[i] > '~' {
				bad("value", c.Value)
			}
		}
	case DNSDelete:
		dnsName(c.Name)
	case DNSShow:
		dnsName(c.Name)
	case Lock:
		service(c.Service)
		if c.Reason == "" {
			bad("reason", c.Reason)
		}
		clean("reason", c.Reason)
	case Deny:
		if c.Reason == "" {
			bad("reason", c.Reason)
		}
	case PolicyExplain:
		if !c.Action.Valid() {
			bad("action", string(c.Action))
		}
	}
}
