package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// fzZone is the freeze window's time zone: fourteen hours ahead of UTC,
// so that a window written in its wall-clock time covers now only if the
// bot reads it in that zone (not in UTC, not in the machine's zone).
const fzZone = "Pacific/Kiritimati"

// TestE2E_FreezeAndBreakGlass is a change freeze in force, with its
// break-glass route, on a real Swarm service: a deploy by digest inside
// the window is refused (request.refused, the message names the freeze,
// the service on the engine still runs v1); the same deploy with
// --break-glass needs the window's approvals, two of ops, not the
// policy's one: after one it is still pending and the service untouched,
// after the second the service converges on v2. The trail records the
// break-glass decision and its reason, and verifies.
func TestE2E_FreezeAndBreakGlass(t *testing.T) {
	requireDocker(t)
	lap := laps(t)
	t.Log(swarmManager(t))
	lap("swarm ready")

	const (
		dev    = "U0FZDEV01" // asks for the deploys
		ops1   = "U0FZOPS01"
		ops2   = "U0FZOPS02"
		reason = "incident 42"
		window = "e2e-freeze"
	)
	reg := startRegistry(t)
	image := reg + "/e2e/frozen"
	v1 := pushWorkload(t, image, "v1")
	v2 := pushWorkload(t, image, "v2")
	digest := strings.TrimPrefix(v2, image+"@")
	swarmName := fmt.Sprintf("%s%d-frozen", runPrefix, time.Now().UnixNano())
	createSwarmService(t, swarmName, v1, 1)
	lap("registry and service on v1")

	loc, err := time.LoadLocation(fzZone)
	if err != nil {
		t.Fatalf("time zone %s: %v", fzZone, err)
	}
	now := time.Now().In(loc)
	from, to := now.Add(-2*time.Hour).Format("2006-01-02 15:04"), now.Add(2*time.Hour).Format("2006-01-02 15:04")
	t.Logf("freeze window %s: %s to %s %s (now %s there, %s UTC)", window, from, to, fzZone,
		now.Format("2006-01-02 15:04"), now.UTC().Format("2006-01-02 15:04"))

	s := newServe(t, serveOptions{Config: func(servePeers) string {
		return fmt.Sprintf(`
engines:
  local: {host: "unix:///var/run/docker.sock"}
services:
  - name: frozen
    kind: swarm
    channel: %s
    image: %s
    engine: local
    swarm_service: %s
groups:
  devs: [%s]
  ops: [%s, %s]
policies:
  - name: production
    actions: [deploy]
    targets: [frozen]
    request: [group:devs]
    approve: [{group: ops, count: 1}]
    expires: 1h
windows:
  - name: %s
    actions: [deploy]
    targets: ["*"]
    deny: {from: %q, to: %q, tz: %s}
    break_glass:
      approve: [{group: ops, count: 2}]
`, e2eChannel, image, swarmName, dev, ops1, ops2, window, from, to, fzZone)
	}})
	lap("countersign serve healthy")

	// Inside the freeze a plain deploy is refused, and says why.
	if a := s.Slash(dev, "deploy frozen "+digest); a.Status != 200 {
		t.Fatalf("/cs deploy frozen %s: %s", digest, a)
	}
	refused := s.WaitAudit(func(r auditRecord) bool { return r.Kind == "request.refused" }, 15*time.Second)
	rid := refused.Request
	if d := string(refused.Detail); !strings.Contains(d, "change freeze") || !strings.Contains(d, window) || !strings.Contains(d, "--break-glass") {
		t.Errorf("request.refused detail %s: want the freeze %s named and the --break-glass route", d, window)
	}
	msg := s.WaitMessage(t, func(m slacktest.Message) bool { return strings.HasPrefix(m.Text, rid+" ") }, 10*time.Second)
	t.Logf("the refusal says:\n%s", msg.Text)
	if !strings.Contains(msg.Text, "change freeze") || !strings.Contains(msg.Text, window) {
		t.Errorf("the message of %s does not say the freeze %s refused it:\n%s", rid, window, msg.Text)
	}
	if buttonValue(msg, bot.ButtonApprove) != "" {
		t.Errorf("the refused %s has an Approve button", rid)
	}
	s.NoExecution(t, rid)
	fzRuns(t, swarmName, v1)
	lap("plain deploy refused by the freeze")

	// Break-glass: the window's approvals, two of ops.
	if a := s.Slash(dev, fmt.Sprintf("deploy frozen %s --break-glass %q", digest, reason)); a.Status != 200 {
		t.Fatalf("/cs deploy frozen … --break-glass: %s", a)
	}
	card := s.WaitMessage(t, hasButton(bot.ButtonApprove), 15*time.Second)
	value := buttonValue(card, bot.ButtonApprove)
	brid, _, err := bot.ParseButtonValue(value)
	if err != nil {
		t.Fatalf("Approve button: %v", err)
	}
	rid2 := string(brid)
	t.Logf("the break-glass request says:\n%s", card.Text)
	for _, want := range []string{reason, window, "ops 0/2", v2} {
		if !strings.Contains(card.Text+unescapeJSON(card.Blocks), want) {
			t.Errorf("the break-glass request %s does not show %q:\n%s", rid2, want, card.Text)
		}
	}
	asked := s.WaitAudit(func(r auditRecord) bool { return r.Kind == "approval.requested" && r.Request == rid2 }, 10*time.Second)
	var req struct {
		Window     string `json:"window"`
		BreakGlass bool   `json:"break_glass"`
		Requires   []struct {
			Group string
			Count int
		} `json:"requires"`
	}
	if err := json.Unmarshal(asked.Detail, &req); err != nil {
		t.Fatal(err)
	}
	if !req.BreakGlass || req.Window != window || len(req.Requires) != 1 || req.Requires[0].Group != "ops" || req.Requires[0].Count != 2 {
		t.Errorf("approval.requested of %s: %s; want break_glass in window %s, needing 2 of ops", rid2, asked.Detail, window)
	}
	lap("break-glass asks the window's approvals")

	s.Approve(t, ops1, value)
	s.WaitAudit(func(r auditRecord) bool {
		return r.Kind == "approval.granted" && r.Request == rid2 && r.Actor == ops1
	}, 10*time.Second)
	s.WaitMessage(t, func(m slacktest.Message) bool { return m.TS == card.TS && strings.Contains(m.Text, "ops 1/2") }, 10*time.Second)
	// The policy's one approval is not enough inside the window.
	s.NoExecution(t, rid2)
	fzRuns(t, swarmName, v1)
	lap("one of two: still pending")

	s.Approve(t, ops2, value)
	waitConverged(t, swarmName, v2, 1, 60*time.Second)
	lap("second approval; service converged on v2")
	done := s.WaitAudit(func(r auditRecord) bool {
		return r.Request == rid2 && (r.Kind == "execution.succeeded" || r.Kind == "execution.failed")
	}, 30*time.Second)
	if done.Kind != "execution.succeeded" {
		t.Fatalf("%s: %s %s", rid2, done.Kind, done.Detail)
	}

	count, head := s.AuditVerify()
	recs := s.Audit()
	if count != len(recs) || recs[len(recs)-1].Hash != head {
		t.Errorf("audit verify: %d records, head %s; export: %d records", count, head, len(recs))
	}
	var kinds []string
	for _, r := range recs {
		if r.Request == rid || r.Request == rid2 {
			kinds = append(kinds, r.Request+":"+r.Kind)
		}
	}
	t.Logf("the trail of %s and %s: %s", rid, rid2, strings.Join(kinds, " "))
	for _, r := range recs {
		if r.Kind != "request.created" || (r.Request != rid && r.Request != rid2) {
			continue
		}
		var c struct {
			Action struct {
				Image      string `json:"image"`
				BreakGlass string `json:"break_glass"`
			} `json:"action"`
			Decision struct {
				Verdict    string `json:"verdict"`
				Policy     string `json:"policy"`
				Window     string `json:"window"`
				BreakGlass bool   `json:"break_glass"`
			} `json:"decision"`
		}
		if err := json.Unmarshal(r.Detail, &c); err != nil {
			t.Fatalf("request.created of %s: %v", r.Request, err)
		}
		t.Logf("request.created %s: image %s, break-glass %q, decision %+v", r.Request, c.Action.Image, c.Action.BreakGlass, c.Decision)
		if c.Action.Image != v2 || c.Decision.Window != window || c.Decision.Policy != "production" {
			t.Errorf("request.created of %s: image %s, decision %+v; want %s in window %s under production", r.Request, c.Action.Image, c.Decision, v2, window)
		}
		wantBG, wantReason := r.Request == rid2, ""
		if wantBG {
			wantReason = reason
		}
		if c.Decision.BreakGlass != wantBG || c.Action.BreakGlass != wantReason {
			t.Errorf("request.created of %s: break_glass %v with reason %q, want %v with %q", r.Request, c.Decision.BreakGlass, c.Action.BreakGlass, wantBG, wantReason)
		}
	}
	lap("audit verified")
}

// fzRuns fails the test unless the service's spec still names image.
func fzRuns(t *testing.T, name, image string) {
	t.Helper()
	st, err := swarmState(name)
	if err != nil || st.Image != image {
		t.Fatalf("service %s runs %q (%v), want still %s", name, st.Image, err, image)
	}
}
