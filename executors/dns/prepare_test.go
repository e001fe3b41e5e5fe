package dns

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/dns/bindtest"
)

func TestExecutor_Prepare_refuses(t *testing.T) {
	h := start(t, bindtest.Options{Records: seed}, func(z *Zone, o *Options) {
		z.Types = []string{"A", "AAAA", "CNAME", "TXT", "MX"}
	})
	tests := []struct {
		name    string
		action  cs.Action
		wantErr error
		wantMsg string // a part of the message
	}{
		{"type not allowed lists the allowed", set("www.example.test.", "SRV", "1 1 1 x.example.test.", 0), ErrTypeNotAllowed, "allowed: A, AAAA, CNAME, TXT, MX"},
		{"NS not allowed", del("example.test.", "NS", ""), ErrTypeNotAllowed, `"NS" records cannot be changed in zone example.test`},
		{"name outside the zone", set("www.example.org.", "A", "192.0.2.1", 0), ErrOutsideZone, "www.example.org.: not in the zone example.test"},
		{"name that only ends like the zone", set("notexample.test.", "A", "192.0.2.1", 0), ErrOutsideZone, "not in the zone"},
		{"CNAME beside an A", set("www.example.test.", "CNAME", "mail.example.test.", 0), ErrCNAMEConflict, "www.example.test. 300 A 192.0.2.1"},
		{"CNAME beside two types", set("both.example.test.", "CNAME", "mail.example.test.", 0), ErrCNAMEConflict, `both.example.test. 300 A 192.0.2.30, both.example.test. 300 TXT "x"`},
		{"A beside a CNAME", set("alias.example.test.", "A", "192.0.2.1", 0), ErrCNAMEConflict, "alias.example.test. is a CNAME (alias.example.test. 300 CNAME www.example.test.)"},
		{"TXT beside a CNAME", set("alias.example.test.", "TXT", `"x"`, 0), ErrCNAMEConflict, "delete the CNAME first"},
		{"CNAME at the apex", set("example.test.", "CNAME", "www.example.test.", 0), ErrCNAMEConflict, "apex"},
		{"delete an absent RRset", del("nothing.example.test.", "A", ""), ErrNothingToDelete, "nothing.example.test. A has no records"},
		{"delete an absent value", del("multi.example.test.", "A", "192.0.2.99"), ErrNothingToDelete, "has no record 192.0.2.99 (it has multi.example.test. 600 A 192.0.2.10, "},
		{"set what is there", set("www.example.test.", "A", "192.0.2.1", 300), ErrNoChange, "already www.example.test. 300 A 192.0.2.1"},
		{"A with an IPv6 address", set("x.example.test.", "A", "2001:db8::1", 0), ErrInvalid, "not an IPv4 address"},
		{"A with a name", set("x.example.test.", "A", "www.example.test.", 0), ErrInvalid, "not an IPv4 address"},
		{"A with a mapped address", set("x.example.test.", "A", "::ffff:192.0.2.1", 0), ErrInvalid, "not an IPv4 address"},
		{"AAAA with an IPv4 address", set("x.example.test.", "AAAA", "192.0.2.1", 0), ErrInvalid, "not an IPv6 address"},
		{"AAAA with a mapped address", set("x.example.test.", "AAAA", "::ffff:192.0.2.1", 0), ErrInvalid, "not an IPv6 address"},
		{"CNAME not fully qualified", set("x.example.test.", "CNAME", "www.example.test", 0), ErrInvalid, "fully qualified"},
		{"CNAME to an address", set("x.example.test.", "CNAME", "192.0.2.1", 0), ErrInvalid, "fully qualified"},
		{"CNAME to itself", set("x.example.test.", "CNAME", "x.example.test.", 0), ErrInvalid, "its own name"},
		{"MX host not fully qualified", set("x.example.test.", "MX", "10 mail", 0), ErrInvalid, "bad MX"},
		{"MX without preference", set("x.example.test.", "MX", "mail.example.test.", 0), ErrInvalid, "MX value"},
		{"TXT unquoted", set("x.example.test.", "TXT", "v=spf1 -all", 0), ErrInvalid, "double quotes"},
		{"TXT unclosed", set("x.example.test.", "TXT", `"v=spf1 -all`, 0), ErrInvalid, "not closed"},
		{"TXT string too long", set("x.example.test.", "TXT", `"`+strings.Repeat("a", 256)+`"`, 0), ErrInvalid, "at most 255"},
		{"TXT strings run together", set("x.example.test.", "TXT", `"a""b"`, 0), ErrInvalid, "separated by spaces"},
		{"value with a comment", set("x.example.test.", "A", "192.0.2.1 ; hidden", 0), ErrInvalid, "outside quotes"},
		{"value with a line break", set("x.example.test.", "A", "192.0.2.1\nx.example.test. 60 IN A 192.0.2.2", 0), ErrInvalid, "control character"},
		{"value with extra words", set("x.example.test.", "A", "192.0.2.1 192.0.2.2", 0), ErrInvalid, "not an IPv4 address"},
		{"TTL too long", set("x.example.test.", "A", "192.0.2.1", MaxTTL+1), ErrInvalid, "want 1 to 604800"},
		{"empty value", set("x.example.test.", "A", "", 0), ErrInvalid, "without a value"},
		{"bad name", set("a..example.test.", "A", "192.0.2.1", 0), ErrInvalid, "DNS name"},
		{"unknown operation", cs.Action{Kind: cs.ActionDNS, DNS: &cs.DNSChange{Op: "upsert", Name: "x.example.test.", Type: "A"}}, ErrInvalid, "want set, add or delete"},
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
			noSecret(t, h.srv, "error", err.Error())
		})
	}
}

func TestExecutor_Prepare_keepsTheRequest(t *testing.T) {
	h := start(t, bindtest.Options{}, nil)
	orig := set("WWW.Example.Test", "a", "192.0.2.2", 0)
	before := *orig.DNS
	a := h.prepare(t, orig)
	if !reflect.DeepEqual(*orig.DNS, before) {
		t.Errorf("Prepare changed the caller's change: got %+v, want %+v", *orig.DNS, before)
	}
	if got, want := a.DNS.Name, "www.example.test."; got != want {
		t.Errorf("Name: got %q, want %q", got, want)
	}
	if got, want := a.DNS.Type, "A"; got != want {
		t.Errorf("Type: got %q, want %q", got, want)
	}
	if got, want := a.DNS.TTL, uint32(0); got != want {
		t.Errorf("TTL: got %d, want %d (what was asked, not the effective TTL)", got, want)
	}
	// Prepare twice gives the same action, so the fingerprint is stable.
	if again := h.prepare(t, orig); again.Fingerprint("v1") != a.Fingerprint("v1") {
		t.Errorf("two Prepares differ: %+v and %+v", *a.DNS, *again.DNS)
	}
}

func TestExecutor_Prepare_otherKinds(t *testing.T) {
	e, err := New(Zone{Name: "example.test", Server: "127.0.0.1:1", Key: "k.", Secret: cs.NewSecret("c2VjcmV0")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := cs.Action{Kind: cs.ActionScale, Target: "web", Replicas: 3}
	got, err := e.Prepare(context.Background(), a)
	if err != nil || got.Target != a.Target || got.Replicas != a.Replicas || got.DNS != nil {
		t.Errorf("Prepare(scale): got %+v, %v; want it unchanged", got, err)
	}
}

func TestExecutor_Prepare_defaultTTL(t *testing.T) {
	h := start(t, bindtest.Options{}, func(_ *Zone, o *Options) { o.DefaultTTL = 42 })
	a := h.prepare(t, set("fresh.example.test.", "A", "192.0.2.3", 0))
	if got, want := a.DNS.Proposed, records(t, "fresh.example.test. 42 A 192.0.2.3"); !slices.Equal(got, want) {
		t.Errorf("Proposed: got %v, want %v", got, want)
	}
}
