package dryrun

import (
	"context"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
)

func dnsAdd(ttl uint32) cs.Request {
	return cs.Request{Action: cs.Action{Kind: cs.ActionDNS, Target: "example.org.",
		DNS: &cs.DNSChange{Op: cs.DNSAdd, Name: "example.org.", Type: "MX", Value: "20 mail2.example.org.", TTL: ttl}}}
}

// TestDNS_add: the stand-in describes an add as adding one record under
// the exact-RRset prerequisite, deleting nothing.
func TestDNS_add(t *testing.T) {
	d := &DNS{Zone: "example.org", Server: "ns0:53", Key: "deploy.", Algorithm: "hmac-sha256"}
	for _, tc := range []struct {
		name string
		req  cs.Request
		want string
	}{
		{"without TTL", dnsAdd(0), "add example.org. MX 20 mail2.example.org. with the TTL of the records there (or the zone's default for the first), keeping the other example.org. MX records"},
		{"with TTL", dnsAdd(300), "add example.org. MX 20 mail2.example.org. with TTL 300, keeping the other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.Describe(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{"DRY RUN: ", "prerequisite that example.org. MX is exactly the RRset the approver saw", tc.want} {
				if !strings.Contains(got, w) {
					t.Errorf("description lacks %q:\n%s", w, got)
				}
			}
			if strings.Contains(got, "delete") {
				t.Errorf("an add deletes something:\n%s", got)
			}
			var steps []string
			res, err := d.Execute(context.Background(), tc.req, func(s string) error { steps = append(steps, s); return nil })
			if err != nil || !res.DryRun || len(steps) != 2 || !strings.Contains(steps[0], tc.want) {
				t.Errorf("Execute: %+v, %v, steps %q", res, err, steps)
			}
		})
	}
	bad := dnsAdd(0)
	bad.Action.DNS.Op = "upsert"
	if got, err := d.Describe(context.Background(), bad); err == nil {
		t.Errorf("Describe of dns upsert: got %q, want an error", got)
	}
}
