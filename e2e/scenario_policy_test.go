package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// TestE2E_PolicyLooseningCountersigned is a loosening of the rules sent
// to the running binary by SIGHUP: production deploys needed two of ops,
// the new file needs one. The reload becomes a policy request, approved
// by an owner (the policy for action policy); until then a deploy still
// needs two approvals (one leaves it pending and the service on v1).
// After the approval the new file is in force: a new deploy runs after
// one approval. The trail verifies and shows both versions (config.loaded
// with previous_hash, config.proposed with the difference), with the
// secrets redacted.
func TestE2E_PolicyLooseningCountersigned(t *testing.T) {
	requireDocker(t)
	lap := laps(t)
	t.Log(swarmManager(t))
	lap("swarm ready")

	const (
		dev   = "U0PCDEV01"
		ops1  = "U0PCOPS01"
		ops2  = "U0PCOPS02"
		owner = "U0PCOWN01"
	)
	reg := startRegistry(t)
	image := reg + "/e2e/ruled"
	v1 := pushWorkload(t, image, "v1")
	v2 := pushWorkload(t, image, "v2")
	digest := strings.TrimPrefix(v2, image+"@")
	swarmName := fmt.Sprintf("%s%d-ruled", runPrefix, time.Now().UnixNano())
	createSwarmService(t, swarmName, v1, 1)
	lap("registry and service on v1")

	s := newServe(t, serveOptions{Config: func(servePeers) string {
		return fmt.Sprintf(`
engines:
  local: {host: "unix:///var/run/docker.sock"}
services:
  - name: ruled
    kind: swarm
    channel: %s
    image: %s
    engine: local
    swarm_service: %s
groups:
  devs: [%s]
  ops: [%s, %s]
  owners: [%s]
policies:
  - name: production
    actions: [deploy]
    targets: [ruled]
    request: [group:devs]
    approve: [{group: ops, count: 2}]
    expires: 1h
  - name: rules
    actions: [policy]
    targets: [policies]
    request: [group:ops]
    approve: [{group: owners, count: 1}]
    expires: 1h
`, e2eChannel, image, swarmName, dev, ops1, ops2, owner)
	}})
	lap("countersign serve healthy")
	start := s.WaitAudit(func(r auditRecord) bool { return r.Kind == "config.loaded" }, 10*time.Second)
	var first struct {
		Hash string `json:"hash"`
	}
	json.Unmarshal(start.Detail, &first)

	// A deploy under the rules in force: two of ops.
	if a := s.Slash(dev, "deploy ruled "+digest); a.Status != 200 {
		t.Fatalf("/cs deploy: %s", a)
	}
	deploy := s.WaitMessage(t, func(m slacktest.Message) bool {
		return hasButton(bot.ButtonApprove)(m) && strings.Contains(m.Text, "ops 0/2")
	}, 15*time.Second)
	deployValue := buttonValue(deploy, bot.ButtonApprove)

	// The loosening: one of ops. Written over the file, sent by SIGHUP.
	loosen(t, s.Config)
	s.mu.Lock()
	s.proc.cmd.Process.Signal(syscall.SIGHUP)
	s.mu.Unlock()
	proposed := s.WaitAudit(func(r auditRecord) bool { return r.Kind == "config.proposed" }, 20*time.Second)
	rid := proposed.Request
	if proposed.Actor != "countersign" || proposed.Action != "policy" || proposed.Target != "policies" {
		t.Errorf("config.proposed: actor %s, action %s, target %s; want countersign, policy, policies", proposed.Actor, proposed.Action, proposed.Target)
	}
	var prop struct {
		Hash     string `json:"hash"`
		Previous string `json:"previous_hash"`
		Changes  []struct {
			Path, Direction, Before, After string
		} `json:"changes"`
		Config map[string]any `json:"config"`
	}
	if err := json.Unmarshal(proposed.Detail, &prop); err != nil {
		t.Fatal(err)
	}
	t.Logf("config.proposed %s: %s → %s, changes %+v", rid, prop.Previous, prop.Hash, prop.Changes)
	if prop.Previous != first.Hash || prop.Hash == first.Hash || len(prop.Changes) == 0 || prop.Config == nil {
		t.Errorf("config.proposed detail: %s", proposed.Detail)
	}
	card := s.WaitMessage(t, func(m slacktest.Message) bool {
		return hasButton(bot.ButtonApprove)(m) && strings.HasPrefix(buttonValue(m, bot.ButtonApprove), rid+":")
	}, 15*time.Second)
	t.Logf("the proposal's card says:\n%s", card.Text)
	for _, want := range []string{"looser", "production", "2 from ops", "1 from ops", "owners 0/1"} {
		if !strings.Contains(card.Text+unescapeJSON(card.Blocks), want) {
			t.Errorf("the proposal's card does not show %q", want)
		}
	}
	lap("SIGHUP: the loosening waits for approval")

	// Until it is approved, the old rules decide: one of two is not enough.
	s.Approve(t, ops1, deployValue)
	s.WaitMessage(t, func(m slacktest.Message) bool { return m.TS == deploy.TS && strings.Contains(m.Text, "ops 1/2") }, 10*time.Second)
	s.NoExecution(t, strings.SplitN(deployValue, ":", 2)[0])
	fzRuns(t, swarmName, v1)
	lap("a deploy still needs two")

	s.Approve(t, owner, buttonValue(card, bot.ButtonApprove))
	loaded := s.WaitAudit(func(r auditRecord) bool { return r.Kind == "config.loaded" && r.Seq > proposed.Seq }, 20*time.Second)
	var ld struct {
		Hash     string `json:"hash"`
		Previous string `json:"previous_hash"`
		Request  string `json:"request"`
	}
	json.Unmarshal(loaded.Detail, &ld)
	if ld.Hash != prop.Hash || ld.Previous != first.Hash || ld.Request != rid {
		t.Errorf("config.loaded after the approval: %s", loaded.Detail)
	}
	lap("approved: the new config is in force")
	if a := s.Slash(ops1, "policy show"); a.Status != 200 {
		t.Fatalf("/cs policy show: %s", a)
	}
	s.WaitReply(t, ops1, func(text string) bool {
		return strings.Contains(text, ld.Hash[:12]) && strings.Contains(text, "production: deploy on ruled requested by group:devs, approvals: 1 from ops")
	}, 10*time.Second)

	// Under the new rules one of ops is enough.
	if a := s.Slash(dev, "deploy ruled "+digest); a.Status != 200 {
		t.Fatalf("/cs deploy: %s", a)
	}
	second := s.WaitMessage(t, func(m slacktest.Message) bool {
		return hasButton(bot.ButtonApprove)(m) && strings.Contains(m.Text, "ops 0/1")
	}, 15*time.Second)
	s.Approve(t, ops2, buttonValue(second, bot.ButtonApprove))
	waitConverged(t, swarmName, v2, 1, 60*time.Second)
	lap("one approval deployed v2")

	count, head := s.AuditVerify()
	recs := s.Audit()
	if count != len(recs) || recs[len(recs)-1].Hash != head {
		t.Errorf("audit verify: %d records, head %s; export: %d records", count, head, len(recs))
	}
	var versions []string
	for _, r := range recs {
		if r.Kind == "config.loaded" || r.Kind == "config.proposed" {
			var d struct {
				Hash string `json:"hash"`
			}
			json.Unmarshal(r.Detail, &d)
			versions = append(versions, r.Kind+":"+d.Hash[:12])
			for _, secret := range s.Secrets.all() {
				if secret != "" && strings.Contains(string(r.Detail), secret) {
					t.Errorf("%s holds a secret", r.Kind)
				}
			}
			if !strings.Contains(string(r.Detail), "[redacted]") {
				t.Errorf("%s does not show the config with its secrets redacted: %s", r.Kind, r.Detail)
			}
		}
	}
	t.Logf("config versions in the trail: %s", strings.Join(versions, " "))
	if len(versions) < 3 {
		t.Errorf("the trail shows %d config records, want the start's, the proposal and the approved load", len(versions))
	}
	lap("audit verified")
}

// loosen rewrites the config at path so that production needs one of ops.
func loosen(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	pol := cfg["policies"].([]any)[0].(map[string]any)
	pol["approve"] = []any{map[string]any{"group": "ops", "count": 1}}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, out)
}
