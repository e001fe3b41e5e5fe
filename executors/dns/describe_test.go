package dns

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/dns/bindtest"
)

func TestExecutor_Describe(t *testing.T) {
	h := start(t, bindtest.Options{Records: seed}, nil)
	head := fmt.Sprintf("UPDATE for zone example.test. to the primary %s over TCP, signed with TSIG key countersign. (hmac-sha256), applied all or nothing:", h.srv.Addr)
	tests := []struct {
		name   string
		action cs.Action
		want   []string
	}{
		{"replace", set("www.example.test.", "A", "192.0.2.2", 60), []string{
			head,
			"  prerequisite: www.example.test. A is exactly {192.0.2.1} (RRset exists, value dependent)",
			"  prerequisite: www.example.test. has no CNAME records (a CNAME cannot be beside other data)",
			"  delete: the whole www.example.test. A RRset",
			"  add: www.example.test. 60 A 192.0.2.2",
			"Current: www.example.test. 300 A 192.0.2.1",
			"Proposed: www.example.test. 60 A 192.0.2.2",
			"Before sending: read www.example.test. A and the SOA serial; stop if the records (or their TTL) differ from Current. After: query the primary to check www.example.test. A is exactly Proposed, and report the SOA serial before and after.",
		}},
		{"new CNAME", set("new.example.test.", "CNAME", "www.example.test.", 0), []string{
			head,
			"  prerequisite: new.example.test. CNAME has no records (RRset does not exist)",
			"  prerequisite: new.example.test. has no A, AAAA, CAA, MX, NS, PTR, SRV, SSHFP, TLSA, TXT, HINFO, DNAME records (a CNAME cannot be beside other data)",
			"  add: new.example.test. 3600 CNAME www.example.test.",
			"Current: no new.example.test. CNAME records",
			"Proposed: new.example.test. 3600 CNAME www.example.test.",
			"Before sending: read new.example.test. CNAME and the SOA serial; stop if the records (or their TTL) differ from Current. After: query the primary to check new.example.test. CNAME is exactly Proposed, and report the SOA serial before and after.",
		}},
		{"delete one of three", del("multi.example.test.", "A", "192.0.2.11"), []string{
			head,
			"  prerequisite: multi.example.test. A is exactly {192.0.2.10, 192.0.2.11, 192.0.2.12} (RRset exists, value dependent)",
			"  delete: the whole multi.example.test. A RRset",
			"  add: multi.example.test. 600 A 192.0.2.10",
			"  add: multi.example.test. 600 A 192.0.2.12",
			"Current: multi.example.test. 600 A 192.0.2.10, multi.example.test. 600 A 192.0.2.11, multi.example.test. 600 A 192.0.2.12",
			"Proposed: multi.example.test. 600 A 192.0.2.10, multi.example.test. 600 A 192.0.2.12",
			"Before sending: read multi.example.test. A and the SOA serial; stop if the records (or their TTL) differ from Current. After: query the primary to check multi.example.test. A is exactly Proposed, and report the SOA serial before and after.",
		}},
		{"delete the RRset", del("old.example.test.", "TXT", ""), []string{
			head,
			`  prerequisite: old.example.test. TXT is exactly {"bye"} (RRset exists, value dependent)`,
			"  delete: the whole old.example.test. TXT RRset",
			`Current: old.example.test. 60 TXT "bye"`,
			"Proposed: no old.example.test. TXT records",
			"Before sending: read old.example.test. TXT and the SOA serial; stop if the records (or their TTL) differ from Current. After: query the primary to check old.example.test. TXT is exactly Proposed, and report the SOA serial before and after.",
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
			noSecret(t, h.srv, "description", got)
		})
	}
	t.Run("unprepared", func(t *testing.T) {
		if got, err := h.e.Describe(context.Background(), cs.Request{Action: set("www.example.test.", "A", "192.0.2.2", 0)}); err == nil {
			t.Errorf("Describe of an unprepared set: got %q, want an error", got)
		}
	})
}

func TestExecutor_dryRun(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{Records: seed})
	ctx := context.Background()
	dry := attach(t, srv, func(_ *Zone, o *Options) { o.DryRun = true })
	real := attach(t, srv, nil)
	tests := []struct {
		name     string
		h        *harness
		reqDry   bool // the request says dry run, the executor does not
		other    []string
		wantRead string
		wantSum  string
	}{
		{"dry-run executor", dry, false, nil, ": SOA serial 1; www.example.test. A is www.example.test. 300 A 192.0.2.1, as approved", "DRY RUN: nothing was changed"},
		{"dry-run request", real, true, nil, "as approved", "DRY RUN: nothing was changed"},
		{"records changed since approval", dry, false, []string{"www.example.test. 300 IN A 192.0.2.66"},
			"www.example.test. A is www.example.test. 300 A 192.0.2.66: not what was approved, so the real update would fail",
			"DRY RUN: nothing was changed; the real update would not go through as approved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.h.prepare(t, set("www.example.test.", "A", "192.0.2.2", 0))
			if tt.other != nil {
				srv.Update(t, []string{"www.example.test. A"}, tt.other)
			}
			wantA := tt.h.query(t, "www.example.test.", "A")
			serial := srv.Serial(t)
			req := cs.Request{ID: "R1", Action: a, DryRun: tt.reqDry}
			desc, err := tt.h.e.Describe(ctx, req)
			if err != nil {
				t.Fatalf("Describe: %v", err)
			}
			if !strings.HasPrefix(desc, "DRY RUN: ") || !strings.Contains(desc, tt.wantRead) || !strings.Contains(desc, "  add: www.example.test. 300 A 192.0.2.2") {
				t.Errorf("Describe: got\n%s\nwant DRY RUN first, the UPDATE, and %q", desc, tt.wantRead)
			}
			noSecret(t, srv, "description", desc)
			var steps []string
			res, err := tt.h.e.Execute(ctx, req, func(s string) error { steps = append(steps, s); return nil })
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if !res.DryRun || !strings.HasPrefix(res.Summary, tt.wantSum) {
				t.Errorf("Result: got %+v, want DryRun and summary %q", res, tt.wantSum)
			}
			if len(steps) != 3 || !strings.Contains(steps[0], tt.wantRead) || !strings.Contains(steps[1], "would send an UPDATE for zone example.test.") {
				t.Errorf("steps: got %q", steps)
			}
			for _, s := range steps {
				if !strings.HasPrefix(s, "DRY RUN: ") {
					t.Errorf("step %q does not start with DRY RUN", s)
				}
				noSecret(t, srv, "step", s)
			}
			if got := tt.h.query(t, "www.example.test.", "A"); !slices.Equal(got, wantA) {
				t.Errorf("primary holds %q after the dry run, want %q", got, wantA)
			}
			if got := srv.Serial(t); got != serial {
				t.Errorf("serial %d after the dry run, want %d", got, serial)
			}
		})
	}
}

// TestExecutor_dryRun_unreachable checks a dry run says plainly what it
// could not read, and still describes the UPDATE.
func TestExecutor_dryRun_unreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	e, err := New(Zone{Name: "example.test", Server: addr, Key: "k.", Secret: cs.NewSecret("c2VjcmV0")}, Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := e.Prepare(ctx, set("www.example.test.", "A", "192.0.2.2", 0))
	if err != nil {
		t.Fatalf("Prepare in a dry run with the primary down: %v", err)
	}
	if got, want := a.DNS.Proposed, records(t, "www.example.test. 3600 A 192.0.2.2"); !slices.Equal(got, want) {
		t.Errorf("Proposed: got %v, want %v", got, want)
	}
	wantRead := "could not read the primary " + addr + ", so the current records and SOA serial are unknown: connect: cannot reach the primary"
	desc, err := e.Describe(ctx, cs.Request{Action: a})
	if err != nil || !strings.Contains(desc, wantRead) {
		t.Errorf("Describe: got %q, %v; want it to say %q", desc, err, wantRead)
	}
	var steps []string
	res, err := e.Execute(ctx, cs.Request{Action: a}, func(s string) error { steps = append(steps, s); return nil })
	if err != nil || !res.DryRun || len(steps) == 0 || !strings.Contains(steps[0], wantRead) {
		t.Errorf("Execute: got %+v, %v, steps %q; want a dry-run result whose first step says %q", res, err, steps, wantRead)
	}
	d, err := e.Prepare(ctx, del("www.example.test.", "A", ""))
	if err != nil {
		t.Fatalf("Prepare delete in a dry run with the primary down: %v", err)
	}
	if desc, err := e.Describe(ctx, cs.Request{Action: d}); err != nil || !strings.Contains(desc, wantRead) {
		t.Errorf("Describe delete: got %q, %v; want it to say %q", desc, err, wantRead)
	}
}
