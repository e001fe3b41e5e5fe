package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack/slacktest"
	"github.com/countersign/countersign/executors/dns/bindtest"
)

// TestE2E_DNSTwoGroups is a DNS change through the assembled bot against
// a real BIND 9 primary: `dns set` needs one approval from each of two
// groups. One netops approval leaves it pending, and a second netops
// member cannot fill the owners' line. Before the owner approves,
// someone changes the record behind the bot's back (TSIG-signed, on the
// same named); the owner's approval then runs a change that no longer
// holds, so the execution fails, nothing is sent, the thread says the
// records changed and what they are now, and named still holds the
// out-of-band value. The same command again, approved by both groups,
// leaves exactly the new record on named. The trail verifies, and the
// TSIG secret is in neither the bot's log nor its trail.
func TestE2E_DNSTwoGroups(t *testing.T) {
	// Parallel with the other scenarios that wait more than they work
	// (the outage's minute, Slack's pacing): CI time, not a dependency.
	t.Parallel()
	lap := laps(t)
	ns := bindtest.Start(t, bindtest.Options{}) // skips, or fails under CI, without named
	lap("named started")

	const (
		name      = "www.example.test" // the seed has www 300 A 192.0.2.1
		seeded    = "192.0.2.1"
		outOfBand = "192.0.2.99"
		wanted    = "192.0.2.10"
		requester = "U0DNSREQ1"
		netops1   = "U0DNSNET1"
		netops2   = "U0DNSNET2"
		owner     = "U0DNSOWN1"
	)
	fqdn := name + "."
	rr := func(value string) string { return fmt.Sprintf("%s\t300\tA\t%s", fqdn, value) } // as bindtest queries it
	line := func(value string) string { return fmt.Sprintf("%s 300 A %s", fqdn, value) }  // as the bot shows it
	if got := ns.Query(t, fqdn, "A"); !slices.Equal(got, []string{rr(seeded)}) {
		t.Fatalf("named holds %q before the scenario, want the seed %q", got, rr(seeded))
	}

	s := newServe(t, serveOptions{Config: func(servePeers) string {
		return fmt.Sprintf(`
dns:
  - zone: %s
    server: %s
    tsig_key: %s
    tsig_algorithm: %s
    tsig_secret: %q
    types: [A, TXT]
groups:
  netops: [%s, %s]
  owners: [%s]
policies:
  - name: dns-two-groups
    actions: [dns]
    targets: ["*.%s"]
    request: [%s]
    approve:
      - {group: netops, count: 1}
      - {group: owners, count: 1}
    expires: 30m
`, bindtest.Zone, ns.Addr, ns.Key, ns.Algorithm, ns.Secret.Reveal(),
			netops1, netops2, owner, bindtest.Zone, requester)
	}})
	t.Cleanup(func() { dnsNoSecret(t, s, ns.Secret.Reveal()) })
	lap("countersign serve healthy")

	command := fmt.Sprintf("dns set %s A %s", name, wanted)
	if a := s.Slash(requester, command); a.Status != 200 {
		t.Fatalf("/cs %s: %s", command, a)
	}
	card := dnsCard(t, s, "", 15*time.Second)
	rid, value := dnsButton(t, card)
	// The approver sees the records as they are and as they will be, and
	// the prerequisite that binds the UPDATE to what they saw.
	dnsShows(t, card, "Current: "+line(seeded)+"\n", "Proposed: "+line(wanted)+"\n",
		"prerequisite: "+fqdn+" A is exactly {"+seeded+"}")
	lap("approval asked")

	// One of netops: still pending, nothing sent.
	s.Approve(t, netops1, value)
	s.WaitAudit(func(r auditRecord) bool {
		return r.Kind == "approval.granted" && r.Request == rid && r.Actor == netops1
	}, 10*time.Second)
	s.WaitMessage(t, func(m slacktest.Message) bool {
		return m.TS == card.TS && strings.Contains(m.Text, "netops 1/1") && strings.Contains(m.Text, "owners 0/1")
	}, 10*time.Second)
	// Another of netops cannot fill the owners' line.
	s.Approve(t, netops2, value)
	why := s.WaitReply(t, netops2, func(text string) bool { return strings.Contains(text, rid) }, 10*time.Second)
	t.Logf("the second netops member was told: %s", why)
	s.WaitAudit(func(r auditRecord) bool {
		return r.Kind == "approval.refused" && r.Request == rid && r.Actor == netops2
	}, 10*time.Second)
	s.NoExecution(t, rid)
	if got := ns.Query(t, fqdn, "A"); !slices.Equal(got, []string{rr(seeded)}) {
		t.Fatalf("after one approval named holds %q, want still %q", got, rr(seeded))
	}
	lap("one of two groups approved")

	// Someone changes the record behind the bot's back, TSIG-signed, on
	// the same primary.
	ns.Update(t, []string{fqdn + " A"}, []string{rr(outOfBand)})
	serial := ns.Serial(t)
	lap("out-of-band change")

	s.Approve(t, owner, value)
	failed := s.WaitAudit(func(r auditRecord) bool {
		return r.Request == rid && (r.Kind == "execution.failed" || r.Kind == "execution.succeeded")
	}, 20*time.Second)
	if failed.Kind != "execution.failed" {
		t.Fatalf("%s ran over a record changed since approval: %s %s", rid, failed.Kind, failed.Detail)
	}
	if d := string(failed.Detail); !strings.Contains(d, "changed since approval") || !strings.Contains(d, outOfBand) {
		t.Errorf("execution.failed detail %s: want the records changed since approval, now %s", d, outOfBand)
	}
	// The executor reads the RRset before it sends the UPDATE, so a change
	// made before the last approval is caught by that read; the UPDATE's
	// own prerequisites (YXRRSET/NXRRSET) catch one made after it, which
	// only executors/dns's tests can time.
	if strings.Contains(string(failed.Detail), "prerequisites did not hold") {
		t.Logf("caught by the UPDATE's prerequisites")
	} else {
		t.Logf("caught by the read before the UPDATE (no UPDATE sent)")
	}
	reply := s.WaitMessage(t, func(m slacktest.Message) bool {
		return m.ThreadTS == card.TS && strings.Contains(m.Text, "failed")
	}, 10*time.Second)
	t.Logf("the thread says: %s", reply.Text)
	if !strings.Contains(reply.Text, "changed since approval") || !strings.Contains(reply.Text, outOfBand) {
		t.Errorf("the thread says %q; want that the records changed since approval and what they are now (%s)", reply.Text, outOfBand)
	}
	if got := ns.Query(t, fqdn, "A"); !slices.Equal(got, []string{rr(outOfBand)}) {
		t.Errorf("after the failed execution named holds %q, want the out-of-band %q", got, rr(outOfBand))
	}
	if got := ns.Serial(t); got != serial {
		t.Errorf("the SOA serial moved from %d to %d: the bot changed the zone although it failed", serial, got)
	}
	lap("second approval; execution refused the changed RRset")

	// A clean retry: the same command, now over the records as they are.
	if a := s.Slash(requester, command); a.Status != 200 {
		t.Fatalf("/cs %s again: %s", command, a)
	}
	card2 := dnsCard(t, s, rid, 15*time.Second)
	rid2, value2 := dnsButton(t, card2)
	dnsShows(t, card2, "Current: "+line(outOfBand)+"\n", "Proposed: "+line(wanted)+"\n")
	s.Approve(t, owner, value2)
	s.WaitAudit(func(r auditRecord) bool { return r.Kind == "approval.granted" && r.Request == rid2 }, 10*time.Second)
	s.NoExecution(t, rid2)
	s.Approve(t, netops2, value2)
	done := s.WaitAudit(func(r auditRecord) bool {
		return r.Request == rid2 && (r.Kind == "execution.failed" || r.Kind == "execution.succeeded")
	}, 20*time.Second)
	if done.Kind != "execution.succeeded" {
		t.Fatalf("the retry %s: %s %s", rid2, done.Kind, done.Detail)
	}
	lap("retry approved by both groups; executed")
	if got := ns.Query(t, fqdn, "A"); !slices.Equal(got, []string{rr(wanted)}) {
		t.Errorf("after %s named holds %q, want exactly %q", rid2, got, rr(wanted))
	}
	if got := ns.Serial(t); got <= serial {
		t.Errorf("SOA serial %d after %s, want more than %d", got, rid2, serial)
	}
	s.WaitMessage(t, func(m slacktest.Message) bool {
		return m.ThreadTS == card2.TS && strings.Contains(m.Text, "succeeded") && strings.Contains(m.Text, wanted)
	}, 10*time.Second)
	lap("named holds the new value; thread says so")

	count, head := s.AuditVerify()
	recs := s.Audit()
	if count != len(recs) || recs[len(recs)-1].Hash != head {
		t.Errorf("audit verify: %d records, head %s; export: %d records", count, head, len(recs))
	}
	var granted []string
	for _, r := range recs {
		switch {
		case r.Kind == "approval.granted":
			granted = append(granted, r.Request+":"+r.Actor)
		case r.Kind == "execution.started" && r.Request != rid && r.Request != rid2:
			t.Errorf("an execution of %s, want only %s and %s", r.Request, rid, rid2)
		}
	}
	if want := []string{rid + ":" + netops1, rid + ":" + owner, rid2 + ":" + owner, rid2 + ":" + netops2}; !slices.Equal(granted, want) {
		t.Errorf("approvals granted %q, want %q", granted, want)
	}
	created := dnsRecord(t, recs, "request.created", rid)
	var c struct {
		Action struct {
			DNS struct {
				Current, Proposed []struct {
					Value string
					TTL   int
				}
			} `json:"dns"`
		} `json:"action"`
	}
	if err := json.Unmarshal(created.Detail, &c); err != nil {
		t.Fatalf("request.created of %s: %v", rid, err)
	}
	cur, prop := c.Action.DNS.Current, c.Action.DNS.Proposed
	if len(cur) != 1 || cur[0].Value != seeded || len(prop) != 1 || prop[0].Value != wanted || prop[0].TTL != 300 {
		t.Errorf("request.created of %s holds current %+v, proposed %+v: want %s → %s (TTL 300)", rid, cur, prop, seeded, wanted)
	}
	lap("audit verified")
}

// dnsCard waits for a request message with an Approve button for a
// request other than not, and returns it.
func dnsCard(t *testing.T, s *serveRun, not string, timeout time.Duration) slacktest.Message {
	t.Helper()
	return s.WaitMessage(t, func(m slacktest.Message) bool {
		v := buttonValue(m, bot.ButtonApprove)
		return v != "" && (not == "" || !strings.HasPrefix(v, not+":"))
	}, timeout)
}

// dnsShows fails the test unless the request message's text holds each
// of wants.
func dnsShows(t *testing.T, card slacktest.Message, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(card.Text, want) {
			t.Errorf("the request message does not show %q:\n%s", want, card.Text)
		}
	}
}

// dnsButton returns the request ID and the Approve button's value of a
// request message.
func dnsButton(t *testing.T, card slacktest.Message) (string, string) {
	t.Helper()
	value := buttonValue(card, bot.ButtonApprove)
	rid, _, err := bot.ParseButtonValue(value)
	if err != nil {
		t.Fatalf("Approve button %q: %v", value, err)
	}
	return string(rid), value
}

// dnsRecord returns the one record of kind for request rid.
func dnsRecord(t *testing.T, recs []auditRecord, kind, rid string) auditRecord {
	t.Helper()
	var found []auditRecord
	for _, r := range recs {
		if r.Kind == kind && r.Request == rid {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s records for %s, want one", len(found), kind, rid)
	}
	return found[0]
}

// dnsNoSecret fails the test if secret reached the bot's log or its
// audit trail (the harness checks only its own secrets).
func dnsNoSecret(t *testing.T, s *serveRun, secret string) {
	t.Helper()
	if strings.Contains(s.Log(), secret) {
		t.Errorf("the TSIG secret reached the bot's log")
	}
	if !s.Running() {
		return
	}
	for _, r := range s.Audit() {
		if strings.Contains(string(r.Detail), secret) {
			t.Errorf("the TSIG secret is in audit record %d (%s)", r.Seq, r.Kind)
		}
	}
}
