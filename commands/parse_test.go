package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func TestParse_Good(t *testing.T) {
	tests := []struct {
		in   string
		want Command
	}{
		// deploy
		{"deploy www", Deploy{Service: "www"}},
		{"/cs deploy www", Deploy{Service: "www"}},
		{"/CS   DEPLOY www", Deploy{Service: "www"}},
		{"  deploy\twww  ", Deploy{Service: "www"}},
		{"deploy ocaml-ci_web 3f2a9c1", Deploy{Service: "ocaml-ci_web", Ref: "3f2a9c1"}},
		{"deploy www 3F2A9C1D", Deploy{Service: "www", Ref: "3f2a9c1d"}},
		{"deploy www " + strings.Repeat("a", 40), Deploy{Service: "www", Ref: strings.Repeat("a", 40)}},
		{"deploy www " + digest, Deploy{Service: "www", Ref: digest}},
		{"deploy www " + strings.ToUpper(digest), Deploy{Service: "www", Ref: digest}},
		{"deploy www --break-glass outage in #ops", Deploy{Service: "www", BreakGlass: "outage in #ops"}},
		{"deploy www 3f2a9c1 --break-glass  fix\n now", Deploy{Service: "www", Ref: "3f2a9c1", BreakGlass: "fix now"}},
		{"deploy www —break-glass smart dash", Deploy{Service: "www", BreakGlass: "smart dash"}},
		{"deploy www --BREAK-GLASS loud", Deploy{Service: "www", BreakGlass: "loud"}},
		{`deploy www --break-glass "quoted reason"`, Deploy{Service: "www", BreakGlass: "quoted reason"}},
		{`deploy www --break-glass it's 5" long`, Deploy{Service: "www", BreakGlass: `it's 5" long`}},
		{`deploy "www"`, Deploy{Service: "www"}},
		{`deploy “www”`, Deploy{Service: "www"}},
		// rollback
		{"rollback www", Rollback{Service: "www"}},
		{"rollback www to R40", Rollback{Service: "www", To: "R40"}},
		{"rollback www TO r40", Rollback{Service: "www", To: "R40"}},
		{"rollback www R40", Rollback{Service: "www", To: "R40"}},
		{"rollback www to R40 --break-glass bad deploy", Rollback{Service: "www", To: "R40", BreakGlass: "bad deploy"}},
		{"rollback www --break-glass bad deploy", Rollback{Service: "www", BreakGlass: "bad deploy"}},
		// scale
		{"scale www 3", Scale{Service: "www", Replicas: 3}},
		{"scale www 0", Scale{Service: "www", Replicas: 0}},
		{"scale www 1000", Scale{Service: "www", Replicas: MaxReplicas}},
		{"scale www 007", Scale{Service: "www", Replicas: 7}},
		{"Scale www 2 --break-glass load spike", Scale{Service: "www", Replicas: 2, BreakGlass: "load spike"}},
		// dns set
		{"dns set ci.mirageos.org A 128.232.124.253 10800", DNSSet{Name: "ci.mirageos.org.", Type: "A", Value: "128.232.124.253", TTL: 10800}},
		{"DNS SET CI.MirageOS.org. a 128.232.124.253", DNSSet{Name: "ci.mirageos.org.", Type: "A", Value: "128.232.124.253"}},
		{"dns set x.org AAAA 2001:DB8:0:0::1", DNSSet{Name: "x.org.", Type: "AAAA", Value: "2001:db8::1"}},
		{"dns set www.x.org CNAME X.org", DNSSet{Name: "www.x.org.", Type: "CNAME", Value: "x.org."}},
		{"dns set x.org NS ns1.x.org. 86400", DNSSet{Name: "x.org.", Type: "NS", Value: "ns1.x.org.", TTL: 86400}},
		{"dns set x.org MX 10 mail.x.org", DNSSet{Name: "x.org.", Type: "MX", Value: "10 mail.x.org."}},
		{"dns set x.org MX 10 mail.x.org 300", DNSSet{Name: "x.org.", Type: "MX", Value: "10 mail.x.org.", TTL: 300}},
		{`dns set x.org MX "10 mail.x.org" 300`, DNSSet{Name: "x.org.", Type: "MX", Value: "10 mail.x.org.", TTL: 300}},
		{"dns set x.org MX 0 .", DNSSet{Name: "x.org.", Type: "MX", Value: "0 ."}},
		{"dns set _sip._tcp.x.org SRV 10 5 5060 sip.x.org", DNSSet{Name: "_sip._tcp.x.org.", Type: "SRV", Value: "10 5 5060 sip.x.org."}},
		{`dns set _sip._tcp.x.org SRV "10 5 5060 sip.x.org"`, DNSSet{Name: "_sip._tcp.x.org.", Type: "SRV", Value: "10 5 5060 sip.x.org."}},
		{`dns set x.org CAA 0 issue "letsencrypt.org"`, DNSSet{Name: "x.org.", Type: "CAA", Value: `0 issue "letsencrypt.org"`}},
		{`dns set x.org CAA 128 ISSUEWILD ";" 3600`, DNSSet{Name: "x.org.", Type: "CAA", Value: `128 issuewild ";"`, TTL: 3600}},
		{`dns set x.org CAA "0 issue \"letsencrypt.org\""`, DNSSet{Name: "x.org.", Type: "CAA", Value: `0 issue "letsencrypt.org"`}},
		{`dns set x.org CAA 0 iodef "<mailto:sec@x.org|mailto:sec@x.org>"`, DNSSet{Name: "x.org.", Type: "CAA", Value: `0 iodef "mailto:sec@x.org"`}},
		{`dns set x.org TXT "v=spf1 -all"`, DNSSet{Name: "x.org.", Type: "TXT", Value: `"v=spf1 -all"`}},
		{`dns set x.org TXT "a b" "c\"d" 300`, DNSSet{Name: "x.org.", Type: "TXT", Value: `"a b" "c\"d"`, TTL: 300}},
		{`dns set x.org TXT “smart quoted”`, DNSSet{Name: "x.org.", Type: "TXT", Value: `"smart quoted"`}},
		{"dns set _acme-challenge.x.org TXT gfj9Xq-Rkw 60", DNSSet{Name: "_acme-challenge.x.org.", Type: "TXT", Value: `"gfj9Xq-Rkw"`, TTL: 60}},
		{"dns set x.org TXT 300", DNSSet{Name: "x.org.", Type: "TXT", Value: `"300"`}},
		{`dns set x.org TXT "a &amp; b &lt;c&gt;"`, DNSSet{Name: "x.org.", Type: "TXT", Value: `"a & b <c>"`}},
		{"dns set *.x.org A 192.0.2.1", DNSSet{Name: "*.x.org.", Type: "A", Value: "192.0.2.1"}},
		{"dns set <http://ci.mirageos.org|ci.mirageos.org> A 192.0.2.1", DNSSet{Name: "ci.mirageos.org.", Type: "A", Value: "192.0.2.1"}},
		{"dns set x.org A 192.0.2.1 60 --break-glass freeze fix", DNSSet{Name: "x.org.", Type: "A", Value: "192.0.2.1", TTL: 60, BreakGlass: "freeze fix"}},
		{"dns set 10.2.0.192.in-addr.arpa PTR Host.X.org", DNSSet{Name: "10.2.0.192.in-addr.arpa.", Type: "PTR", Value: "host.x.org."}},
		{"dns set host.x.org SSHFP 4 2 " + sha256hex + " 3600", DNSSet{Name: "host.x.org.", Type: "SSHFP", Value: "4 2 " + strings.ToUpper(sha256hex), TTL: 3600}},
		{"dns set _443._tcp.www.x.org TLSA 3 1 1 " + sha256hex, DNSSet{Name: "_443._tcp.www.x.org.", Type: "TLSA", Value: "3 1 1 " + strings.ToUpper(sha256hex)}},
		// dns add
		{"dns add x.org MX 20 mail2.x.org", DNSAdd{Name: "x.org.", Type: "MX", Value: "20 mail2.x.org."}},
		{`dns add x.org MX "20 mail2.x.org" 300`, DNSAdd{Name: "x.org.", Type: "MX", Value: "20 mail2.x.org.", TTL: 300}},
		{`DNS ADD X.org txt "google-site-verification=abc" "more"`, DNSAdd{Name: "x.org.", Type: "TXT", Value: `"google-site-verification=abc" "more"`}},
		{"dns add x.org TXT word 60", DNSAdd{Name: "x.org.", Type: "TXT", Value: `"word"`, TTL: 60}},
		{"dns add ci.x.org A 192.0.2.2 10800", DNSAdd{Name: "ci.x.org.", Type: "A", Value: "192.0.2.2", TTL: 10800}},
		{"dns add x.org NS ns2.x.org", DNSAdd{Name: "x.org.", Type: "NS", Value: "ns2.x.org."}},
		{"dns add _sip._tcp.x.org SRV 20 5 5060 sip2.x.org", DNSAdd{Name: "_sip._tcp.x.org.", Type: "SRV", Value: "20 5 5060 sip2.x.org."}},
		{`dns add x.org CAA 0 issuewild ";"`, DNSAdd{Name: "x.org.", Type: "CAA", Value: `0 issuewild ";"`}},
		{"dns add host.x.org SSHFP 1 1 " + strings.Repeat("ab", 20), DNSAdd{Name: "host.x.org.", Type: "SSHFP", Value: "1 1 " + strings.Repeat("AB", 20)}},
		{"dns add x.org AAAA 2001:db8::2 --break-glass second address", DNSAdd{Name: "x.org.", Type: "AAAA", Value: "2001:db8::2", BreakGlass: "second address"}},
		// dns delete
		{"dns delete x.org A", DNSDelete{Name: "x.org.", Type: "A"}},
		{"dns delete x.org A 192.0.2.1", DNSDelete{Name: "x.org.", Type: "A", Value: "192.0.2.1"}},
		{`dns delete x.org TXT "v=spf1 -all"`, DNSDelete{Name: "x.org.", Type: "TXT", Value: `"v=spf1 -all"`}},
		{"dns delete x.org MX 10 mail.x.org --break-glass spam", DNSDelete{Name: "x.org.", Type: "MX", Value: "10 mail.x.org.", BreakGlass: "spam"}},
		{"dns delete x.org cname --break-glass x", DNSDelete{Name: "x.org.", Type: "CNAME", BreakGlass: "x"}},
		// dns show
		{"dns show x.org", DNSShow{Name: "x.org."}},
		{"dns show x.org mx", DNSShow{Name: "x.org.", Type: "MX"}},
		{"dns show <http://x.org|x.org>", DNSShow{Name: "x.org."}},
		// lock, unlock
		{"lock www db migration until 15:00", Lock{Service: "www", Reason: "db migration until 15:00"}},
		{`lock www "db migration"`, Lock{Service: "www", Reason: "db migration"}},
		{`lock www the "big" one`, Lock{Service: "www", Reason: `the "big" one`}},
		{`lock www 5" screen`, Lock{Service: "www", Reason: `5" screen`}},
		{"lock www see <https://x.org/1|x.org/1> &amp; ask <@U123>", Lock{Service: "www", Reason: "see <https://x.org/1|x.org/1> &amp; ask <@U123>"}},
		{"unlock www", Unlock{Service: "www"}},
		{"adopt www", Adopt{Service: "www"}},
		{"ADOPT api_2", Adopt{Service: "api_2"}},
		// status
		{"status", Status{}},
		{"status www", Status{Service: "www"}},
		// audit
		{"audit", Audit{Since: 24 * time.Hour}},
		{"audit www", Audit{Service: "www", Since: 24 * time.Hour}},
		{"audit anchor", AuditAnchor{}},
		{"audit @U123ABC", Audit{User: "U123ABC", Since: 24 * time.Hour}},
		{"audit <@U123ABC>", Audit{User: "U123ABC", Since: 24 * time.Hour}},
		{"audit <@W123ABC|bob> since 7d", Audit{User: "W123ABC", Since: 7 * 24 * time.Hour}},
		{"audit www since 24h", Audit{Service: "www", Since: 24 * time.Hour}},
		{"audit since 7d", Audit{Since: 7 * 24 * time.Hour}},
		{"audit since 90m", Audit{Since: 90 * time.Minute}},
		{"audit SINCE 2H", Audit{Since: 2 * time.Hour}},
		// policy explain
		{"policy explain deploy www", PolicyExplain{Action: "deploy", Target: "www"}},
		{"policy show", PolicyShow{}},
		{"POLICY Show", PolicyShow{}},
		{"config reload", ConfigReload{}},
		{"/cs Config RELOAD", ConfigReload{}},
		{"policy explain deploy www @U123", PolicyExplain{Action: "deploy", Target: "www", User: "U123"}},
		{"POLICY EXPLAIN Scale www <@U01OPS1|alice>", PolicyExplain{Action: "scale", Target: "www", User: "U01OPS1"}},
		{"policy explain dns CI.mirageos.org", PolicyExplain{Action: "dns", Target: "ci.mirageos.org."}},
		{"policy explain deploy www --break-glass freeze", PolicyExplain{Action: "deploy", Target: "www", BreakGlass: "freeze"}},
		{"policy explain unlock www @U123 --break-glass x", PolicyExplain{Action: "unlock", Target: "www", User: "U123", BreakGlass: "x"}},
		// help
		{"help", Help{}},
		{"HELP Deploy", Help{Topic: "deploy"}},
		{"help dns", Help{Topic: "dns"}},
		{"help dns set", Help{Topic: "dns set"}},
		{"help policy", Help{Topic: "policy explain"}},
		{"help policy explain", Help{Topic: "policy explain"}},
		// approve, deny
		{"approve R42", Approve{ID: "R42"}},
		{"approve r7", Approve{ID: "R7"}},
		{"deny R42 not during the demo", Deny{ID: "R42", Reason: "not during the demo"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
			if _, ok := lookupDoc(got.Verb()); !ok {
				t.Errorf("Verb() = %q, not a documented verb", got.Verb())
			}
		})
	}
}

// parseErr parses in, which must fail, and returns the *ParseError.
func parseErr(t *testing.T, in string) *ParseError {
	t.Helper()
	c, err := Parse(in)
	if err == nil {
		t.Fatalf("Parse(%q) = %#v, want an error", in, c)
	}
	if c != nil {
		t.Errorf("Parse(%q) returned a command with its error: %#v", in, c)
	}
	pe, ok := errors.AsType[*ParseError](err)
	if !ok {
		t.Fatalf("Parse(%q) error %T %v, want *ParseError", in, err, err)
	}
	return pe
}

func TestParse_Errors(t *testing.T) {
	tests := []struct {
		in    string
		token string // the ParseError's Token
		usage string // the verb whose usage the error must show; "" for none
		msg   string // a piece of the message
	}{
		// the line and the verb
		{"", "", "", "deploy, rollback, scale, dns, lock, unlock, adopt, status, audit, policy, help, approve, deny"},
		{"   ", "", "", "empty command"},
		{"/cs", "", "", "empty command"},
		{"frobnicate www", "frobnicate", "", `"help"`},
		{"deply www", "deply", "", `did you mean "deploy"`},
		{"/csdeploy www", "/csdeploy", "", "unknown command"},
		{`"deploy www`, `"deploy www`, "", "unterminated quote"},
		{"deploy www\x00", "\x00", "", "control character U+0000"},
		{"deploy www \u202e", "\u202e", "", "U+202E"},
		{"deploy www " + strings.Repeat("a", MaxInputBytes), "", "", "too long"},
		{"deploy \xff", "", "", "UTF-8"},
		// deploy
		{"deploy", "", "deploy", "missing SERVICE"},
		{"deploy www;ls", "www;ls", "deploy", "not a service name"},
		{"deploy 'www'", "'www'", "deploy", "not a service name"},
		{"deploy ../etc", "../etc", "deploy", "not a service name"},
		{`deploy "w w"`, "w w", "deploy", "not a service name"},
		{"deploy $(reboot)", "$(reboot)", "deploy", "not a service name"},
		{"deploy " + strings.Repeat("a", 64), strings.Repeat("a", 64), "deploy", "longer than 63"},
		{"deploy www main", "main", "deploy", "never deployed"},
		{"deploy www v1.2.3", "v1.2.3", "deploy", "never deployed"},
		{"deploy www abc12", "abc12", "deploy", "7 to 40"},
		{"deploy www " + strings.Repeat("a", 41), strings.Repeat("a", 41), "deploy", "7 to 40"},
		{"deploy www sha256:abc", "sha256:abc", "deploy", "64 hex"},
		{"deploy www 3f2a9c1 extra", "extra", "deploy", "unexpected extra argument"},
		{"deploy www --break-glass", "--break-glass", "deploy", "needs a reason"},
		{"deploy www --break-glass   ", "--break-glass", "deploy", "needs a reason"},
		{"deploy www --force", "--force", "deploy", "unknown option"},
		{"deploy --break-glass x", "", "deploy", "missing SERVICE"},
		{`deploy www"`, `www"`, "deploy", "quote inside a word"},
		{`deploy "www"x`, `"www"x`, "deploy", "after a closing quote"},
		// rollback
		{"rollback", "", "rollback", "missing SERVICE"},
		{"rollback www to", "", "rollback", "missing DEPLOYMENT"},
		{"rollback www to 40", "40", "rollback", "not a request ID"},
		{"rollback www yesterday", "yesterday", "rollback", "not a request ID"},
		{"rollback www to R40 R41", "R41", "rollback", "unexpected extra argument"},
		// scale
		{"scale www", "", "scale", "missing REPLICAS"},
		{"scale", "", "scale", "missing SERVICE"},
		{"scale www abc", "abc", "scale", "not a whole number"},
		{"scale www 1.5", "1.5", "scale", "not a whole number"},
		{"scale www +3", "+3", "scale", "not a whole number"},
		{"scale www -1", "-1", "scale", "out of range"},
		{"scale www 1001", "1001", "scale", "out of range"},
		{"scale www 99999999999999999999999", "99999999999999999999999", "scale", "out of range"},
		{"scale www 3 4", "4", "scale", "unexpected extra argument"},
		// dns
		{"dns", "", "dns", "dns set, dns add, dns delete or dns show"},
		{"dns ad x.org", "ad", "dns", `did you mean "dns add"`},
		{"dns frob x.org", "frob", "dns", "unknown dns command"},
		{"dns sett x.org", "sett", "dns", `did you mean "dns set"`},
		{"dns set", "", "dns set", "missing NAME"},
		{"dns set x.org", "", "dns set", "missing TYPE"},
		{"dns set x.org A", "", "dns set", "missing VALUE"},
		{"dns set x.org SOA ns1.x.org", "SOA", "dns set", "A, AAAA, CNAME, TXT, MX, SRV, CAA, NS, PTR, SSHFP, TLSA"},
		{"dns set x.org PTR 192.0.2.1", "192.0.2.1", "dns set", "all digits"},
		{"dns set x.org SSHFP 4 2 abc", "abc", "dns set", "even number"},
		{"dns set x.org SSHFP 4 2 " + sha256hex[:40], sha256hex[:40], "dns set", "a SHA-256 fingerprint (type 2) is 64"},
		{"dns set x.org SSHFP 4 9 " + sha256hex, "9", "dns set", "want fingerprint type 1 to 2 (1 SHA-1, 2 SHA-256)"},
		{"dns set x.org SSHFP 4 2", "", "dns set", "missing SSHFP fingerprint"},
		{"dns set x.org TLSA 3 1 1 xyz", "xyz", "dns set", "not hex"},
		{"dns set x.org TLSA 3 1 2 " + sha256hex, sha256hex, "dns set", "a SHA-512 digest (matching type 2) is 128"},
		{"dns set x.org TLSA 5 1 1 " + sha256hex, "5", "dns set", "want usage 0 to 3 (0 PKIX-TA"},
		{`dns set x.org TLSA "3 1 1"`, "3 1 1", "dns set", "want 4 parts"},
		{"dns set a..b A 192.0.2.1", "a..b", "dns set", "empty label"},
		{"dns set 192.0.2.1 A 192.0.2.1", "192.0.2.1", "dns set", "all digits"},
		{"dns set x.org A 192.0.2.256", "192.0.2.256", "dns set", "not an IPv4"},
		{"dns set x.org A 2001:db8::1", "2001:db8::1", "dns set", "use an AAAA"},
		{"dns set x.org AAAA 192.0.2.1", "192.0.2.1", "dns set", "use an A record"},
		{"dns set x.org AAAA ::ffff:192.0.2.1", "::ffff:192.0.2.1", "dns set", "IPv4-mapped"},
		{"dns set x.org AAAA fe80::1%eth0", "fe80::1%eth0", "dns set", "zone"},
		{"dns set x.org CNAME *.y.org", "*.y.org", "dns set", "wildcard"},
		{"dns set x.org A 192.0.2.1 0", "0", "dns set", "1 to 604800"},
		{"dns set x.org A 192.0.2.1 604801", "604801", "dns set", "1 to 604800"},
		{"dns set x.org A 192.0.2.1 1h", "1h", "dns set", "1 to 604800"},
		{"dns set x.org A 192.0.2.1 60 61", "61", "dns set", "unexpected extra argument"},
		{"dns set x.org MX mail.x.org", "mail.x.org", "dns set", "preference"},
		{"dns set x.org MX 10", "", "dns set", "missing MX host"},
		{"dns set x.org MX 70000 mail.x.org", "70000", "dns set", "0 to 65535"},
		{`dns set x.org MX "10 mail.x.org extra"`, "10 mail.x.org extra", "dns set", "want 2 parts"},
		{"dns set x.org SRV 10 5 5060", "", "dns set", "missing SRV target"},
		{"dns set x.org SRV 10 5 http sip.x.org", "http", "dns set", "port"},
		{"dns set x.org CAA 0 is-sue x", "is-sue", "dns set", "CAA tag"},
		{"dns set x.org CAA 256 issue x", "256", "dns set", "0 to 255"},
		{"dns set x.org TXT hello world", "world", "dns set", `must be in "quotes"`},
		{`dns set x.org TXT "` + strings.Repeat("a", 256) + `"`, strings.Repeat("a", 256), "dns set", "at most 255"},
		{`dns set x.org TXT "unterminated`, `"unterminated`, "dns set", "unterminated quote"},
		{"dns set x.org A 192.0.2.1 --break-glass", "--break-glass", "dns set", "needs a reason"},
		{"dns add", "", "dns add", "missing NAME"},
		{"dns add x.org", "", "dns add", "missing TYPE"},
		{"dns add x.org MX", "", "dns add", "missing VALUE: for MX"},
		{"dns add x.org MX 20", "", "dns add", "missing MX host"},
		{"dns add x.org cname y.org", "cname", "dns add", "at most one CNAME record: use dns set"},
		{"dns add x.org SOA x", "SOA", "dns add", "not a record type the bot changes"},
		{"dns add x.org A 192.0.2.300", "192.0.2.300", "dns add", "not an IPv4"},
		{"dns add x.org A 192.0.2.1 0", "0", "dns add", "1 to 604800"},
		{"dns add x.org A 192.0.2.1 60 61", "61", "dns add", "unexpected extra argument"},
		{"dns add x.org TXT hello world", "world", "dns add", `must be in "quotes"`},
		{"dns add a..b A 192.0.2.1", "a..b", "dns add", "empty label"},
		{"dns add x.org A 192.0.2.1 --break-glass", "--break-glass", "dns add", "needs a reason"},
		{"dns add x.org A 192.0.2.1 --force", "--force", "dns add", "unknown option"},
		{"dns delete x.org", "", "dns delete", "missing TYPE"},
		{"dns delete x.org A 192.0.2.1 300", "300", "dns delete", "unexpected extra argument"},
		{"dns delete x.org TXT a b", "b", "dns delete", `"quotes"`},
		{"dns delete -x.org A", "-x.org", "dns delete", "hyphen"},
		{"dns show", "", "dns show", "missing NAME"},
		{"dns show x.org MX extra", "extra", "dns show", "unexpected extra argument"},
		{"dns show x.org BOGUS", "BOGUS", "dns show", "not a record type"},
		{"dns show x.org --break-glass x", "--break-glass", "dns show", "may only end"},
		// lock, unlock
		{"lock", "", "lock", "missing SERVICE"},
		{"lock www", "", "lock", "missing REASON"},
		{"lock www   ", "", "lock", "missing REASON"},
		{"lock www --break-glass why", "--break-glass", "lock", "may only end"},
		{"lock w/x reason", "w/x", "lock", "not a service name"},
		{"unlock", "", "unlock", "missing SERVICE"},
		{"unlock www now", "now", "unlock", "unexpected extra argument"},
		{"adopt", "", "adopt", "missing SERVICE"},
		{"adopt www now", "now", "adopt", "unexpected extra argument"},
		// status
		{"status www extra", "extra", "status", "unexpected extra argument"},
		{"status w*", "w*", "status", "not a service name"},
		{"status --verbose", "--verbose", "status", "unknown option"},
		// audit
		{"audit since", "", "audit", "missing DURATION"},
		{"audit since 0h", "0h", "audit", "more than zero"},
		{"audit since 7w", "7w", "audit", "m, h or d"},
		{"audit since 24", "24", "audit", "m, h or d"},
		{"audit since 9999999d", "9999999d", "audit", "too far back"},
		{"audit www 7d", "7d", "audit", `"since DURATION"`},
		{"audit www @U123 since 1d", "@U123", "audit", `"since DURATION"`},
		{"audit since 1d www", "www", "audit", "unexpected extra argument"},
		{"audit @bob", "@bob", "audit", "Slack user ID"},
		{"audit <@U1>", "<@U1>", "audit", "Slack user ID"},
		{"audit w.w", "w.w", "audit", "not a service name"},
		// policy explain
		{"policy", "", "policy explain", `missing "explain"`},
		{"policy frob deploy www", "frob", "policy explain", "policy show"},
		{"policy show deploy www", "deploy", "policy show", "extra argument"},
		{"config", "", "config reload", "config reload"},
		{"config check", "check", "config reload", "config reload"},
		{"config reload now", "now", "config reload", "extra argument"},
		{"policy explain", "", "policy explain", "missing ACTION"},
		{"policy explain frob www", "frob", "policy explain", "deploy, rollback, scale, dns, lock, unlock"},
		{"policy explain deploy", "", "policy explain", "missing TARGET"},
		{"policy explain deploy x.org", "x.org", "policy explain", "not a service name"},
		{"policy explain dns www", "www", "policy explain", "fully qualified"},
		{"policy explain deploy www bob", "bob", "policy explain", "not a user"},
		{"policy explain deploy www @U123 @U456", "@U456", "policy explain", "unexpected extra argument"},
		{"policy explain deploy www --break-glass", "--break-glass", "policy explain", "needs a reason"},
		// help
		{"help frob", "frob", "help", "unknown command"},
		{"help deplyo", "deplyo", "help", `did you mean "help deploy"`},
		{"help deploy www", "www", "help", "unexpected extra argument"},
		{"help dns set x", "x", "help", "unexpected extra argument"},
		// approve, deny
		{"approve", "", "approve", "missing REQUEST"},
		{"approve 42", "42", "approve", "not a request ID"},
		{"approve R0", "R0", "approve", "not a request ID"},
		{"approve R42 R43", "R43", "approve", "unexpected extra argument"},
		{"deny", "", "deny", "missing REQUEST"},
		{"deny R42", "", "deny", "missing REASON"},
		{"deny x too late", "x", "deny", "not a request ID"},
		{"deny R42 --break-glass no", "--break-glass", "deny", "may only end"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			pe := parseErr(t, tt.in)
			if pe.Token != tt.token {
				t.Errorf("Token = %q, want %q", pe.Token, tt.token)
			}
			if !strings.Contains(pe.Message, tt.msg) {
				t.Errorf("Message = %q, want it to contain %q", pe.Message, tt.msg)
			}
			if tt.usage == "" {
				if pe.Usage != "" {
					t.Errorf("Usage = %q, want none", pe.Usage)
				}
				return
			}
			want := Usage(tt.usage)
			if want == "" || pe.Usage != want {
				t.Errorf("Usage = %q, want %q", pe.Usage, want)
			}
			if !strings.Contains(pe.Error(), strings.ReplaceAll(want, "\n", " | ")) {
				t.Errorf("Error() = %q does not show the usage %q", pe.Error(), want)
			}
			if pe.Token != "" && !strings.Contains(pe.Error(), shorten(pe.Token)) && !strings.ContainsAny(pe.Token, "\"\\\x00\u202e") {
				t.Errorf("Error() = %q does not name the token %q", pe.Error(), pe.Token)
			}
		})
	}
}

// TestParse_ValueNotPointer pins that commands are returned as values, as
// the doc of Parse promises callers switching on the types.
func TestParse_ValueNotPointer(t *testing.T) {
	c, err := Parse("deploy www")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(Deploy); !ok {
		t.Errorf("Parse returned %T, want commands.Deploy", c)
	}
}

func TestParse_MaxInput(t *testing.T) {
	// Exactly at the limit is fine; one byte more is not.
	reason := strings.Repeat("x", MaxInputBytes-len("lock www "))
	if _, err := Parse("lock www " + reason); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	pe := parseErr(t, "lock www "+reason+"x")
	if !strings.Contains(pe.Message, "4001 bytes") {
		t.Errorf("Message = %q, want the size", pe.Message)
	}
}
