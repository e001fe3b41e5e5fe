package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github/githubtest"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// TestE2E_GateDecidedInSlack is Countersign as a GitHub App's deployment
// protection rule, through the built binary: a deployment of
// octo-org/web to environment production, waiting in workflow run 4242,
// becomes a request whose card names the run; its creator (monalisa, a
// member of ops through identities) cannot approve it; another of ops
// does, and the fake GitHub records one answer, approved, as the App's
// installation, naming the approver and the request's page; the trail
// has gate.requested and gate.answered and verifies. A deployment to an
// environment no gate names is acknowledged and audited as ignored.
func TestE2E_GateDecidedInSlack(t *testing.T) {
	const (
		mona, ops2 = "U0GTMONA1", "U0GTOPS02"
		run        = 4242
		deployment = 9001
		sha        = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
		appID      = 31337
		install    = 4711
	)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	s := newServe(t, serveOptions{
		GitHub: githubtest.Options{AppID: appID, InstallationID: install, AppPublicKey: &key.PublicKey},
		Config: func(servePeers) string {
			pemJSON, _ := json.Marshal(string(keyPEM)) // YAML takes a JSON string
			return fmt.Sprintf(`
public_url: https://deploy.example.org
github: {app_id: %d, installation_id: %d, private_key: %s}
gates:
  - name: web-production
    repo: octo-org/web
    environment: production
    channel: %s
groups:
  ops: [%s, %s]
identities:
  github: {monalisa: %s}
policies:
  - name: web-production
    actions: [deploy]
    targets: [web-production]
    request: [push]
    approve: [{group: ops, count: 1}]
    expires: 1h
`, appID, install, pemJSON, e2eChannel, mona, ops2, mona)
		}})
	s.GitHub.WaitGate("octo-org/web", run, "production")

	d := githubtest.GateDelivery("e2e-gate-1", githubtest.Gate{Repo: "octo-org/web", Environment: "production",
		Deployment: deployment, Run: run, SHA: sha, Creator: "monalisa", APIURL: s.GitHub.URL(), InstallationID: install})
	if a := s.Deliver(d.Event, d.ID, d.Body); a.Status != 200 || !strings.HasPrefix(a.Body, "ok: R") {
		t.Fatalf("deployment_protection_rule delivery: %s", a)
	}
	requested := s.WaitAudit(func(r auditRecord) bool { return r.Kind == "gate.requested" }, 15*time.Second)
	rid := requested.Request
	var det struct {
		Deployment int64  `json:"deployment"`
		Run        int64  `json:"run"`
		SHA        string `json:"sha"`
		Ref        string `json:"ref"`
	}
	if err := json.Unmarshal(requested.Detail, &det); err != nil {
		t.Fatal(err)
	}
	if det.Deployment != deployment || det.Run != run || det.SHA != sha || det.Ref != "main" || requested.Actor != "github:monalisa" || requested.Target != "web-production" {
		t.Errorf("gate.requested = %+v %s", requested, requested.Detail)
	}
	card := s.WaitMessage(t, hasButton(bot.ButtonApprove), 15*time.Second)
	t.Logf("the gate's card says:\n%s", card.Text)
	all := card.Text + unescapeJSON(card.Blocks)
	for _, want := range []string{"octo-org/web", "production", "waiting in GitHub Actions run #4242", "actions/runs/4242", "github:monalisa"} {
		if !strings.Contains(all, want) {
			t.Errorf("the card of %s does not show %q", rid, want)
		}
	}
	value := buttonValue(card, bot.ButtonApprove)

	// Her own deployment: refused, nothing answered.
	s.Approve(t, mona, value)
	s.WaitAudit(func(r auditRecord) bool { return r.Kind == "approval.refused" && r.Actor == mona }, 10*time.Second)
	if n := len(s.GitHub.GateReviews()); n != 0 {
		t.Fatalf("GitHub answered after the creator's own approval: %d", n)
	}

	s.Approve(t, ops2, value)
	answered := s.WaitAudit(func(r auditRecord) bool { return r.Kind == "gate.answered" && r.Request == rid }, 30*time.Second)
	if !strings.Contains(string(answered.Detail), `"state":"approved"`) {
		t.Errorf("gate.answered = %s", answered.Detail)
	}
	reviews := s.GitHub.GateReviews()
	if len(reviews) != 1 {
		t.Fatalf("GitHub took %d answers, want 1: %+v", len(reviews), reviews)
	}
	rv := reviews[0]
	if rv.Repo != "octo-org/web" || rv.Run != run || rv.EnvironmentName != "production" || rv.State != "approved" ||
		!strings.Contains(rv.Comment, ops2) || !strings.Contains(rv.Comment, "https://deploy.example.org/requests/"+rid) {
		t.Errorf("GitHub's answer = %+v", rv)
	}
	s.WaitMessage(t, func(m slacktest.Message) bool {
		return m.TS == card.TS && strings.Contains(m.Text, "approved — GitHub Actions deploys")
	}, 10*time.Second)
	s.NoExecution(t, rid)

	// No gate for staging: acknowledged, audited as ignored.
	other := githubtest.GateDelivery("e2e-gate-2", githubtest.Gate{Repo: "octo-org/web", Environment: "staging",
		Deployment: deployment + 1, Run: run + 1, SHA: sha, APIURL: s.GitHub.URL()})
	if a := s.Deliver(other.Event, other.ID, other.Body); a.Status != 200 || !strings.Contains(a.Body, `no gate for environment "staging"`) {
		t.Errorf("delivery for staging: %s", a)
	}
	s.WaitAudit(func(r auditRecord) bool {
		return r.Kind == "webhook.received" && strings.Contains(string(r.Detail), `no gate for environment \"staging\"`)
	}, 10*time.Second)
	s.AuditVerify()
}
