package dns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/commands"
	"github.com/countersign/countersign/executors/dns/bindtest"
	"github.com/miekg/dns"
)

const (
	hex20 = "0123456789abcdef0123456789abcdef01234567"
	hex32 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
)

// TestTypes_OneList: the executor allows exactly the types of the one
// list, cs.DNSTypes(), by default cs.DefaultDNSTypes(), and looks for
// every one of them beside a CNAME.
func TestTypes_OneList(t *testing.T) {
	z := Zone{Name: "example.org", Server: "192.0.2.53:53", Key: "k.", Secret: cs.NewSecret("c2VjcmV0")}
	e, err := New(z, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Types(), cs.DefaultDNSTypes(); !slices.Equal(got, want) {
		t.Errorf("default Types: got %q, want %q", got, want)
	}
	z.Types = cs.DNSTypes()
	if e, err = New(z, Options{}); err != nil {
		t.Fatalf("New with every type of cs.DNSTypes(): %v", err)
	}
	if got, want := e.Types(), cs.DNSTypes(); !slices.Equal(got, want) {
		t.Errorf("Types: got %q, want %q", got, want)
	}
	for _, typ := range []string{"SOA", "ANY", "HINFO", "DNAME", "DS"} {
		z.Types = []string{"A", typ}
		if _, err := New(z, Options{}); err == nil || !strings.Contains(err.Error(), "want some of "+strings.Join(cs.DNSTypes(), ", ")) {
			t.Errorf("New with %s: got %v, want it refused listing cs.DNSTypes()", typ, err)
		}
	}
	conflicts := conflictsOf("CNAME")
	for _, typ := range cs.DNSTypes() {
		if typ != "CNAME" && !slices.Contains(conflicts, typ) {
			t.Errorf("a CNAME may be set beside %s records: conflictsOf(CNAME) = %q", typ, conflicts)
		}
	}
}

// TestParseRecord_everyType checks the executor's own check of every
// type's value (a stored request is data); each type of cs.DNSTypes()
// needs a good and a bad value here.
func TestParseRecord_everyType(t *testing.T) {
	tests := []struct {
		typ, value string
		want       string // canonical value; "" = refused
	}{
		{"A", "192.0.2.1", "192.0.2.1"},
		{"A", "192.0.2.1.5", ""},
		{"AAAA", "2001:DB8::1", "2001:db8::1"},
		{"AAAA", "::ffff:192.0.2.1", ""},
		{"CNAME", "WWW.example.test.", "www.example.test."},
		{"CNAME", "www", ""},
		{"TXT", `"a" "b"`, `"a" "b"`},
		{"TXT", "a", ""},
		{"MX", "10 Mail.Example.Test.", "10 mail.example.test."},
		{"MX", "10", ""},
		{"SRV", "0 0 443 .", "0 0 443 ."},
		{"SRV", "0 0 443", ""},
		{"CAA", `0 issue "x.org"`, `0 issue "x.org"`},
		{"CAA", `0 issue`, ""},
		{"NS", "NS1.Example.Test.", "ns1.example.test."},
		{"NS", "ns1", ""},
		{"PTR", "Host.Example.Test.", "host.example.test."},
		{"PTR", "printer._ipp._tcp.example.test.", "printer._ipp._tcp.example.test."},
		{"PTR", "host.example.test", ""},
		{"PTR", "192.0.2.1", ""},
		{"SSHFP", "4 2 " + hex32, "4 2 " + strings.ToUpper(hex32)},
		{"SSHFP", "1 1 " + strings.ToUpper(hex20), "1 1 " + strings.ToUpper(hex20)},
		{"SSHFP", "4 2 " + hex32[:62], ""},       // too short for SHA-256
		{"SSHFP", "4 2 " + hex32[:63] + "z", ""}, // not hex
		{"SSHFP", "4 2 abc", ""},                 // odd
		{"SSHFP", "4 2 " + hex32[:32] + " " + hex32[32:], ""},
		{"SSHFP", "4 2", ""},
		{"TLSA", "3 1 1 " + hex32, "3 1 1 " + strings.ToUpper(hex32)},
		{"TLSA", "3 0 0 3082010A", "3 0 0 3082010A"},
		{"TLSA", "3 1 2 " + hex32, ""}, // too short for SHA-512
		{"TLSA", "3 1 1 xyz", ""},
		{"TLSA", "3 1 " + hex32, ""},
	}
	good, bad := map[string]bool{}, map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.value, func(t *testing.T) {
			got, err := parseRecord("x.example.test.", tt.typ, 60, tt.value)
			if tt.want == "" {
				bad[tt.typ] = true
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %+v, %v; want ErrInvalid", got, err)
				}
				return
			}
			good[tt.typ] = true
			if err != nil {
				t.Fatalf("parseRecord: %v", err)
			}
			if got.Value != tt.want {
				t.Errorf("got %q, want %q", got.Value, tt.want)
			}
			if again, err := parseRecord("x.example.test.", tt.typ, 60, got.Value); err != nil || again != got {
				t.Errorf("reparse: got %+v, %v; want %+v", again, err, got)
			}
		})
	}
	for _, typ := range cs.DNSTypes() {
		if !good[typ] || !bad[typ] {
			t.Errorf("%s: want a good and a bad value here", typ)
		}
	}
}

// chatValues are values of every type as a person types them, two per
// type: the record set, and the one added to it.
var chatValues = map[string][2]string{
	"A":     {"192.0.2.40", "192.0.2.41"},
	"AAAA":  {"2001:db8::40", "2001:DB8::41"},
	"CNAME": {"www.example.test", ""},
	"TXT":   {`"first"`, `"second one"`},
	"MX":    {"10 mail.example.test", "20 Mail2.example.test"},
	"SRV":   {"10 5 5060 mail.example.test", "20 5 5061 mail2.example.test"},
	"CAA":   {`0 issue "letsencrypt.org"`, `0 iodef "mailto:sec@example.test"`},
	"NS":    {"ns.elsewhere.example", "ns2.elsewhere.example"}, // a delegation
	"PTR":   {"www.example.test", "mail.example.test"},
	"SSHFP": {"4 2 " + hex32, "1 1 " + hex20},
	"TLSA":  {"3 1 1 " + hex32, "3 0 2 " + hex32 + hex32},
}

// ownerOf is where the record of each type goes.
func ownerOf(typ string) string {
	if typ == "TLSA" {
		return "_443._tcp.t-tlsa.example.test."
	}
	return "t-" + strings.ToLower(typ) + ".example.test."
}

// parseChange parses a dns command as a person types it into the action
// the bot would make of it.
func parseChange(t *testing.T, text string) cs.Action {
	t.Helper()
	c, err := commands.Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	switch c := c.(type) {
	case commands.DNSSet:
		return set(c.Name, c.Type, c.Value, c.TTL)
	case commands.DNSAdd:
		return add(c.Name, c.Type, c.Value, c.TTL)
	case commands.DNSDelete:
		return del(c.Name, c.Type, c.Value)
	}
	t.Fatalf("Parse(%q) = %#v, not a dns change", text, c)
	return cs.Action{}
}

// TestParseRecord_commandValues: what the command parser makes of a
// value is valid for the executor and already canonical, for every type.
func TestParseRecord_commandValues(t *testing.T) {
	for _, typ := range cs.DNSTypes() {
		vals, ok := chatValues[typ]
		if !ok {
			t.Errorf("%s: no value in chatValues", typ)
			continue
		}
		for _, v := range vals {
			if v == "" {
				continue
			}
			a := parseChange(t, "dns set "+ownerOf(typ)+" "+typ+" "+v)
			got, err := parseRecord(a.DNS.Name, typ, 60, a.DNS.Value)
			if err != nil {
				t.Errorf("%s %q parsed to %q, which the executor refuses: %v", typ, v, a.DNS.Value, err)
				continue
			}
			if got.Value != a.DNS.Value {
				t.Errorf("%s %q: the parser makes %q, the executor %q", typ, v, a.DNS.Value, got.Value)
			}
		}
	}
}

// TestExecutor_everyType runs every type of cs.DNSTypes() end to end, from
// the chat text to BIND: dns set, dns add a second record (not for CNAME),
// dns delete the first, each checked in BIND independently.
func TestExecutor_everyType(t *testing.T) {
	h := start(t, bindtest.Options{Records: []string{"mail 300 IN A 192.0.2.25", "mail2 300 IN A 192.0.2.26"}},
		func(z *Zone, _ *Options) { z.Types = cs.DNSTypes() })
	run := func(t *testing.T, text string, want []string) {
		t.Helper()
		a := h.prepare(t, parseChange(t, text))
		if _, steps, err := h.execute(t, a); err != nil {
			t.Fatalf("%s: %v (steps %q)", text, err, steps)
		}
		got := h.zoneData(t, a.DNS.Name, a.DNS.Type)
		if !equalFold(got, want) {
			t.Errorf("after %s, BIND holds %q, want %q", text, got, want)
		}
		if p := formatAll(a.DNS.Proposed); !equalFold(p, want) {
			t.Errorf("after %s: Proposed was %q, BIND holds %q", text, p, want)
		}
	}
	for _, typ := range cs.DNSTypes() {
		t.Run(typ, func(t *testing.T) {
			vals := chatValues[typ]
			name := ownerOf(typ)
			first := wantLine(t, name, typ, 3600, vals[0])
			run(t, "dns set "+name+" "+typ+" "+vals[0], []string{first})
			if vals[1] == "" {
				return
			}
			second := wantLine(t, name, typ, 3600, vals[1])
			run(t, "dns add "+name+" "+typ+" "+vals[1], sorted(first, second))
			run(t, "dns delete "+name+" "+typ+" "+vals[0], []string{second})
		})
	}
}

// TestExecutor_apexNS: the apex's NS records are changed by adding the
// new ones before deleting the old ones one by one (a primary ignores the
// deletion of the apex NS RRset), and never all removed.
func TestExecutor_apexNS(t *testing.T) {
	h := start(t, bindtest.Options{Records: []string{"ns2 300 IN A 127.0.0.2", "ns3 300 IN A 127.0.0.3"}},
		func(z *Zone, _ *Options) { z.Types = []string{"NS"} })
	const apex = "example.test."
	steps := []struct {
		action cs.Action
		update []string // the lines of the UPDATE after the prerequisites
		want   []string
	}{
		{set(apex, "NS", "ns2.example.test.", 0),
			[]string{"  add: example.test. 3600 NS ns2.example.test.", "  delete: example.test. 3600 NS ns1.example.test."},
			[]string{"example.test. 3600 NS ns2.example.test."}},
		{add(apex, "NS", "ns3.example.test.", 0),
			[]string{"  add: example.test. 3600 NS ns3.example.test."},
			[]string{"example.test. 3600 NS ns2.example.test.", "example.test. 3600 NS ns3.example.test."}},
		{del(apex, "NS", "ns2.example.test."),
			[]string{"  delete: example.test. 3600 NS ns2.example.test."},
			[]string{"example.test. 3600 NS ns3.example.test."}},
		{set(apex, "NS", "ns3.example.test.", 600),
			[]string{"  add: example.test. 600 NS ns3.example.test."},
			[]string{"example.test. 600 NS ns3.example.test."}},
	}
	for i, st := range steps {
		t.Run(fmt.Sprint(i, " ", st.action), func(t *testing.T) {
			a := h.prepare(t, st.action)
			desc, err := h.e.Describe(context.Background(), cs.Request{Action: a})
			if err != nil {
				t.Fatal(err)
			}
			var update []string
			for _, l := range strings.Split(desc, "\n") {
				if strings.HasPrefix(l, "  add: ") || strings.HasPrefix(l, "  delete: ") {
					update = append(update, l)
				}
			}
			if !slices.Equal(update, st.update) {
				t.Errorf("UPDATE: got %q, want %q", update, st.update)
			}
			if _, steps, err := h.execute(t, a); err != nil {
				t.Fatalf("Execute: %v (steps %q)", err, steps)
			}
			if got := h.query(t, apex, "NS"); !slices.Equal(got, st.want) {
				t.Errorf("BIND holds %q, want %q", got, st.want)
			}
		})
	}
	for _, a := range []cs.Action{del(apex, "NS", "ns3.example.test."), del(apex, "NS", "")} {
		if _, err := h.e.Prepare(context.Background(), a); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "must keep at least one NS record") {
			t.Errorf("Prepare(%s): got %v, want the apex kept", a, err)
		}
	}
}

// wantLine is how a record typed in chat reads back from BIND.
func wantLine(t *testing.T, name, typ string, ttl uint32, chat string) string {
	t.Helper()
	a := parseChange(t, "dns set "+name+" "+typ+" "+chat)
	return fmt.Sprintf("%s %d %s %s", name, ttl, typ, a.DNS.Value)
}

func formatAll(recs []cs.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = formatRecord(r)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// equalFold compares record lines ignoring case: BIND's answers carry hex
// data (TLSA) in lower case, the bot writes it in upper case.
func equalFold(a, b []string) bool {
	return slices.EqualFunc(a, b, strings.EqualFold)
}

// zoneData reads name and type from the primary independently of the
// code under test, as "name ttl TYPE value" lines, sorted: the answer, or
// for NS at a delegation point the referral's NS records.
func (h *harness) zoneData(t *testing.T, name, typ string) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, dns.StringToType[typ])
	c := dns.Client{Net: "tcp", Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, h.srv.Addr)
	if err != nil {
		t.Fatalf("query %s %s: %v", name, typ, err)
	}
	var out []string
	for _, rr := range append(r.Answer, r.Ns...) {
		if hd := rr.Header(); strings.EqualFold(hd.Name, name) && dns.TypeToString[hd.Rrtype] == typ {
			out = append(out, strings.ReplaceAll(strings.Replace(rr.String(), "\tIN\t", "\t", 1), "\t", " "))
		}
	}
	slices.Sort(out)
	return out
}
