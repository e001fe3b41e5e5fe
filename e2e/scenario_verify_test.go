package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot/github/githubtest"
)

// TestE2E_VerifyFailureRollsBack is a deploy whose new version answers
// 500 on its health URL. Both commits deploy on push without approvals
// (auto); the service verifies each deploy (`verify`, on_failure
// rollback). The first passes. The second fails its check, and the bot
// on its own requests and runs the rollback to the first: the engine
// runs the first digest again, the audit trail holds the bot's rollback
// request with "auto": "verification failed", and GitHub's deployment of
// the second commit ends in failure while the rollback's ends in success.
func TestE2E_VerifyFailureRollsBack(t *testing.T) {
	requireDocker(t)
	lap := laps(t)
	t.Log(swarmManager(t))
	lap("swarm ready")

	const (
		repo    = "e2e-org/verified"
		branch  = "live"
		author  = "dave-e2e"
		service = "web"
	)
	// The tasks share the host's network, so the bot reaches the health
	// URL at a port of this machine.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	healthURL := "http://" + addr + "/healthz"

	reg := startRegistry(t)
	image := reg + "/e2e/verified"
	initial := pushWorkloadEnv(t, image, "v0", "HEALTH_STATUS=200")
	good, bad := randomHex(t, 20), randomHex(t, 20)
	goodImage := pushWorkloadEnv(t, image, good, "HEALTH_STATUS=200")
	badImage := pushWorkloadEnv(t, image, bad, "HEALTH_STATUS=500")
	swarmName := fmt.Sprintf("%s%d-verified", runPrefix, time.Now().UnixNano())
	createSwarmService(t, swarmName, initial, 1, "--network", "host", "--env", "HEALTH_ADDR="+addr)
	lap("registry and service")

	s := newServe(t, serveOptions{
		Config: func(servePeers) string {
			return fmt.Sprintf(`
engines:
  local: {host: "unix:///var/run/docker.sock"}
services:
  - name: %s
    kind: swarm
    repo: %s
    branch: %s
    channel: %s
    image: %s
    build: {mode: wait, timeout: 1m}
    engine: local
    swarm_service: %s
    verify: {url: %q, status: 200, for: 4s, every: 1s, on_failure: rollback}
policies:
  - name: production
    actions: [deploy, rollback]
    targets: [%s]
    request: [push]
    auto: {branches: [%s]}
`, service, repo, branch, e2eChannel, image, swarmName, healthURL, service, branch)
		},
	})
	lap("countersign serve healthy")

	if a := s.Push(repo, branch, good, author); a.Status != http.StatusOK {
		t.Fatalf("push of the good commit: %s, want 200", a)
	}
	waitConverged(t, swarmName, goodImage, 1, 90*time.Second)
	passed := s.WaitAudit(func(r auditRecord) bool { return r.Kind == "verification.passed" }, 60*time.Second)
	lap("good commit deployed and verified")

	if a := s.Push(repo, branch, bad, author); a.Status != http.StatusOK {
		t.Fatalf("push of the bad commit: %s, want 200", a)
	}
	failed := s.WaitAudit(func(r auditRecord) bool { return r.Kind == "verification.failed" }, 90*time.Second)
	if failed.Request == passed.Request || !strings.Contains(string(failed.Detail), "answered 500, want 200") {
		t.Errorf("verification.failed = %+v, want the second deploy's, answered 500", failed)
	}
	lap("bad commit deployed, verification failed")

	// The bot's own rollback: created by countersign, approved by nobody,
	// run; the engine runs the good digest again.
	created := s.WaitAudit(func(r auditRecord) bool {
		return r.Kind == "request.created" && r.Action == "rollback"
	}, 30*time.Second)
	if created.Actor != "countersign" || !strings.Contains(string(created.Detail), `"auto":"verification failed"`) {
		t.Errorf("rollback request.created = actor %s detail %s, want the bot's with auto: verification failed", created.Actor, created.Detail)
	}
	if !strings.Contains(string(created.Detail), goodImage) {
		t.Errorf("rollback request.created detail %s does not name the good image %s", created.Detail, goodImage)
	}
	s.WaitAudit(func(r auditRecord) bool { return r.Kind == "execution.succeeded" && r.Request == created.Request }, 90*time.Second)
	waitConverged(t, swarmName, goodImage, 1, 90*time.Second)
	lap("rolled back by the bot")

	// GitHub: the bad commit's deployment ends in failure, the rollback's
	// (a deployment of the good commit) in success.
	deadline := time.Now().Add(30 * time.Second)
	for {
		badStates, rollbackStates := verifyDeploymentStates(s.GitHub, repo, bad, ""), verifyDeploymentStates(s.GitHub, repo, good, created.Request)
		if lastState(badStates) == "failure" && lastState(rollbackStates) == "success" {
			if strings.Contains(strings.Join(badStates, " "), "success") {
				t.Errorf("the bad commit's deployment statuses %v include success", badStates)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GitHub deployment statuses: bad commit %v, rollback %v; want failure and success", badStates, rollbackStates)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st, err := swarmState(swarmName); err != nil || st.Image != goodImage || st.Image == badImage {
		t.Errorf("service runs %q (%v), want the good digest %s", st.Image, err, goodImage)
	}
	count, _ := s.AuditVerify()
	if count == 0 {
		t.Error("the audit trail does not verify")
	}
	lap("GitHub reports and audit")
}

// verifyDeploymentStates are the statuses of the deployments of repo@sha (only
// request's, when request is not ""), in order.
func verifyDeploymentStates(gh *githubtest.Server, repo, sha, request string) []string {
	ids := map[int64]bool{}
	for _, d := range gh.Deployments() {
		if d.Repo != repo || d.Ref != sha {
			continue
		}
		if p, ok := d.Payload.(map[string]any); request != "" && (!ok || p["request"] != request) {
			continue
		}
		ids[d.ID] = true
	}
	var out []string
	for _, ds := range gh.DeploymentStatuses() {
		if ids[ds.DeploymentID] {
			out = append(out, ds.State)
		}
	}
	return out
}

func lastState(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return l[len(l)-1]
}
