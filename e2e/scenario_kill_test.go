package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// TestE2E_KillDuringDeploy checks against the real engine that when the
// bot restarts mid-execution nothing runs twice: an
// approved deploy of a Swarm service whose rolling update takes seconds
// (two tasks, one at a time, a pause between them) is under way — the
// bot has audited execution.started and told Docker to roll out — when
// the bot is killed with SIGKILL. Docker finishes the rollout on its
// own. Restarted on the same database, the bot follows Docker's rollout
// to its end and records the request succeeded (audit, thread, message),
// saying it was followed after the restart, not interrupted; it never
// runs it again (one execution.started, one update on the engine: the
// update's start time and the tasks' generations stay as the first
// rollout left them), and a second request, made while the first ran
// and still waiting for approval at the kill, is approved after the
// restart and converges.
func TestE2E_KillDuringDeploy(t *testing.T) {
	requireDocker(t)
	lap := laps(t)
	t.Log(swarmManager(t))

	const (
		devU  = "U0E2EDEV1" // requests deploys
		opsU1 = "U0E2EOPS1" // approves the first
		opsU2 = "U0E2EOPS2" // approves the second, after the restart
		// klReplicas tasks updated one at a time with klUpdateDelay
		// between them: the rollout lasts several seconds.
		klReplicas    = 2
		klUpdateDelay = "1s"
	)
	reg := startRegistry(t)
	image := reg + "/e2e/web"
	v0, v1, v2 := pushWorkload(t, image, "v0"), pushWorkload(t, image, "v1"), pushWorkload(t, image, "v2")
	swarmName := fmt.Sprintf("%s%d-kill", runPrefix, time.Now().UnixNano())
	createSwarmService(t, swarmName, v0, klReplicas)
	// Only UpdateConfig changes: Docker replaces no task for it.
	mustDocker(t, "service", "update", "--detach", "--update-delay", klUpdateDelay, swarmName)
	waitConverged(t, swarmName, v0, klReplicas, time.Minute)
	lap("registry and service")

	s := newServe(t, serveOptions{Config: func(servePeers) string {
		return fmt.Sprintf(`
engines:
  local: {host: "unix:///var/run/docker.sock"}
services:
  - name: web
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
    targets: [web]
    request: [group:devs]
    approve: [{group: ops, count: 1}]
    expires: 1h
`, e2eChannel, image, swarmName, devU, opsU1, opsU2)
	}})
	lap("countersign serve healthy")

	// R1: v0 → v1, approved at once.
	if a := s.Slash(devU, "deploy web "+klDigest(v1)); a.Status != 200 {
		t.Fatalf("/cs deploy web v1: %s", a)
	}
	card1 := s.WaitMessage(t, klCardOf("R1"), 30*time.Second)
	if a := s.Click(opsU1, bot.ButtonApprove, buttonValue(card1, bot.ButtonApprove)); a.Status != 200 {
		t.Fatalf("approve R1: %s", a)
	}
	approved := time.Now()
	s.WaitAudit(func(r auditRecord) bool {
		return r.Kind == "execution.step" && r.Request == "R1" && strings.Contains(string(r.Detail), "rolling it out")
	}, 30*time.Second)
	lap("R1 approved; update sent")

	// R2: v1 → v2, asked while R1 runs; it does not supersede a running
	// request, and waits for approval.
	if a := s.Slash(devU, "deploy web "+klDigest(v2)); a.Status != 200 {
		t.Fatalf("/cs deploy web v2: %s", a)
	}
	card2 := s.WaitMessage(t, klCardOf("R2"), 30*time.Second)
	value2 := buttonValue(card2, bot.ButtonApprove)
	lap("R2 asked")

	// Kill half way: the bot has reported one task of two on v1, and
	// Docker is still rolling out.
	s.WaitAudit(func(r auditRecord) bool {
		return r.Kind == "execution.step" && r.Request == "R1" && strings.Contains(string(r.Detail), fmt.Sprintf("tasks running new image 1/%d", klReplicas))
	}, 30*time.Second)
	st := klInspect(t, swarmName)
	if st.UpdateState != "updating" || st.Image != v1 {
		t.Fatalf("before the kill the service is %+v, want updating to %s: make the rollout last longer", st, v1)
	}
	if got := klExecutionState(s, "R1"); got != "execution.step" {
		t.Fatalf("before the kill R1's last record is %s, want it still executing", got)
	}
	s.Kill9()
	killed := time.Now()
	t.Logf("killed %.1fs after the approval; Docker's update %s since %s", killed.Sub(approved).Seconds(), st.UpdateState, st.UpdateStarted)
	lap("bot killed mid-rollout")

	s.Restart()
	lap("restarted")
	// The restarted bot follows the rollout Docker carried on with, and
	// records how it ended.
	done := s.WaitAudit(func(r auditRecord) bool {
		return (r.Kind == "execution.succeeded" || r.Kind == "execution.failed" || r.Kind == "execution.interrupted") && r.Request == "R1"
	}, time.Minute)
	if done.Kind != "execution.succeeded" || !strings.Contains(string(done.Detail), "followed on the target after the bot restarted") {
		t.Fatalf("R1 ended %s %s after the restart, want execution.succeeded saying it was followed after the restart", done.Kind, done.Detail)
	}
	// The thread says so, and the request's message is edited after the
	// restart.
	s.WaitMessage(t, func(m slacktest.Message) bool {
		return m.ThreadTS == card1.TS && strings.Contains(m.Text, "R1 succeeded") && strings.Contains(m.Text, "after the bot restarted")
	}, 20*time.Second)
	klWaitCall(t, s.Slack, func(c slacktest.Call) bool {
		return c.Method == "chat.update" && c.OK && c.Form.Get("ts") == card1.TS && c.At.After(killed)
	}, 20*time.Second)
	if m, ok := s.Slack.Message(card1.Channel, card1.TS); !ok || !strings.Contains(strings.ToLower(m.Text+string(m.Blocks)), "succeeded") || buttonValue(m, bot.ButtonApprove) != "" {
		t.Errorf("R1's message after the restart: %q %s, want it to say succeeded, without buttons", m.Text, m.Blocks)
	}
	lap("R1 followed to success in audit and thread")

	// Docker finished R1's rollout by itself; nothing sent it again.
	waitConverged(t, swarmName, v1, klReplicas, time.Minute)
	after := klInspect(t, swarmName)
	if after.UpdateStarted != st.UpdateStarted || after.PreviousImage != v0 {
		t.Errorf("after the restart the service's update started %s from %s; at the kill it started %s from %s: the update was issued again",
			after.UpdateStarted, after.PreviousImage, st.UpdateStarted, v0)
	}
	t.Logf("Docker's rollout of R1: %s → %s", after.UpdateStarted, after.UpdateCompleted)
	gens := klGenerations(t, swarmName)
	for slot, images := range gens {
		if !slices.Equal(images, []string{v0, v1}) {
			t.Errorf("slot %d ran %q, want v0 then v1, once each", slot, images)
		}
	}
	if len(gens) != klReplicas {
		t.Errorf("%d slots, want %d: %v", len(gens), klReplicas, gens)
	}
	lap("Docker finished R1 by itself")

	// R2, pending through the kill, is approved now and runs.
	if a := s.Click(opsU2, bot.ButtonApprove, value2); a.Status != 200 {
		t.Fatalf("approve R2 after the restart: %s", a)
	}
	waitConverged(t, swarmName, v2, klReplicas, time.Minute)
	s.WaitAudit(func(r auditRecord) bool { return r.Kind == "execution.succeeded" && r.Request == "R2" }, 30*time.Second)
	lap("R2 approved after restart; converged")

	count, _ := s.AuditVerify()
	recs := s.Audit()
	if count != len(recs) {
		t.Errorf("audit verify counted %d records, export has %d", count, len(recs))
	}
	n := klCount(recs)
	for _, c := range []struct {
		kind, req string
		want      int
	}{
		{"config.loaded", "", 2},
		{"request.created", "R1", 1}, {"approval.granted", "R1", 1}, {"execution.started", "R1", 1},
		{"execution.interrupted", "R1", 0}, {"execution.succeeded", "R1", 1}, {"execution.failed", "R1", 0},
		{"request.superseded", "R1", 0},
		{"request.created", "R2", 1}, {"approval.granted", "R2", 1}, {"execution.started", "R2", 1},
		{"execution.succeeded", "R2", 1}, {"execution.interrupted", "R2", 0},
	} {
		if got := n[c.kind+" "+c.req]; got != c.want {
			t.Errorf("%d %s records for %q, want %d", got, c.kind, c.req, c.want)
		}
	}
	// R1's outcome is recorded by the second start, and R2 was approved
	// only after it.
	var loaded, succeeded1, granted2 int
	for _, r := range recs {
		switch {
		case r.Kind == "config.loaded":
			loaded = r.Seq
		case r.Kind == "execution.succeeded" && r.Request == "R1":
			succeeded1 = r.Seq
		case r.Kind == "approval.granted" && r.Request == "R2" && r.Actor == opsU2:
			granted2 = r.Seq
		}
	}
	if succeeded1 < loaded || granted2 < loaded {
		t.Errorf("R1's execution.succeeded is record %d, R2's approval by %s %d: want both after the second start's config.loaded (%d)", succeeded1, opsU2, granted2, loaded)
	}
	klNoDuplicatePosts(t, s.Messages())
	lap("audit verified")
}

// klDigest is the sha256:… part of repo@sha256:….
func klDigest(ref string) string {
	_, d, _ := strings.Cut(ref, "@")
	return d
}

// klCardOf is a WaitMessage predicate: the approval message of request id
// (an Approve button whose value names it).
func klCardOf(id string) func(slacktest.Message) bool {
	return func(m slacktest.Message) bool {
		rid, _, err := bot.ParseButtonValue(buttonValue(m, bot.ButtonApprove))
		return err == nil && string(rid) == id
	}
}

// klWaitCall waits for a Web API call of the fake for which pred holds.
func klWaitCall(t *testing.T, sl *slacktest.Server, pred func(slacktest.Call) bool, timeout time.Duration) slacktest.Call {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		calls := sl.Calls()
		for _, c := range calls {
			if pred(c) {
				return c
			}
		}
		if time.Now().After(deadline) {
			var methods []string
			for _, c := range calls {
				methods = append(methods, fmt.Sprintf("%s(%s)", c.Method, c.Form.Get("ts")))
			}
			t.Fatalf("no such Slack call after %s; the bot made %s", timeout, strings.Join(methods, " "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// klExecutionState is the kind of the last execution.* record of request
// id, or "".
func klExecutionState(s *serveRun, id string) string {
	last := ""
	for _, r := range s.Audit() {
		if r.Request == id && strings.HasPrefix(r.Kind, "execution.") {
			last = r.Kind
		}
	}
	return last
}

// klCount counts records by "KIND REQUEST" (and "KIND " for all of a kind
// not about a request).
func klCount(recs []auditRecord) map[string]int {
	n := map[string]int{}
	for _, r := range recs {
		n[r.Kind+" "+r.Request]++
	}
	return n
}

// klNoDuplicatePosts fails t if the bot posted the same text twice in one
// thread (an outbox entry delivered again after the kill).
func klNoDuplicatePosts(t *testing.T, msgs []slacktest.Message) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range msgs {
		if m.ThreadTS == "" {
			continue
		}
		seen[m.Channel+" "+m.ThreadTS+" "+m.Text]++
	}
	for k, c := range seen {
		if c > 1 {
			t.Errorf("posted %d times in one thread: %s", c, k)
		}
	}
}

// klService is what klInspect reads of a Swarm service beyond
// swarmState: the update's start (Docker sets it once per update) and
// the previous spec's image.
type klService struct {
	Image, PreviousImage                        string
	UpdateState, UpdateStarted, UpdateCompleted string
}

func klInspect(t *testing.T, name string) klService {
	t.Helper()
	var svcs []struct {
		Spec struct {
			TaskTemplate struct{ ContainerSpec struct{ Image string } }
		}
		PreviousSpec *struct {
			TaskTemplate struct{ ContainerSpec struct{ Image string } }
		}
		UpdateStatus *struct {
			State                  string
			StartedAt, CompletedAt string
		}
	}
	out := mustDocker(t, "service", "inspect", name)
	if err := json.Unmarshal([]byte(out), &svcs); err != nil || len(svcs) != 1 {
		t.Fatalf("docker service inspect %s: %v: %s", name, err, out)
	}
	v := svcs[0]
	st := klService{Image: v.Spec.TaskTemplate.ContainerSpec.Image}
	if v.PreviousSpec != nil {
		st.PreviousImage = v.PreviousSpec.TaskTemplate.ContainerSpec.Image
	}
	if v.UpdateStatus != nil {
		st.UpdateState, st.UpdateStarted, st.UpdateCompleted = v.UpdateStatus.State, v.UpdateStatus.StartedAt, v.UpdateStatus.CompletedAt
	}
	return st
}

// klGenerations returns, per slot, the images of the service's tasks
// oldest first: every generation Docker made (within its task history
// limit, 5 by default).
func klGenerations(t *testing.T, name string) map[int][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids, err := docker(ctx, nil, nil, "service", "ps", "--quiet", "--no-trunc", name)
	if err != nil {
		t.Fatal(err)
	}
	out, err := docker(ctx, nil, nil, append([]string{"inspect", "--type", "task"}, strings.Fields(ids)...)...)
	if err != nil {
		t.Fatal(err)
	}
	var tasks []klTask
	if err := json.Unmarshal([]byte(out), &tasks); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(tasks, func(a, b klTask) int { return a.CreatedAt.Compare(b.CreatedAt) })
	gens := map[int][]string{}
	for _, tk := range tasks {
		gens[tk.Slot] = append(gens[tk.Slot], tk.Spec.ContainerSpec.Image)
	}
	return gens
}

// klTask is what klGenerations reads of a task.
type klTask struct {
	Slot      int
	CreatedAt time.Time
	Spec      struct{ ContainerSpec struct{ Image string } }
}
