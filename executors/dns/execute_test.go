package dns

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/dns/bindtest"
)

// seed is the zone content the change tests start from.
var seed = []string{
	"multi 600 IN A 192.0.2.10", "multi 600 IN A 192.0.2.11", "multi 600 IN A 192.0.2.12",
	"multi2 600 IN A 192.0.2.20", "multi2 600 IN A 192.0.2.21",
	`old 60 IN TXT "bye"`,
	"alias 300 IN CNAME www",
	"mail 300 IN A 192.0.2.25",
	"both 300 IN A 192.0.2.30", `both 300 IN TXT "x"`,
}

var serialRe = regexp.MustCompile(`SOA serial (\d+) → (\d+)$`)

func TestExecutor_Execute(t *testing.T) {
	h := start(t, bindtest.Options{Records: seed}, nil)
	tests := []struct {
		name          string
		action        cs.Action
		current, want []string // "name ttl TYPE value"; want is Proposed and what the primary holds after
	}{
		{"set new with TTL", set("new1.example.test.", "A", "192.0.2.50", 120),
			nil, []string{"new1.example.test. 120 A 192.0.2.50"}},
		{"set new without TTL takes the default", set("new2.example.test.", "AAAA", "2001:DB8:0::10", 0),
			nil, []string{"new2.example.test. 3600 AAAA 2001:db8::10"}},
		{"replace keeps the TTL", set("www.example.test.", "A", "192.0.2.2", 0),
			[]string{"www.example.test. 300 A 192.0.2.1"}, []string{"www.example.test. 300 A 192.0.2.2"}},
		{"replace a set with a TTL", set("multi2.example.test.", "A", "192.0.2.99", 900),
			[]string{"multi2.example.test. 600 A 192.0.2.20", "multi2.example.test. 600 A 192.0.2.21"},
			[]string{"multi2.example.test. 900 A 192.0.2.99"}},
		{"delete one value", del("multi.example.test.", "A", "192.0.2.11"),
			[]string{"multi.example.test. 600 A 192.0.2.10", "multi.example.test. 600 A 192.0.2.11", "multi.example.test. 600 A 192.0.2.12"},
			[]string{"multi.example.test. 600 A 192.0.2.10", "multi.example.test. 600 A 192.0.2.12"}},
		{"delete the RRset", del("old.example.test.", "TXT", ""),
			[]string{`old.example.test. 60 TXT "bye"`}, nil},
		{"set TXT with quotes and spaces", set("txt.example.test.", "TXT", `"hello world" "say \"hi\"" "caf\195\169"`, 60),
			nil, []string{`txt.example.test. 60 TXT "hello world" "say \"hi\"" "caf\195\169"`}},
		{"set MX", set("example.test.", "MX", "10 mail.example.test.", 0),
			nil, []string{"example.test. 3600 MX 10 mail.example.test."}},
		{"set SRV", set("_sip._tcp.example.test.", "SRV", "10 5 5060 Mail.Example.Test.", 0),
			nil, []string{"_sip._tcp.example.test. 3600 SRV 10 5 5060 mail.example.test."}},
		{"set CAA", set("example.test.", "CAA", `0 issue "letsencrypt.org"`, 0),
			nil, []string{`example.test. 3600 CAA 0 issue "letsencrypt.org"`}},
		{"set CNAME", set("newalias.example.test.", "CNAME", "www.example.test.", 0),
			nil, []string{"newalias.example.test. 3600 CNAME www.example.test."}},
		{"replace CNAME", set("alias.example.test.", "CNAME", "mail.example.test.", 0),
			[]string{"alias.example.test. 300 CNAME www.example.test."}, []string{"alias.example.test. 300 CNAME mail.example.test."}},
		{"set wildcard", set("*.wild.example.test.", "A", "192.0.2.77", 0),
			nil, []string{"*.wild.example.test. 3600 A 192.0.2.77"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.prepare(t, tt.action)
			if got, want := a.DNS.Current, records(t, tt.current...); !slices.Equal(got, want) {
				t.Errorf("Current: got %v, want %v", got, want)
			}
			if got, want := a.DNS.Proposed, records(t, tt.want...); !slices.Equal(got, want) {
				t.Errorf("Proposed: got %v, want %v", got, want)
			}
			before := h.srv.Serial(t)
			res, steps, err := h.execute(t, a)
			if err != nil {
				t.Fatalf("Execute: %v\nsteps: %q", err, steps)
			}
			c := a.DNS
			if got := h.query(t, c.Name, c.Type); !slices.Equal(got, tt.want) {
				t.Errorf("primary holds %q, want %q", got, tt.want)
			}
			after := h.srv.Serial(t)
			if after <= before {
				t.Errorf("serial %d after the update, want more than %d", after, before)
			}
			m := serialRe.FindStringSubmatch(res.Summary)
			if m == nil || m[1] != strconv.Itoa(int(before)) || m[2] != strconv.Itoa(int(after)) {
				t.Errorf("summary %q: want it to end with SOA serial %d → %d", res.Summary, before, after)
			}
			if res.DryRun {
				t.Error("Result.DryRun is true for a real update")
			}
			wantSteps := []string{"read " + c.Name + " " + c.Type + " on the primary", "sent the UPDATE for zone example.test.", "verified on the primary: "}
			if len(steps) != len(wantSteps) {
				t.Fatalf("steps: got %q, want %d steps", steps, len(wantSteps))
			}
			for i, w := range wantSteps {
				if !strings.HasPrefix(steps[i], w) {
					t.Errorf("step %d: got %q, want it to start with %q", i, steps[i], w)
				}
			}
		})
	}
}

// TestExecutor_Execute_sha512 checks the other TSIG algorithm end to end.
func TestExecutor_Execute_sha512(t *testing.T) {
	h := start(t, bindtest.Options{Algorithm: "hmac-sha512"}, nil)
	a := h.prepare(t, set("www.example.test.", "A", "192.0.2.9", 0))
	if _, steps, err := h.execute(t, a); err != nil {
		t.Fatalf("Execute: %v (steps %q)", err, steps)
	}
	if got, want := h.query(t, "www.example.test.", "A"), []string{"www.example.test. 300 A 192.0.2.9"}; !slices.Equal(got, want) {
		t.Errorf("primary holds %q, want %q", got, want)
	}
}

// TestExecutor_Execute_refusesTampered checks that Execute does not trust
// a stored request blindly: its records must belong to the change.
func TestExecutor_Execute_refusesTampered(t *testing.T) {
	h := start(t, bindtest.Options{}, nil)
	good := h.prepare(t, set("www.example.test.", "A", "192.0.2.9", 0))
	tests := []struct {
		name   string
		mutate func(c *cs.DNSChange)
	}{
		{"proposed for another name", func(c *cs.DNSChange) { c.Proposed[0].Name = "ns1.example.test." }},
		{"proposed of another type", func(c *cs.DNSChange) { c.Proposed[0].Type = "AAAA" }},
		{"proposed value invalid", func(c *cs.DNSChange) { c.Proposed[0].Value = "192.0.2.9\nevil 1 IN A 192.0.2.66" }},
		{"proposed TTL zero", func(c *cs.DNSChange) { c.Proposed[0].TTL = 0 }},
		{"set not prepared", func(c *cs.DNSChange) { c.Current, c.Proposed = nil, nil }},
		{"name outside the zone", func(c *cs.DNSChange) { c.Name = "www.example.org." }},
		{"type not allowed", func(c *cs.DNSChange) { c.Type = "NS" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *good.DNS
			c.Current, c.Proposed = slices.Clone(c.Current), slices.Clone(c.Proposed)
			tt.mutate(&c)
			a := good
			a.DNS = &c
			if _, _, err := h.execute(t, a); err == nil {
				t.Fatal("Execute succeeded, want an error")
			}
			if got, want := h.query(t, "www.example.test.", "A"), []string{"www.example.test. 300 A 192.0.2.1"}; !slices.Equal(got, want) {
				t.Errorf("primary holds %q, want it unchanged %q", got, want)
			}
		})
	}
}
