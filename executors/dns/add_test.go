package dns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/dns/bindtest"
)

func add(name, typ, value string, ttl uint32) cs.Action {
	return cs.Action{Kind: cs.ActionDNS, Target: name, DNS: &cs.DNSChange{Op: cs.DNSAdd, Name: name, Type: typ, Value: value, TTL: ttl}}
}

// addSeed is the zone content the dns add tests start from.
var addSeed = []string{
	"@ 600 IN MX 10 mail",
	`txt 300 IN TXT "v=spf1 -all"`,
	"multi 600 IN A 192.0.2.10", "multi 600 IN A 192.0.2.11",
	"alias 300 IN CNAME www",
	"mail 300 IN A 192.0.2.25", "mail2 300 IN A 192.0.2.26",
	"ns2 300 IN A 127.0.0.2",
}

// TestExecutor_Add adds one record to an RRset against a real BIND: the
// UPDATE keeps the records there, and the primary ends up holding
// exactly Proposed.
func TestExecutor_Add(t *testing.T) {
	h := start(t, bindtest.Options{Records: addSeed}, func(z *Zone, _ *Options) { z.Types = cs.DNSTypes() })
	tests := []struct {
		name          string
		action        cs.Action
		current, want []string // "name ttl TYPE value"; want is Proposed and what the primary holds after
	}{
		{"second MX", add("example.test.", "MX", "20 Mail2.Example.Test.", 0),
			[]string{"example.test. 600 MX 10 mail.example.test."},
			[]string{"example.test. 600 MX 10 mail.example.test.", "example.test. 600 MX 20 mail2.example.test."}},
		{"second TXT, with the RRset's TTL given", add("txt.example.test.", "TXT", `"google-site-verification=abc123"`, 300),
			[]string{`txt.example.test. 300 TXT "v=spf1 -all"`},
			[]string{`txt.example.test. 300 TXT "google-site-verification=abc123"`, `txt.example.test. 300 TXT "v=spf1 -all"`}},
		{"third A", add("multi.example.test.", "A", "192.0.2.12", 0),
			[]string{"multi.example.test. 600 A 192.0.2.10", "multi.example.test. 600 A 192.0.2.11"},
			[]string{"multi.example.test. 600 A 192.0.2.10", "multi.example.test. 600 A 192.0.2.11", "multi.example.test. 600 A 192.0.2.12"}},
		{"first record with a TTL", add("new1.example.test.", "AAAA", "2001:db8::1", 120),
			nil, []string{"new1.example.test. 120 AAAA 2001:db8::1"}},
		{"first record takes the default TTL", add("new2.example.test.", "TXT", `"hello"`, 0),
			nil, []string{`new2.example.test. 3600 TXT "hello"`}},
		{"second NS at the apex", add("example.test.", "NS", "ns2.example.test.", 0),
			[]string{"example.test. 3600 NS ns1.example.test."},
			[]string{"example.test. 3600 NS ns1.example.test.", "example.test. 3600 NS ns2.example.test."}},
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
			desc, err := h.e.Describe(context.Background(), cs.Request{Action: a})
			if err != nil {
				t.Fatalf("Describe: %v", err)
			}
			if strings.Contains(desc, "delete") || strings.Count(desc, "  add: ") != 1 {
				t.Errorf("Describe: want one add and no delete:\n%s", desc)
			}
			before := h.srv.Serial(t)
			res, steps, err := h.execute(t, a)
			if err != nil {
				t.Fatalf("Execute: %v\nsteps: %q", err, steps)
			}
			if got := h.query(t, a.DNS.Name, a.DNS.Type); !slices.Equal(got, tt.want) {
				t.Errorf("primary holds %q, want %q", got, tt.want)
			}
			after := h.srv.Serial(t)
			if m := serialRe.FindStringSubmatch(res.Summary); m == nil || m[1] != strconv.Itoa(int(before)) || m[2] != strconv.Itoa(int(after)) || after <= before {
				t.Errorf("summary %q, serial %d → %d", res.Summary, before, after)
			}
			if len(steps) != 3 || !strings.HasPrefix(steps[2], "verified on the primary: ") {
				t.Errorf("steps: %q", steps)
			}
		})
	}
}

func TestExecutor_Add_refuses(t *testing.T) {
	h := start(t, bindtest.Options{Records: addSeed}, func(z *Zone, _ *Options) {
		z.Types = []string{"A", "CNAME", "TXT", "MX"}
	})
	tests := []struct {
		name    string
		action  cs.Action
		wantErr error
		wantMsg string // a part of the message
	}{
		{"MX already there", add("example.test.", "MX", "10 mail.example.test.", 0), ErrNoChange,
			"example.test. MX 10 mail.example.test. is already there (example.test. 600 MX 10 mail.example.test.)"},
		{"already there, written otherwise", add("example.test.", "MX", "10 MAIL.Example.Test.", 600), ErrNoChange, "already there"},
		{"already there with another TTL", add("multi.example.test.", "A", "192.0.2.11", 60), ErrNoChange, "already there"},
		{"TXT already there", add("txt.example.test.", "TXT", `"v=spf1 -all"`, 0), ErrNoChange, "already there"},
		{"a TTL the RRset does not have", add("multi.example.test.", "A", "192.0.2.12", 60), ErrInvalid,
			"its records have TTL 600, and all records of a set share one TTL (RFC 2181 5.2); leave the TTL out, or give 600"},
		{"CNAME", add("new.example.test.", "CNAME", "www.example.test.", 0), ErrInvalid, "at most one, so replace it with dns set"},
		{"A beside a CNAME", add("alias.example.test.", "A", "192.0.2.1", 0), ErrCNAMEConflict, "alias.example.test. is a CNAME"},
		{"type not allowed", add("example.test.", "NS", "ns2.example.test.", 0), ErrTypeNotAllowed, "allowed: A, CNAME, TXT, MX"},
		{"no value", add("x.example.test.", "A", "", 0), ErrInvalid, "dns add without a value"},
		{"bad value", add("x.example.test.", "MX", "10 mail", 0), ErrInvalid, "MX"},
		{"outside the zone", add("www.example.org.", "A", "192.0.2.1", 0), ErrOutsideZone, "not in the zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.e.Prepare(context.Background(), tt.action)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// TestExecutor_Add_changed plays someone else changing the RRset between
// Prepare and Execute, as TestExecutor_Execute_changed does for set and
// delete: the read before sending, or else the UPDATE's exact-RRset
// prerequisite, must catch it, and only the other change must be there.
func TestExecutor_Add_changed(t *testing.T) {
	h := start(t, bindtest.Options{Records: addSeed}, nil)
	tests := []struct {
		name      string
		action    cs.Action
		del, add  []string // the other change
		inWindow  bool     // make it between the read and the UPDATE
		wantRcode string
		wantNow   []string // records the error must show (and the primary still holds)
	}{
		{"MX added before Execute", add("example.test.", "MX", "20 mail2.example.test.", 0),
			nil, []string{"example.test. 600 IN MX 30 mail.example.test."}, false, "",
			[]string{"example.test. 600 MX 10 mail.example.test.", "example.test. 600 MX 30 mail.example.test."}},
		{"MX added just before the UPDATE", add("example.test.", "MX", "20 mail2.example.test.", 0),
			[]string{"example.test. MX"}, []string{"example.test. 600 IN MX 10 mail.example.test.", "example.test. 600 IN MX 40 mail.example.test."}, true, "NXRRSET",
			[]string{"example.test. 600 MX 10 mail.example.test.", "example.test. 600 MX 40 mail.example.test."}},
		{"the same record added just before the UPDATE", add("txt.example.test.", "TXT", `"mine"`, 0),
			nil, []string{`txt.example.test. 300 IN TXT "mine"`}, true, "NXRRSET",
			[]string{`txt.example.test. 300 TXT "mine"`, `txt.example.test. 300 TXT "v=spf1 -all"`}},
		{"RRset deleted just before the UPDATE", add("multi.example.test.", "A", "192.0.2.12", 0),
			[]string{"multi.example.test. A"}, nil, true, "NXRRSET",
			nil},
		{"RRset created just before the UPDATE", add("race.example.test.", "TXT", `"mine"`, 0),
			nil, []string{`race.example.test. 60 IN TXT "theirs"`}, true, "YXRRSET",
			[]string{`race.example.test. 60 TXT "theirs"`}},
		{"CNAME created just before adding an A", add("race2.example.test.", "A", "192.0.2.5", 0),
			nil, []string{"race2.example.test. 60 IN CNAME www.example.test."}, true, "YXRRSET",
			[]string{"race2.example.test. 60 CNAME www.example.test."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.prepare(t, tt.action)
			other := func() { h.srv.Update(t, tt.del, tt.add) }
			h.e.beforeUpdate = nil
			if tt.inWindow {
				ran := false
				h.e.beforeUpdate = func() { other(); ran = true }
				defer func() {
					h.e.beforeUpdate = nil
					if !ran {
						t.Error("the other change was not made between the read and the UPDATE")
					}
				}()
			} else {
				other()
			}
			before := h.srv.Serial(t)
			_, steps, err := h.execute(t, a)
			var ce *ChangedError
			if !errors.As(err, &ce) || !errors.Is(err, ErrChanged) {
				t.Fatalf("Execute: got %v (steps %q), want a *ChangedError", err, steps)
			}
			if ce.Rcode != tt.wantRcode {
				t.Errorf("Rcode: got %q, want %q", ce.Rcode, tt.wantRcode)
			}
			if got, want := ce.Now, records(t, tt.wantNow...); !sameRecords(got, want) {
				t.Errorf("Now: got %v, want %v", got, want)
			}
			for _, r := range tt.wantNow {
				if !strings.Contains(err.Error(), r) {
					t.Errorf("message %q does not show %q", err, r)
				}
			}
			wantSerial := before
			if tt.inWindow {
				wantSerial++ // the other change, and nothing else
			}
			if after := h.srv.Serial(t); after != wantSerial {
				t.Errorf("serial went from %d to %d, want %d: the refused update changed the zone", before, after, wantSerial)
			}
			for _, typ := range []string{a.DNS.Type, "CNAME"} {
				var want []string
				for _, r := range tt.wantNow {
					if strings.Fields(r)[2] == typ {
						want = append(want, r)
					}
				}
				if got := h.query(t, a.DNS.Name, typ); !slices.Equal(got, want) {
					t.Errorf("primary holds %s %q, want the other change %q", typ, got, want)
				}
			}
		})
	}
}

// TestExecutor_Add_refusesTampered: a stored add whose Proposed is not
// Current and the one new record is refused before anything is sent.
func TestExecutor_Add_refusesTampered(t *testing.T) {
	h := start(t, bindtest.Options{Records: addSeed}, nil)
	good := h.prepare(t, add("multi.example.test.", "A", "192.0.2.12", 0))
	extra := cs.Record{Name: "multi.example.test.", Type: "A", TTL: 600, Value: "192.0.2.66"}
	tests := []struct {
		name   string
		mutate func(c *cs.DNSChange)
	}{
		{"a current record dropped", func(c *cs.DNSChange) { c.Proposed = slices.Delete(c.Proposed, 0, 1) }},
		{"a current record replaced", func(c *cs.DNSChange) { c.Proposed[0] = extra }},
		{"another record added too", func(c *cs.DNSChange) { c.Proposed = append(c.Proposed, extra) }},
		{"the new record's TTL", func(c *cs.DNSChange) { c.Proposed[2].TTL = 60 }},
		{"another value than asked", func(c *cs.DNSChange) { c.Value = "192.0.2.66" }},
		{"not prepared", func(c *cs.DNSChange) { c.Current, c.Proposed = nil, nil }},
		{"value already current", func(c *cs.DNSChange) { c.Current = slices.Clone(c.Proposed) }},
		{"a CNAME", func(c *cs.DNSChange) { c.Type = "CNAME" }},
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
			if got, want := h.query(t, "multi.example.test.", "A"), []string{"multi.example.test. 600 A 192.0.2.10", "multi.example.test. 600 A 192.0.2.11"}; !slices.Equal(got, want) {
				t.Errorf("primary holds %q, want it unchanged %q", got, want)
			}
		})
	}
}

func TestExecutor_Describe_add(t *testing.T) {
	h := start(t, bindtest.Options{Records: addSeed}, nil)
	head := fmt.Sprintf("UPDATE for zone example.test. to the primary %s over TCP, signed with TSIG key countersign. (hmac-sha256), applied all or nothing:", h.srv.Addr)
	tests := []struct {
		name   string
		action cs.Action
		want   []string
	}{
		{"to an RRset", add("example.test.", "MX", "20 mail2.example.test.", 0), []string{
			head,
			"  prerequisite: example.test. MX is exactly {10 mail.example.test.} (RRset exists, value dependent)",
			"  prerequisite: example.test. has no CNAME records (a CNAME cannot be beside other data)",
			"  add: example.test. 600 MX 20 mail2.example.test.",
			"Current: example.test. 600 MX 10 mail.example.test.",
			"Proposed: example.test. 600 MX 10 mail.example.test., example.test. 600 MX 20 mail2.example.test.",
			"Before sending: read example.test. MX and the SOA serial; stop if the records (or their TTL) differ from Current. After: query the primary to check example.test. MX is exactly Proposed, and report the SOA serial before and after.",
		}},
		{"a new RRset", add("new.example.test.", "TXT", `"x"`, 60), []string{
			head,
			"  prerequisite: new.example.test. TXT has no records (RRset does not exist)",
			"  prerequisite: new.example.test. has no CNAME records (a CNAME cannot be beside other data)",
			`  add: new.example.test. 60 TXT "x"`,
			"Current: no new.example.test. TXT records",
			`Proposed: new.example.test. 60 TXT "x"`,
			"Before sending: read new.example.test. TXT and the SOA serial; stop if the records (or their TTL) differ from Current. After: query the primary to check new.example.test. TXT is exactly Proposed, and report the SOA serial before and after.",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.e.Describe(context.Background(), cs.Request{Action: h.prepare(t, tt.action)})
			if err != nil {
				t.Fatalf("Describe: %v", err)
			}
			if want := strings.Join(tt.want, "\n"); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestExecutor_dryRun_add: a dry-run add reads the primary, describes the
// UPDATE that adds one record, and changes nothing.
func TestExecutor_dryRun_add(t *testing.T) {
	h := start(t, bindtest.Options{Records: addSeed}, func(_ *Zone, o *Options) { o.DryRun = true })
	ctx := context.Background()
	a := h.prepare(t, add("example.test.", "MX", "20 mail2.example.test.", 0))
	serial := h.srv.Serial(t)
	req := cs.Request{ID: "R1", Action: a}
	desc, err := h.e.Describe(ctx, req)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	for _, want := range []string{"DRY RUN: nothing will be sent.", "  add: example.test. 600 MX 20 mail2.example.test.",
		"example.test. MX is example.test. 600 MX 10 mail.example.test., as approved"} {
		if !strings.Contains(desc, want) {
			t.Errorf("Describe does not say %q:\n%s", want, desc)
		}
	}
	if strings.Contains(desc, "delete") {
		t.Errorf("Describe of an add deletes something:\n%s", desc)
	}
	var steps []string
	res, err := h.e.Execute(ctx, req, func(s string) error { steps = append(steps, s); return nil })
	if err != nil || !res.DryRun || res.Summary != "DRY RUN: nothing was changed" {
		t.Fatalf("Execute: %+v, %v", res, err)
	}
	if len(steps) != 3 || !strings.Contains(steps[1], "  add: example.test. 600 MX 20 mail2.example.test.") ||
		!strings.Contains(steps[2], "example.test. MX is then exactly example.test. 600 MX 10 mail.example.test., example.test. 600 MX 20 mail2.example.test.") {
		t.Errorf("steps: %q", steps)
	}
	if got, want := h.query(t, "example.test.", "MX"), []string{"example.test. 600 MX 10 mail.example.test."}; !slices.Equal(got, want) {
		t.Errorf("primary holds %q after the dry run, want %q", got, want)
	}
	if got := h.srv.Serial(t); got != serial {
		t.Errorf("serial %d after the dry run, want %d", got, serial)
	}
}
