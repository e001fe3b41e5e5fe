package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github/githubtest"
)

// TestE2E_PushToSwarmService is the push-to-deploy flow end to end: a push
// to a followed branch of a Swarm service with `build: docker` gets its
// image built from the commit's tarball and pushed to the registry, asks
// one approver of ops in Slack, refuses the commit author's own click,
// takes an ops user's, and deploys: the service on this machine's swarm
// then runs exactly the digest the registry holds for the commit, GitHub
// has the commit status and the deployment, and the audit trail verifies
// and holds every step.
func TestE2E_PushToSwarmService(t *testing.T) {
	requireDocker(t)
	lap := laps(t)
	t.Log(swarmManager(t))
	lap("swarm ready")

	const (
		repo    = "e2e-org/web"
		branch  = "live"
		author  = "alice-e2e" // GitHub login of the commit's author
		authorU = "U0E2EOPS1" // her Slack user: in ops, but she wrote the commit
		opsU    = "U0E2EOPS2" // another ops member: the approver
	)
	reg := startRegistry(t)
	image := reg + "/e2e/web"
	initial := pushWorkload(t, image, "v0")
	swarmName := fmt.Sprintf("%s%d-web", runPrefix, time.Now().UnixNano())
	createSwarmService(t, swarmName, initial, 1)
	lap("registry and service")

	sha := randomHex(t, 20)
	s := newServe(t, serveOptions{
		GitHub: githubtest.Options{Tarballs: map[string][]byte{repo + "@" + sha: workloadRepo(t, repo, sha, sha[:7])}},
		Config: func(servePeers) string {
			return fmt.Sprintf(`
engines:
  local: {host: "unix:///var/run/docker.sock"}
services:
  - name: web
    kind: swarm
    repo: %s
    branch: %s
    channel: %s
    image: %s
    build: {mode: docker, engine: local, timeout: 2m}
    engine: local
    swarm_service: %s
groups:
  ops: [%s, %s]
identities:
  github: {%s: %s}
policies:
  - name: production
    actions: [deploy]
    targets: [web]
    request: [push]
    approve: [{group: ops, count: 1}]
    expires: 1h
`, repo, branch, e2eChannel, image, swarmName, authorU, opsU, author, authorU)
		},
	})
	lap("countersign serve healthy")

	if a := s.Push(repo, branch, sha, author); a.Status != 200 || !strings.Contains(a.Body, "web") {
		t.Fatalf("push: %s, want 200 and a deploy thread for web", a)
	}
	card := s.WaitMessage(t, hasButton(bot.ButtonApprove), 90*time.Second)
	lap("built; approval asked")
	// Only now does the registry hold the commit's image: the build
	// pushed it before the request was made.
	built := registryDigest(t, image, sha)
	if built == initial {
		t.Fatalf("the build pushed the image the service already runs (%s)", built)
	}
	value := buttonValue(card, bot.ButtonApprove)
	rid, _, err := bot.ParseButtonValue(value)
	if err != nil {
		t.Fatalf("Approve button: %v", err)
	}
	if deny := buttonValue(card, bot.ButtonDeny); deny != value {
		t.Errorf("Deny button value %q, want the Approve button's %q", deny, value)
	}
	if blocks := unescapeJSON(card.Blocks); !strings.Contains(blocks, built) || !strings.Contains(blocks, string(rid)) {
		t.Errorf("the approval message does not show %s and the image it deploys (%s):\n%s", rid, built, blocks)
	}
	if card.Channel != e2eChannel {
		t.Errorf("approval asked in %s, want the service's channel %s", card.Channel, e2eChannel)
	}

	// The author's own click does not count, and she is told why.
	if a := s.Click(authorU, bot.ButtonApprove, value); a.Status != 200 {
		t.Fatalf("author's click: %s", a)
	}
	why := s.WaitReply(t, authorU, func(text string) bool { return strings.Contains(text, string(rid)) }, 15*time.Second)
	t.Logf("the author was told: %s", why)
	if !strings.Contains(why, "author") {
		t.Errorf("the author was told %q, want the reason (the commit's author cannot approve)", why)
	}
	refused := s.WaitAudit(func(r auditRecord) bool { return r.Kind == "approval.refused" && r.Actor == authorU }, 10*time.Second)
	if refused.Request != string(rid) || !strings.Contains(string(refused.Detail), "author") {
		t.Errorf("approval.refused = %+v, want request %s with the author rule as reason", refused, rid)
	}
	if st, err := swarmState(swarmName); err != nil || st.Image != initial {
		t.Fatalf("after the author's click the service runs %q (%v), want still %s", st.Image, err, initial)
	}
	lap("author's click refused")

	if a := s.Click(opsU, bot.ButtonApprove, value); a.Status != 200 {
		t.Fatalf("ops click: %s", a)
	}
	// The peer is the judge: the spec names the built digest, and every
	// task runs a container of that image.
	st := waitConverged(t, swarmName, built, 1, 90*time.Second)
	lap("approved; service converged")
	for _, task := range st.Tasks {
		if task.Container == "" || !slices.Contains(containerDigests(t, task.Container), built) {
			t.Errorf("task %s (container %q) does not run %s", task.ID, task.Container, built)
		}
	}
	s.WaitAudit(func(r auditRecord) bool { return r.Kind == "execution.succeeded" && r.Request == string(rid) }, 30*time.Second)

	checkGitHubReports(t, s.GitHub, repo, sha)
	lap("GitHub reports")

	count, head := s.AuditVerify()
	recs := s.Audit()
	if count != len(recs) || recs[len(recs)-1].Hash != head {
		t.Errorf("audit verify: %d records, head %s; export: %d records, last %s", count, head, len(recs), recs[len(recs)-1].Hash)
	}
	kinds := map[string][]auditRecord{}
	for _, r := range recs {
		kinds[r.Kind] = append(kinds[r.Kind], r)
	}
	for _, k := range []string{"config.loaded", "webhook.received", "request.created", "approval.requested",
		"approval.refused", "approval.granted", "execution.started", "execution.succeeded"} {
		if len(kinds[k]) == 0 {
			t.Errorf("the audit trail has no %s record", k)
		}
	}
	if g := kinds["approval.granted"]; len(g) != 1 || g[0].Actor != opsU || g[0].Request != string(rid) {
		t.Errorf("approval.granted = %+v, want one by %s for %s", g, opsU, rid)
	}
	if c := kinds["request.created"]; len(c) != 1 || !strings.Contains(string(c[0].Detail), built) || c[0].Target != "web" {
		t.Errorf("request.created = %+v, want one for web naming %s", c, built)
	}
	if e := kinds["execution.started"]; len(e) != 1 {
		t.Errorf("%d execution.started records, want exactly one", len(e))
	}
	lap("audit verified")
}

// checkGitHubReports waits (the reports go out through the outbox) for
// the commit status countersign/web to end in success, and for one
// deployment of the commit whose statuses end in success.
func checkGitHubReports(t *testing.T, gh *githubtest.Server, repo, sha string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var states, described []string
		for _, st := range gh.Statuses() {
			if st.Repo == repo && st.SHA == sha && st.Context == "countersign/web" {
				states = append(states, st.State)
				described = append(described, fmt.Sprintf("%s (%s)", st.State, st.Description))
			}
		}
		var deploys []githubtest.Deployment
		for _, d := range gh.Deployments() {
			if d.Repo == repo && d.Ref == sha {
				deploys = append(deploys, d)
			}
		}
		var dstates []string
		for _, ds := range gh.DeploymentStatuses() {
			if len(deploys) == 1 && ds.DeploymentID == deploys[0].ID {
				dstates = append(dstates, ds.State)
			}
		}
		last := func(l []string) string {
			if len(l) == 0 {
				return ""
			}
			return l[len(l)-1]
		}
		if last(states) == "success" && len(deploys) == 1 && last(dstates) == "success" {
			if states[0] != "pending" {
				t.Errorf("commit statuses %q, want pending first", states)
			}
			if deploys[0].Environment != "web" {
				t.Errorf("deployment environment %q, want the service's name web", deploys[0].Environment)
			}
			t.Logf("GitHub: statuses %s; deployment %d: %s", strings.Join(described, " → "), deploys[0].ID, strings.Join(dstates, " → "))
			return
		}
		if time.Now().After(deadline) {
			reqs, _ := json.Marshal(gh.Requests())
			t.Fatalf("GitHub reports after 30s: statuses %q, %d deployments of %s, deployment statuses %q; requests %s",
				states, len(deploys), sha[:7], dstates, reqs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// unescapeJSON undoes encoding/json's HTML escapes, to read blocks as
// Slack shows them.
func unescapeJSON(raw json.RawMessage) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(raw))
}
