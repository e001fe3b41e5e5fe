package dns

import (
	"errors"
	"slices"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/dns/bindtest"
)

// TestExecutor_Execute_changed plays someone else changing the zone after
// approval: before Execute starts (the read before sending catches it),
// and after that read, just before the UPDATE goes out (only the UPDATE's
// prerequisites can catch it; the primary answers YXRRSET or NXRRSET).
// Either way the other change must survive and the error must show it.
func TestExecutor_Execute_changed(t *testing.T) {
	h := start(t, bindtest.Options{Records: seed}, nil)
	tests := []struct {
		name      string
		action    cs.Action
		del, add  []string // the other change
		inWindow  bool     // make it between the read and the UPDATE
		wantRcode string
		wantNow   []string // records the error must show (and the primary still holds)
	}{
		{"value changed before Execute", set("www.example.test.", "A", "192.0.2.2", 0),
			[]string{"www.example.test. A"}, []string{"www.example.test. 300 IN A 192.0.2.66"}, false, "",
			[]string{"www.example.test. 300 A 192.0.2.66"}},
		{"only the TTL changed before Execute", del("multi.example.test.", "A", "192.0.2.10"),
			[]string{"multi.example.test. A"}, []string{"multi.example.test. 5 IN A 192.0.2.10", "multi.example.test. 5 IN A 192.0.2.11", "multi.example.test. 5 IN A 192.0.2.12"}, false, "",
			[]string{"multi.example.test. 5 A 192.0.2.10", "multi.example.test. 5 A 192.0.2.11", "multi.example.test. 5 A 192.0.2.12"}},
		{"value changed just before the UPDATE", set("multi2.example.test.", "A", "192.0.2.2", 0),
			[]string{"multi2.example.test. A"}, []string{"multi2.example.test. 600 IN A 192.0.2.20"}, true, "NXRRSET",
			[]string{"multi2.example.test. 600 A 192.0.2.20"}},
		{"RRset deleted just before the UPDATE", del("old.example.test.", "TXT", ""),
			[]string{"old.example.test. TXT"}, nil, true, "NXRRSET",
			nil},
		{"RRset created just before the UPDATE", set("race.example.test.", "TXT", `"mine"`, 0),
			nil, []string{`race.example.test. 60 IN TXT "theirs"`}, true, "YXRRSET",
			[]string{`race.example.test. 60 TXT "theirs"`}},
		{"CNAME created just before setting an A", set("race2.example.test.", "A", "192.0.2.5", 0),
			nil, []string{"race2.example.test. 60 IN CNAME www.example.test."}, true, "YXRRSET",
			[]string{"race2.example.test. 60 CNAME www.example.test."}},
		{"A created just before setting a CNAME", set("race3.example.test.", "CNAME", "www.example.test.", 0),
			nil, []string{"race3.example.test. 60 IN A 192.0.2.8"}, true, "YXRRSET",
			[]string{"race3.example.test. 60 A 192.0.2.8"}},
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
			if !errors.Is(err, ErrChanged) || !errors.As(err, &ce) {
				t.Fatalf("Execute: got %v (steps %q), want a *ChangedError", err, steps)
			}
			if ce.Rcode != tt.wantRcode {
				t.Errorf("Rcode: got %q, want %q", ce.Rcode, tt.wantRcode)
			}
			if got, want := ce.Now, records(t, tt.wantNow...); !sameRecords(got, want) {
				t.Errorf("Now: got %v, want %v", got, want)
			}
			msg := err.Error()
			if !strings.Contains(msg, "changed since approval") {
				t.Errorf("message %q does not say the records changed", msg)
			}
			for _, r := range tt.wantNow {
				if !strings.Contains(msg, r) {
					t.Errorf("message %q does not show %q", msg, r)
				}
			}
			wantSerial := before
			if tt.inWindow {
				wantSerial++ // the other change, and nothing else
			}
			if after := h.srv.Serial(t); after != wantSerial {
				t.Errorf("serial went from %d to %d, want %d: the refused update changed the zone", before, after, wantSerial)
			}
			for _, typ := range []string{a.DNS.Type, "CNAME", "A"} {
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
