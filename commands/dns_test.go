package commands

import (
	"slices"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
)

func TestCheckDNSName(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	// 3 labels of 63 and one of 61, with dots: 253 characters.
	name253 := label63 + "." + label63 + "." + label63 + "." + strings.Repeat("b", 61)
	tests := []struct {
		in    string
		rules nameRules
		want  string // "" = refused
	}{
		{"x.org", recordName, "x.org."},
		{"X.ORG.", recordName, "x.org."},
		{"ci.mirageos.org", recordName, "ci.mirageos.org."},
		{"a-b.x.org", recordName, "a-b.x.org."},
		{"1a.x.org", recordName, "1a.x.org."}, // RFC 1123: labels may start with a digit
		{"xn--bcher-kva.example", recordName, "xn--bcher-kva.example."},
		{label63 + ".org", recordName, label63 + ".org."},
		{name253, recordName, name253 + "."},
		{name253 + ".", recordName, name253 + "."},
		{"*.x.org", recordName, "*.x.org."},
		{"_acme-challenge.x.org", recordName, "_acme-challenge.x.org."},
		{"_sip._tcp.x.org", recordName, "_sip._tcp.x.org."},
		{"sel._domainkey.x.org", recordName, "sel._domainkey.x.org."},
		{"<http://ci.mirageos.org|ci.mirageos.org>", recordName, "ci.mirageos.org."},
		{"<https://x.org|X.org>", recordName, "x.org."},
		// refused
		{"", recordName, ""},
		{".", recordName, ""},
		{"org", recordName, ""}, // not fully qualified
		{"www", recordName, ""},
		{"a..b", recordName, ""},
		{".x.org", recordName, ""},
		{"x.org..", recordName, ""},
		{"-a.x.org", recordName, ""},
		{"a-.x.org", recordName, ""},
		{"a_b.x.org", recordName, ""},
		{"a b.x.org", recordName, ""},
		{"a;b.x.org", recordName, ""},
		{"a/b.x.org", recordName, ""},
		{"bücher.example", recordName, ""},
		{label63 + "a.org", recordName, ""},
		{name253 + "b", recordName, ""},
		{"192.0.2.1", recordName, ""},
		{"x.123", recordName, ""},
		{"a.*.x.org", recordName, ""},
		{"**.x.org", recordName, ""},
		{"*a.x.org", recordName, ""},
		{"x._org", recordName, ""}, // an underscore top-level label
		{"_.x.org", recordName, ""},
		{"_-a.x.org", recordName, ""},
		{"<http://x.org>", recordName, ""}, // no label: the URL is not a name
		{"<mailto:a@x.org|a@x.org>", recordName, ""},
		// the rules
		{"*.x.org", aliasTarget, ""},
		{"_acme.y.org", aliasTarget, "_acme.y.org."},
		{"_acme.y.org", hostTarget, ""},
		{".", serviceTarget, "."},
		{".", hostTarget, ""},
		{"mail.x.org", serviceTarget, "mail.x.org."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, msg := checkDNSName(tt.in, tt.rules)
			if tt.want == "" {
				if msg == "" {
					t.Errorf("checkDNSName(%q) = %q, want refused", tt.in, got)
				}
				return
			}
			if msg != "" || got != tt.want {
				t.Errorf("checkDNSName(%q) = %q, %q; want %q", tt.in, got, msg, tt.want)
			}
		})
	}
}

func TestLookupType(t *testing.T) {
	for _, in := range []string{"A", "aaaa", "Cname", "TXT", "mx", "SRV", "caa", "NS", "ptr", "SshFp", "tlsa"} {
		got, ok := lookupType(in)
		if !ok || got.name != strings.ToUpper(in) {
			t.Errorf("lookupType(%q) = %q, %v", in, got.name, ok)
		}
	}
	for _, in := range []string{"", "SOA", "ANY", "AXFR", "DS", "A6", "HINFO", "DNAME", " A"} {
		if got, ok := lookupType(in); ok {
			t.Errorf("lookupType(%q) = %q, want unknown", in, got.name)
		}
	}
}

// sha256hex is 64 hex digits, as long as a SHA-256 digest.
const sha256hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// TestRecordValue checks each type's value rule through Parse, with the
// value as the parsed command stores it; every type of cs.DNSTypes() must
// have a good and a bad case here.
func TestRecordValue(t *testing.T) {
	tests := []struct {
		typ, in string
		want    string // "" = refused
	}{
		{"A", "192.0.2.1", "192.0.2.1"},
		{"A", "0.0.0.0", "0.0.0.0"},
		{"A", "192.0.2", ""},
		{"A", "192.0.2.01", ""}, // leading zeros are ambiguous (octal)
		{"A", "192.0.2.1/24", ""},
		{"A", "::1", ""},
		{"A", "x.org", ""},
		{"AAAA", "2001:DB8::1", "2001:db8::1"},
		{"AAAA", "2001:db8:0:0:0:0:0:1", "2001:db8::1"},
		{"AAAA", "::1", "::1"},
		{"AAAA", "::ffff:192.0.2.1", ""},
		{"AAAA", "fe80::1%eth0", ""},
		{"AAAA", "192.0.2.1", ""},
		{"AAAA", "2001:db8::g", ""},
		{"CNAME", "Target.X.org", "target.x.org."},
		{"CNAME", "_acme-challenge.y.org.", "_acme-challenge.y.org."},
		{"CNAME", "<http://y.org|y.org>", "y.org."},
		{"CNAME", ".", ""},
		{"CNAME", "192.0.2.1", ""},
		{"NS", "ns1.x.org", "ns1.x.org."},
		{"NS", "_ns.x.org", ""},
		{"MX", "10 mail.x.org", "10 mail.x.org."},
		{"MX", `"10 mail.x.org"`, "10 mail.x.org."},
		{"MX", `“10 mail.x.org”`, "10 mail.x.org."},
		{"MX", "0 .", "0 ."},
		{"MX", "65535 mail.x.org", "65535 mail.x.org."},
		{"MX", "65536 mail.x.org", ""},
		{"MX", "-1 mail.x.org", ""},
		{"MX", "mail.x.org 10", ""},
		{"MX", `"10"`, ""}, // quoted without a space: one field, host missing
		{"SRV", "10 5 5060 sip.x.org", "10 5 5060 sip.x.org."},
		{"SRV", `"0 0 443 ."`, "0 0 443 ."},
		{"SRV", "10 5 99999 sip.x.org", ""},
		{"SRV", `"10 5 5060"`, ""},
		{"CAA", `0 issue "letsencrypt.org"`, `0 issue "letsencrypt.org"`},
		{"CAA", `0 issue letsencrypt.org`, `0 issue "letsencrypt.org"`},
		{"CAA", `0 ISSUE "letsencrypt.org; validationmethods=dns-01"`, `0 issue "letsencrypt.org; validationmethods=dns-01"`},
		{"CAA", `128 issuewild ";"`, `128 issuewild ";"`},
		{"CAA", `0 iodef "mailto:sec@x.org"`, `0 iodef "mailto:sec@x.org"`},
		{"CAA", `0 iodef <mailto:sec@x.org|sec@x.org>`, `0 iodef "sec@x.org"`},
		{"CAA", `0 issue "a\"b"`, `0 issue "a\"b"`},
		{"CAA", `"0 issue \"letsencrypt.org\""`, `0 issue "letsencrypt.org"`},
		{"CAA", `0 issue`, ""},
		{"CAA", `0 "" x`, ""},
		{"CAA", `0 averyveryverylongtag x`, ""},
		{"CAA", `0 issue "` + strings.Repeat("a", 256) + `"`, ""},
		{"TXT", `"v=spf1 -all"`, `"v=spf1 -all"`},
		{"TXT", `v=spf1`, `"v=spf1"`},
		{"TXT", `""`, `""`},
		{"TXT", `"a" "b" "c"`, `"a" "b" "c"`},
		{"TXT", `"quote \" and backslash \\"`, `"quote \" and backslash \\"`},
		{"TXT", `"tab	here"`, `"tab\009here"`},
		{"TXT", `"café"`, `"caf\195\169"`},
		{"TXT", `"` + strings.Repeat("a", 255) + `"`, `"` + strings.Repeat("a", 255) + `"`},
		{"TXT", `"` + strings.Repeat("a", 255) + `" "b"`, `"` + strings.Repeat("a", 255) + `" "b"`},
		{"TXT", `"` + strings.Repeat("é", 128) + `"`, ""}, // 256 bytes
		{"TXT", `"include:<http://_spf.x.org|_spf.x.org> ~all"`, `"include:_spf.x.org ~all"`},
		{"TXT", `"a &lt;b&gt; &amp;amp;"`, `"a <b> &amp;"`},
		{"PTR", "Host.X.org", "host.x.org."},
		{"PTR", "printer._ipp._tcp.x.org.", "printer._ipp._tcp.x.org."}, // DNS-SD
		{"PTR", "<http://host.x.org|host.x.org>", "host.x.org."},
		{"PTR", ".", ""},
		{"PTR", "192.0.2.1", ""},
		{"PTR", "*.x.org", ""},
		{"PTR", "host", ""},
		{"PTR", "host.x.org extra", ""},
		{"SSHFP", "4 2 " + sha256hex, "4 2 " + strings.ToUpper(sha256hex)},
		{"SSHFP", "1 1 " + strings.Repeat("aB", 20), "1 1 " + strings.Repeat("AB", 20)},
		{"SSHFP", `"3 2 ` + sha256hex + `"`, "3 2 " + strings.ToUpper(sha256hex)},
		{"SSHFP", "6 2 " + sha256hex, "6 2 " + strings.ToUpper(sha256hex)},
		{"SSHFP", "0 2 " + sha256hex, ""},            // algorithm 0 is reserved
		{"SSHFP", "4 3 " + sha256hex, ""},            // no fingerprint type 3
		{"SSHFP", "4 2 " + sha256hex[:62], ""},       // too short for SHA-256
		{"SSHFP", "4 1 " + sha256hex, ""},            // too long for SHA-1
		{"SSHFP", "4 2 " + sha256hex[:63] + "g", ""}, // not hex
		{"SSHFP", "4 2", ""},                         // no fingerprint
		{"SSHFP", "ssh-ed25519 2 " + sha256hex, ""},  // the algorithm is a number
		{"TLSA", "3 1 1 " + sha256hex, "3 1 1 " + strings.ToUpper(sha256hex)},
		{"TLSA", "2 0 2 " + sha256hex + sha256hex, "2 0 2 " + strings.ToUpper(sha256hex+sha256hex)},
		{"TLSA", "3 0 0 3082010a", "3 0 0 3082010A"}, // full data, any length
		{"TLSA", `"3 1 1 ` + sha256hex + `"`, "3 1 1 " + strings.ToUpper(sha256hex)},
		{"TLSA", "4 1 1 " + sha256hex, ""},      // no usage 4
		{"TLSA", "3 2 1 " + sha256hex, ""},      // no selector 2
		{"TLSA", "3 1 3 " + sha256hex, ""},      // no matching type 3
		{"TLSA", "3 1 1 " + sha256hex[:60], ""}, // too short for SHA-256
		{"TLSA", "3 1 2 " + sha256hex, ""},      // too short for SHA-512
		{"TLSA", "3 0 0 abc", ""},               // odd number of hex digits
		{"TLSA", "3 0 0 " + strings.Repeat("00", maxHexData+1), ""},
		{"TLSA", "3 1 1", ""},
	}
	for _, tt := range tests {
		in := "dns set x.org " + tt.typ + " " + tt.in
		t.Run(in, func(t *testing.T) {
			c, err := Parse(in)
			if tt.want == "" {
				if err == nil {
					t.Errorf("Parse(%q) = %#v, want refused", in, c)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", in, err)
			}
			if got := c.(DNSSet).Value; got != tt.want {
				t.Errorf("Value = %s, want %s", got, tt.want)
			}
			// The same value deletes the same record.
			d, err := Parse("dns delete x.org " + tt.typ + " " + tt.in)
			if err != nil {
				t.Fatalf("delete: %v", err)
			}
			if got := d.(DNSDelete).Value; got != tt.want {
				t.Errorf("delete Value = %s, want %s", got, tt.want)
			}
			// And adds it.
			if tt.typ == "CNAME" {
				return
			}
			ad, err := Parse("dns add x.org " + tt.typ + " " + tt.in)
			if err != nil {
				t.Fatalf("add: %v", err)
			}
			if got := ad.(DNSAdd).Value; got != tt.want {
				t.Errorf("add Value = %s, want %s", got, tt.want)
			}
		})
	}
	good, bad := map[string]bool{}, map[string]bool{}
	for _, tt := range tests {
		if tt.want == "" {
			bad[tt.typ] = true
		} else {
			good[tt.typ] = true
		}
	}
	for _, typ := range cs.DNSTypes() {
		if !good[typ] || !bad[typ] {
			t.Errorf("%s: want at least one good and one bad value here (good %v, bad %v)", typ, good[typ], bad[typ])
		}
	}
}

// TestRRTypes_OneList checks the parser knows every type of the one list,
// cs.DNSTypes(), in its order, and no other.
func TestRRTypes_OneList(t *testing.T) {
	var got []string
	for _, rt := range rrTypes() {
		got = append(got, rt.name)
		if rt.shape == "" {
			t.Errorf("%s: no shape for messages and help", rt.name)
		}
		if (rt.fields == nil) != (rt.name == "TXT") {
			t.Errorf("%s: fields %v", rt.name, rt.fields)
		}
	}
	if want := cs.DNSTypes(); !slices.Equal(got, want) {
		t.Errorf("rrTypes() = %q, want cs.DNSTypes() %q", got, want)
	}
	for _, typ := range []string{"SOA", "HINFO", "DS"} {
		if _, ok := valueRules(typ); ok {
			t.Errorf("valueRules(%q): rules for a type not in cs.DNSTypes()", typ)
		}
	}
	help := HelpText("dns set")
	for _, typ := range cs.DNSTypes() {
		if !strings.Contains(help, "\n  "+typ+" ") {
			t.Errorf("help of dns set does not list %s:\n%s", typ, help)
		}
		if !strings.Contains(typeNames(), typ) {
			t.Errorf("typeNames() %q lacks %s", typeNames(), typ)
		}
	}
}

func TestTTL(t *testing.T) {
	for in, want := range map[string]uint32{"1": 1, "300": 300, "604800": 604800} {
		c, err := Parse("dns set x.org A 192.0.2.1 " + in)
		if err != nil {
			t.Errorf("TTL %s: %v", in, err)
			continue
		}
		if got := c.(DNSSet).TTL; got != want {
			t.Errorf("TTL %s = %d, want %d", in, got, want)
		}
	}
	for _, in := range []string{"0", "604801", "4294967296", "-1", "1h", "1e3", "3.5"} {
		pe := parseErr(t, "dns set x.org A 192.0.2.1 "+in)
		if pe.Token != in || pe.Arg != "ttl" || !strings.Contains(pe.Message, "1 to 604800") {
			t.Errorf("TTL %s: %#v", in, pe)
		}
	}
}

func TestQuoteString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain text", `"plain text"`},
		{`"`, `"\""`},
		{`\`, `"\\"`},
		{"\x00\x1f\x7f\xff", `"\000\031\127\255"`},
		{"~ ", `"~ "`},
	}
	for _, tt := range tests {
		if got := quoteString(tt.in); got != tt.want {
			t.Errorf("quoteString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestSlackText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"<http://x.org|x.org>", "x.org"},
		{"<HTTPS://x.org/a?b=c|x.org/a>", "x.org/a"},
		{"<https://x.org/>", "https://x.org/"},
		{"<mailto:a@x.org|a@x.org>", "a@x.org"},
		{"see <http://a.org|a.org> and <http://b.org|b.org>!", "see a.org and b.org!"},
		{"<@U123> <#C1|ops> <!here>", "<@U123> <#C1|ops> <!here>"},
		{"a < b", "a < b"},
		{"<unclosed http://x.org", "<unclosed http://x.org"},
		{"&lt;http://x.org|x&gt;", "<http://x.org|x>"}, // typed, not a link
		{"&amp;lt;", "&lt;"},
	}
	for _, tt := range tests {
		if got := slackText(tt.in); got != tt.want {
			t.Errorf("slackText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
