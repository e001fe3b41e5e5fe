package bot_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/store"
)

func TestBot_PushApprovedByBothGroupsRunsOnce(t *testing.T) {
	h := newHarness(t)
	h.push("mirage/mirage-www", "master", shaA, "hannesm") // hannesm is UOWN1
	r := h.wantState("R1", cs.StatePending)
	if r.Action.Image != "reg/www@"+digest('1') || r.Action.Commit != shaA {
		t.Fatalf("action = %+v, want the commit's digest", r.Action)
	}
	if r.Author != "UOWN1" || r.Decision.Policy != "www-on-push" {
		t.Fatalf("author %q policy %q, want UOWN1 www-on-push", r.Author, r.Decision.Policy)
	}

	if got := h.say("UOWN1", "approve R1"); !strings.Contains(got, "cannot approve") {
		t.Errorf("author's approval reply = %q, want a refusal", got)
	}
	h.say("UOPS1", "approve R1")
	h.wantState("R1", cs.StatePending) // still needs an owner
	if got := h.say("UOPS2", "approve R1"); !strings.Contains(got, "cannot approve") {
		t.Errorf("second ops approval reply = %q, want a refusal (ops line is full)", got)
	}
	h.say("UOWN2", "approve R1")
	r = h.wantState("R1", cs.StateSucceeded)
	if got := h.exec.count("R1"); got != 1 {
		t.Errorf("executions = %d, want 1", got)
	}
	if len(r.Approvals) != 2 {
		t.Errorf("approvals = %+v, want 2", r.Approvals)
	}
	want := []string{"request.created", "approval.requested", "approval.refused", "approval.granted", "approval.refused",
		"approval.granted", "execution.started", "execution.step", "execution.succeeded"}
	if got := h.kinds("R1"); !slices.Equal(got, want) {
		t.Errorf("audit kinds\n got %v\nwant %v", got, want)
	}
	verifyAudit(t, h.db)
}

func TestBot_SelfApprovalRefused(t *testing.T) {
	h := newHarness(t)
	h.say("UOPS1", "deploy api "+shaA)
	h.wantState("R1", cs.StatePending)
	if got := h.say("UOPS1", "approve R1"); !strings.Contains(got, "cannot approve R1") {
		t.Errorf("self-approval reply = %q", got)
	}
	h.wantState("R1", cs.StatePending)
	if got := h.countKind("R1", cs.EventApprovalRefused); got != 1 {
		t.Errorf("approval.refused records = %d, want 1", got)
	}
	h.say("UOPS2", "approve R1")
	h.wantState("R1", cs.StateSucceeded)
}

func TestBot_Deny(t *testing.T) {
	h := newHarness(t)
	h.say("UDEV1", "deploy api "+shaA)
	if got := h.say("UOWN1", "deny R1 not mine to deny"); !strings.Contains(got, "cannot deny") {
		t.Errorf("outsider's deny reply = %q, want a refusal", got)
	}
	h.wantState("R1", cs.StatePending)
	h.say("UOPS1", "deny R1 not during the incident")
	r := h.wantState("R1", cs.StateDenied)
	if !strings.Contains(r.Outcome, "not during the incident") {
		t.Errorf("outcome = %q", r.Outcome)
	}
	if got := h.say("UOPS2", "approve R1"); !strings.Contains(got, "closed (denied)") {
		t.Errorf("approve after deny = %q", got)
	}
	if h.exec.total() != 0 {
		t.Error("a denied request ran")
	}
}

func TestBot_Expire(t *testing.T) {
	h := newHarness(t)
	h.say("UDEV1", "deploy api "+shaA)
	h.clock.Advance(59 * time.Minute)
	if err := h.bot.Expire(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.wantState("R1", cs.StatePending)
	h.clock.Advance(time.Minute)
	if err := h.bot.Expire(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.wantState("R1", cs.StateExpired)
	if got := h.say("UOPS1", "approve R1"); !strings.Contains(got, "closed (expired)") {
		t.Errorf("approve after expiry = %q", got)
	}
	if got := h.countKind("R1", cs.EventRequestExpired); got != 1 {
		t.Errorf("request.expired records = %d, want 1", got)
	}
}

func TestBot_ApproveAfterExpiryWithoutTick(t *testing.T) {
	h := newHarness(t)
	h.say("UDEV1", "deploy api "+shaA)
	h.clock.Advance(2 * time.Hour)
	if got := h.say("UOPS1", "approve R1"); !strings.Contains(got, "expired") {
		t.Errorf("late approval reply = %q, want expired", got)
	}
	h.wantState("R1", cs.StateExpired)
	if h.exec.total() != 0 {
		t.Error("an expired request ran")
	}
}

func TestBot_NewerPushSupersedes(t *testing.T) {
	h := newHarness(t)
	h.push("mirage/mirage-www", "master", shaA, "hannesm")
	h.say("UOPS1", "approve R1")
	h.push("mirage/mirage-www", "master", shaB, "hannesm")
	r1 := h.wantState("R1", cs.StateSuperseded)
	if r1.SupersededBy != "R2" {
		t.Errorf("superseded by %q, want R2", r1.SupersededBy)
	}
	h.wantState("R2", cs.StatePending)
	if got := h.say("UOWN2", "approve R1"); !strings.Contains(got, "superseded by R2") {
		t.Errorf("approve superseded = %q", got)
	}
	// Approvals do not carry over: R2 still needs both lines.
	h.say("UOWN2", "approve R2")
	h.wantState("R2", cs.StatePending)
	h.say("UOPS1", "approve R2")
	h.wantState("R2", cs.StateSucceeded)
	if h.exec.count("R1") != 0 || h.exec.count("R2") != 1 {
		t.Errorf("runs R1=%d R2=%d, want 0 and 1", h.exec.count("R1"), h.exec.count("R2"))
	}
	if !strings.Contains(h.chat.AllText(), "R1 was superseded by R2") {
		t.Error("the thread does not say R1 was superseded")
	}
}

func TestBot_RefusedRequestDoesNotSupersede(t *testing.T) {
	h := newHarness(t)
	h.say("UDEV1", "deploy api "+shaA)
	h.say("UOWN1", "deploy api "+shaB) // owners may not request production deploys
	h.wantState("R2", cs.StateRefused)
	h.wantState("R1", cs.StatePending)
}

func TestBot_AutoDeployOnPush(t *testing.T) {
	h := newHarness(t)
	h.push("org/api", "live", shaA, "someone")
	r := h.wantState("R1", cs.StateSucceeded)
	if r.Decision.Verdict != cs.VerdictAllow || len(r.Approvals) != 0 {
		t.Errorf("decision %s approvals %v, want allow with none", r.Decision.Verdict, r.Approvals)
	}
	h.push("org/api", "other-branch", shaB, "someone") // not followed
	if h.exec.total() != 1 {
		t.Errorf("executions = %d, want 1", h.exec.total())
	}
}

func TestBot_PushWithoutImageFails(t *testing.T) {
	h := newHarness(t)
	h.push("org/api", "live", "dddddddddddddddddddddddddddddddddddddddd", "someone")
	if h.exec.total() != 0 {
		t.Error("ran without an image")
	}
	if !strings.Contains(h.chat.AllText(), "no image for ddddddd") {
		t.Errorf("chat does not say the image is missing:\n%s", h.chat.AllText())
	}
}

func TestBot_LockBlocksDeploys(t *testing.T) {
	h := newHarness(t)
	h.say("UOPS1", "lock api database migration")
	h.wantState("R1", cs.StateSucceeded)
	h.push("org/api", "live", shaA, "someone")
	r := h.wantState("R2", cs.StateRefused)
	if !strings.Contains(r.Outcome, "locked by <@UOPS1>") || !strings.Contains(r.Outcome, "database migration") {
		t.Errorf("outcome = %q", r.Outcome)
	}
	h.say("UDEV1", "deploy api "+shaB)
	h.wantState("R3", cs.StateRefused)
	h.say("UOPS2", "unlock api")
	h.push("org/api", "live", shaC, "someone")
	h.wantState("R5", cs.StateSucceeded)
	if got := h.countKind("R1", cs.EventLockSet) + h.countKind("R4", cs.EventLockReleased); got != 2 {
		t.Errorf("lock records = %d, want lock.set and lock.released", got)
	}
}

func TestBot_LockWhileApprovedStopsExecution(t *testing.T) {
	exec := &fakeExec{started: make(chan cs.RequestID, 4), hold: make(chan struct{})}
	h := newHarness(t, func(c *harnessConfig) { c.exec = exec })
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: shaA, Pusher: "someone", Author: "someone"}); err != nil {
		t.Fatal(err)
	}
	<-exec.started                        // R1 runs and is held
	h.sayNow("UDEV1", "deploy api "+shaB) // R2 pending
	h.sayNow("UOPS1", "approve R2")       // approved, queued behind R1
	h.sayNow("UOPS1", "lock api hold everything")
	close(exec.hold)
	h.idle()
	h.wantState("R1", cs.StateSucceeded)
	r := h.wantState("R2", cs.StateFailed)
	if !strings.Contains(r.Outcome, "not run") || exec.count("R2") != 0 {
		t.Errorf("R2 outcome %q, runs %d; want not run", r.Outcome, exec.count("R2"))
	}
}

func TestBot_RollbackToPreviousAndLocksAutoDeploy(t *testing.T) {
	h := newHarness(t)
	h.push("org/api", "live", shaA, "someone") // R1 → digest 3
	h.push("org/api", "live", shaB, "someone") // R2 → digest 4
	h.say("UDEV1", "rollback api")
	r := h.wantState("R3", cs.StatePending)
	if r.Action.Image != "reg/api@"+digest('3') || r.Action.Deployment != "R1" {
		t.Fatalf("rollback action %+v, want R1's image", r.Action)
	}
	h.say("UOPS1", "approve R3")
	h.wantState("R3", cs.StateSucceeded)
	if !strings.Contains(h.chat.AllText(), "locked against deploys on push") {
		t.Error("thread does not say the service is locked against push deploys")
	}
	h.push("org/api", "live", shaC, "someone")
	h.wantState("R4", cs.StateRefused)
	// People may still deploy through policy.
	h.say("UDEV1", "deploy api "+shaC)
	h.wantState("R5", cs.StatePending)
	// Rolling back to a named deployment.
	h.say("UDEV1", "rollback api to R2")
	if r := h.wantState("R6", cs.StatePending); r.Action.Image != "reg/api@"+digest('4') {
		t.Errorf("rollback to R2 image = %s", r.Action.Image)
	}
	if got := h.say("UDEV1", "rollback api to R99"); !strings.Contains(got, "no deployment R99") {
		t.Errorf("rollback to unknown = %q", got)
	}
}

func TestBot_BadInputGetsSpecificErrors(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ text, want string }{
		{"deploy nosuch", `unknown service "nosuch"`},
		{"deploy api " + digest('9'), "not found"},
		{"deploy api cafebabe", "no push of api with a commit starting cafebabe is recorded"},
		{"scale www 3", "only Swarm services can be scaled"},
		{"approve R77", "no request R77"},
		{"rollback api", "no successful deployment"},
		{"deploy", "usage"},
		{"status nosuch", `unknown service "nosuch"`},
	} {
		if got := h.say("UOPS1", tc.text); !strings.Contains(got, tc.want) {
			t.Errorf("%q → %q, want …%s…", tc.text, got, tc.want)
		}
	}
}

func TestBot_DeployLatestBuildAndByDigest(t *testing.T) {
	h := newHarness(t)
	if got := h.say("UDEV1", "deploy api"); !strings.Contains(got, "no build of api seen yet") {
		t.Errorf("deploy without builds = %q", got)
	}
	h.push("org/api", "live", shaA, "someone")
	h.say("UDEV1", "deploy api")
	if r := h.wantState("R2", cs.StatePending); r.Action.Image != "reg/api@"+digest('3') {
		t.Errorf("latest build image = %s", r.Action.Image)
	}
	h.say("UDEV1", "deploy api "+digest('4'))
	if r := h.wantState("R3", cs.StatePending); r.Action.Image != "reg/api@"+digest('4') {
		t.Errorf("digest deploy image = %s", r.Action.Image)
	}
	h.wantState("R2", cs.StateSuperseded)
}

// TestBot_ConcurrentApprovalsRunOnce: 50 approvers click at once, some
// twice, with Slack retries: the action runs exactly once.
func TestBot_ConcurrentApprovalsRunOnce(t *testing.T) {
	h := newHarness(t, func(c *harnessConfig) { c.set = testPolicies(50) })
	h.say("UDEV1", "deploy api "+shaA)
	r := h.wantState("R1", cs.StatePending)
	var wg sync.WaitGroup
	for i := 1; i <= 50; i++ {
		for click := 0; click < 2; click++ {
			wg.Add(1)
			go func(user cs.Actor, click int) {
				defer wg.Done()
				c := bot.Caller{User: user, Channel: "CDEPLOY"}
				if click == 0 {
					h.bot.HandleButton(h.ctx, c, "approve", string(r.ID)+":"+r.Fingerprint)
				} else {
					h.bot.HandleCommand(h.ctx, c, "approve R1")
				}
			}(cs.Actor(fmt.Sprintf("UOPS%d", i)), click)
		}
	}
	wg.Wait()
	h.idle()
	h.wantState("R1", cs.StateSucceeded)
	if got := h.exec.count("R1"); got != 1 {
		t.Errorf("executions = %d, want exactly 1", got)
	}
	if got := h.countKind("R1", cs.EventApprovalGranted); got != 1 {
		t.Errorf("approval.granted records = %d, want 1", got)
	}
	if got := h.countKind("R1", cs.EventExecutionStarted); got != 1 {
		t.Errorf("execution.started records = %d, want 1", got)
	}
	verifyAudit(t, h.db)
}

func TestBot_StaleButtonRefused(t *testing.T) {
	h := newHarness(t)
	h.say("UDEV1", "deploy api "+shaA)
	h.bot.HandleButton(h.ctx, bot.Caller{User: "UOPS1", Channel: "C"}, "approve", "R1:"+strings.Repeat("0", 64))
	h.idle()
	if got := h.chat.LastEphemeral("UOPS1"); !strings.Contains(got, "different version") {
		t.Errorf("stale button reply = %q", got)
	}
	h.wantState("R1", cs.StatePending)
}

func TestBot_OneExecutionAtATimePerTarget(t *testing.T) {
	exec := &fakeExec{started: make(chan cs.RequestID, 8), hold: make(chan struct{})}
	h := newHarness(t, func(c *harnessConfig) { c.exec = exec })
	h.say("UDEV1", "deploy api "+shaA)
	h.say("UDEV1", "scale api 3")
	go h.bot.HandleCommand(h.ctx, bot.Caller{User: "UOPS1"}, "approve R1")
	go h.bot.HandleCommand(h.ctx, bot.Caller{User: "UOPS2"}, "approve R2")
	<-exec.started
	select {
	case id := <-exec.started:
		t.Fatalf("%s started while another execution on api was running", id)
	case <-time.After(100 * time.Millisecond):
	}
	close(exec.hold)
	h.idle()
	h.wantState("R1", cs.StateSucceeded)
	h.wantState("R2", cs.StateSucceeded)
	if exec.maxAtOne != 1 {
		t.Errorf("max concurrent executions = %d, want 1", exec.maxAtOne)
	}
}

func TestBot_FailedExecutionIsReportedAndAudited(t *testing.T) {
	h := newHarness(t, func(c *harnessConfig) { c.exec = &fakeExec{fail: errBoom} })
	h.push("org/api", "live", shaA, "someone")
	r := h.wantState("R1", cs.StateFailed)
	if !strings.Contains(r.Outcome, "boom") {
		t.Errorf("outcome = %q", r.Outcome)
	}
	if h.countKind("R1", cs.EventExecutionFailed) != 1 {
		t.Error("no execution.failed record")
	}
	// A failed deployment is not a rollback target.
	var hist []cs.Deployment
	h.db.View(h.ctx, func(tx bot.ReadTx) error { hist, _ = tx.Deployments("api", 0); return nil })
	if len(hist) != 1 || hist[0].Succeeded {
		t.Errorf("history = %+v, want one failed deployment", hist)
	}
}

// TestBot_RestartMarksInterrupted copies the database while an execution
// is running — the state a crash leaves on disk — and starts a new bot on
// the copy: the request is marked interrupted and not run again, while a
// pending request can still be approved.
func TestBot_RestartMarksInterrupted(t *testing.T) {
	exec := &fakeExec{started: make(chan cs.RequestID, 4), hold: make(chan struct{})}
	h := newHarness(t, func(c *harnessConfig) { c.exec = exec })
	h.say("UDEV1", "deploy www "+shaA) // R1: www by chat → production, needs ops
	h.say("UDEV1", "deploy api "+shaA) // R2
	go h.bot.HandleCommand(h.ctx, bot.Caller{User: "UOPS1"}, "approve R2")
	<-exec.started

	crashed := filepath.Join(t.TempDir(), "crashed.db")
	var buf strings.Builder
	if _, err := h.db.Backup(h.ctx, &buf); err != nil {
		t.Fatal(err)
	}
	writeFile(t, crashed, buf.String())
	defer close(exec.hold)

	exec2 := &fakeExec{}
	h2 := newHarness(t, func(c *harnessConfig) { c.path = crashed; c.exec = exec2 })
	r := h2.wantState("R2", cs.StateInterrupted)
	if !strings.Contains(r.Outcome, "not run again") {
		t.Errorf("outcome = %q", r.Outcome)
	}
	if h2.countKind("R2", cs.EventExecutionInterrupted) != 1 {
		t.Error("no execution.interrupted record")
	}
	h2.idle()
	if exec2.total() != 0 {
		t.Error("the interrupted request ran again")
	}
	h2.wantState("R1", cs.StatePending)
	h2.say("UOPS2", "approve R1")
	h2.wantState("R1", cs.StateSucceeded)
	if got := h2.say("UOPS2", "deploy api "+shaB); got != "" && !strings.Contains(got, "posted") {
		t.Errorf("new request after restart: %q", got)
	}
	h2.wantState("R3", cs.StatePending) // numbering continues
	verifyAudit(t, h2.db)
}

// stepThenHang reports one step of its own and then never finishes, as a
// deploy does when the bot is killed in the middle of it.
type stepThenHang struct {
	fakeExec
	stepped chan struct{}
}

func (e *stepThenHang) Execute(ctx context.Context, r cs.Request, progress func(string) error) (bot.Result, error) {
	if err := progress("tasks running new image 1/3"); err != nil {
		return bot.Result{}, err
	}
	close(e.stepped)
	<-ctx.Done()
	return bot.Result{}, ctx.Err()
}

// TestBot_InterruptedSaysWhereItStopped: after a crash the thread and
// the outcome say the last step the execution reported, for whoever
// checks the target.
func TestBot_InterruptedSaysWhereItStopped(t *testing.T) {
	ex := &stepThenHang{stepped: make(chan struct{})}
	h := newHarness(t, func(c *harnessConfig) { c.exec = &ex.fakeExec; c.executor = ex })
	h.say("UDEV1", "deploy api "+shaA)
	go h.bot.HandleCommand(h.ctx, bot.Caller{User: "UOPS1"}, "approve R1")
	<-ex.stepped
	crashed := filepath.Join(t.TempDir(), "crashed.db")
	var buf strings.Builder
	if _, err := h.db.Backup(h.ctx, &buf); err != nil {
		t.Fatal(err)
	}
	writeFile(t, crashed, buf.String())

	h2 := newHarness(t, func(c *harnessConfig) { c.path = crashed })
	r := h2.wantState("R1", cs.StateInterrupted)
	if want := "after: tasks running new image 1/3; it was not run again"; !strings.Contains(r.Outcome, want) {
		t.Errorf("outcome %q, want it to say %q", r.Outcome, want)
	}
	h2.idle()
	if got := h2.chat.AllText(); !strings.Contains(got, "⚠️ R1 was interrupted: the bot stopped while this was running, after: tasks running new image 1/3") {
		t.Errorf("the thread does not say where R1 stopped:\n%s", got)
	}
}

// TestBot_AuditFailureStopsTheAction: when the execution.started record
// cannot be written, the executor is never called; the request is closed
// as not run, as chat says, and a restart does not run it. (It stayed
// approved, chat said "not run", and the next start ran it.)
func TestBot_AuditFailureStopsTheAction(t *testing.T) {
	fs := &failingStore{failKinds: []cs.EventKind{cs.EventExecutionStarted}}
	h := newHarness(t, func(c *harnessConfig) {
		c.wrap = func(s bot.Store) bot.Store { fs.Store = s; return fs }
	})
	h.push("org/api", "live", shaA, "someone")
	if h.exec.total() != 0 {
		t.Fatal("the executor ran although its start could not be audited")
	}
	if r := h.wantState("R1", cs.StateFailed); !strings.Contains(r.Outcome, "could not write the audit trail") {
		t.Errorf("outcome = %q", r.Outcome)
	}
	if !strings.Contains(h.chat.AllText(), "R1 not run: could not write the audit trail") {
		t.Errorf("chat does not say why:\n%s", h.chat.AllText())
	}
	if !strings.Contains(h.chat.AllText(), "R1 · deploy api · failed") {
		t.Errorf("the card still says queued:\n%s", h.chat.AllText())
	}
	// A request whose creation cannot be audited is not created at all.
	fs.setFail(cs.EventRequestCreated)
	if got := h.say("UDEV1", "deploy api "+shaB); !strings.Contains(got, "could not write the audit trail") {
		t.Errorf("reply = %q", got)
	}
	var open []cs.Request
	h.db.View(h.ctx, func(tx bot.ReadTx) error { open, _ = tx.OpenRequests(""); return nil })
	if len(open) != 0 {
		t.Errorf("open requests = %d, want none", len(open))
	}
	h.bot.Close()
	h.db.Close()
	exec := &fakeExec{}
	h2 := newHarness(t, func(c *harnessConfig) { c.path = h.path; c.exec = exec })
	h2.idle()
	h2.wantState("R1", cs.StateFailed)
	if exec.total() != 0 {
		t.Error("the restart ran R1, which chat had been told was not run")
	}
}

// TestBot_NotRunOnlyOnceTheStoreSaysSo: when the store can neither record
// an execution's start nor close the request, chat is told nothing and
// the card stays "approved, queued"; once the store writes again, the
// request is closed as not run and chat says so; it never runs.
func TestBot_NotRunOnlyOnceTheStoreSaysSo(t *testing.T) {
	fs := &failingStore{}
	h := newHarness(t, func(c *harnessConfig) {
		c.wrap = func(s bot.Store) bot.Store { fs.Store = s; return fs }
	})
	h.say("UDEV1", "deploy api "+shaA)
	fs.setFail(cs.EventExecutionStarted, cs.EventExecutionFailed)
	h.say("UOPS1", "approve R1")
	h.wantState("R1", cs.StateApproved)
	if got := h.chat.AllText(); strings.Contains(got, "not run") {
		t.Errorf("chat says not run while the store holds R1 approved:\n%s", got)
	}

	fs.setFail() // the store writes again
	if err := h.bot.Expire(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.idle()
	if r := h.wantState("R1", cs.StateFailed); !strings.Contains(r.Outcome, "could not write the audit trail") {
		t.Errorf("outcome = %q", r.Outcome)
	}
	if got := h.chat.AllText(); !strings.Contains(got, "R1 not run: could not write the audit trail") {
		t.Errorf("chat does not say R1 was not run:\n%s", got)
	}
	if h.exec.total() != 0 || h.countKind("R1", cs.EventExecutionFailed) != 1 {
		t.Errorf("%d runs, %d execution.failed records; want 0 and 1", h.exec.total(), h.countKind("R1", cs.EventExecutionFailed))
	}
	// Nothing left to retry: another tick says nothing more.
	before := h.chat.AllText()
	h.bot.Expire(h.ctx)
	h.idle()
	if h.chat.AllText() != before {
		t.Error("a second tick closed R1 again")
	}
}

func TestBot_PolicyChangeVoidsPendingApprovals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	h := newHarness(t, func(c *harnessConfig) { c.path = path })
	h.say("UDEV1", "deploy api "+shaA)
	h.bot.Close()
	h.db.Close()

	changed := testPolicies(3)
	changed.Policies[1].Expires = 0 // any change makes a new version
	h2 := newHarness(t, func(c *harnessConfig) { c.path = path; c.set = changed })
	if got := h2.say("UOPS1", "approve R1"); !strings.Contains(got, "policy changed") {
		t.Errorf("approve under new policy = %q", got)
	}
	h2.wantState("R1", cs.StateSuperseded)
	// Every way of closing reads right to a later click.
	if got := h2.say("UOPS2", "approve R1"); strings.Contains(got, "superseded by ;") || strings.Contains(got, "by ;") ||
		!strings.Contains(got, "R1 was superseded: the policy changed") {
		t.Errorf("approve of a request closed by a policy change = %q", got)
	}
}

func TestBot_StatusAuditExplain(t *testing.T) {
	h := newHarness(t)
	h.push("org/api", "live", shaA, "someone")
	h.say("UDEV1", "deploy api "+shaB)
	h.say("UOPS1", "lock www maintenance")
	st := h.say("UOPS1", "status")
	for _, want := range []string{"api", "last deploy R1 succeeded", "reg/api@" + digest('3'), "R2", "waiting for approval", "www", "locked by <@UOPS1>"} {
		if !strings.Contains(st, want) {
			t.Errorf("status lacks %q:\n%s", want, st)
		}
	}
	au := h.say("UOPS1", "audit api")
	for _, want := range []string{"request.created", "execution.succeeded", "R1"} {
		if !strings.Contains(au, want) {
			t.Errorf("audit lacks %q:\n%s", want, au)
		}
	}
	ex := h.say("UOPS1", "policy explain deploy www <@UOWN1>")
	if !strings.Contains(ex, "production") && !strings.Contains(ex, "deny") {
		t.Errorf("explain = %q", ex)
	}
	if h.exec.total() != 1 {
		t.Error("explain or status acted")
	}
}

// failingStore fails the transactions that append an event of one of
// failKinds, and with the switches those that record a delivered outbox
// entry or a request's message.
type failingStore struct {
	bot.Store
	mu        sync.Mutex
	failKinds []cs.EventKind
	failing
}

// failing are the writes a failingStore fails besides events.
type failing struct {
	delivered bool // DeleteOutgoing: recording a delivered entry
	cardRef   bool // PutRequest of a request that has a message
}

func (s *failingStore) Update(ctx context.Context, fn func(bot.Tx) error) error {
	s.mu.Lock()
	kinds, f := s.failKinds, s.failing
	s.mu.Unlock()
	return s.Store.Update(ctx, func(tx bot.Tx) error { return fn(failingTx{tx, kinds, f}) })
}

func (s *failingStore) setFail(kinds ...cs.EventKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failKinds = kinds
}

func (s *failingStore) setFailing(f failing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = f
}

type failingTx struct {
	bot.Tx
	kinds []cs.EventKind
	f     failing
}

func (t failingTx) Append(e cs.Event) (cs.Event, error) {
	if slices.Contains(t.kinds, e.Kind) {
		return cs.Event{}, fmt.Errorf("append %s: %w", e.Kind, errBoom)
	}
	return t.Tx.Append(e)
}

func (t failingTx) DeleteOutgoing(seq uint64) error {
	if t.f.delivered {
		return fmt.Errorf("delete outgoing %d: %w", seq, errBoom)
	}
	return t.Tx.DeleteOutgoing(seq)
}

func (t failingTx) PutRequest(r cs.Request) error {
	if t.f.cardRef && r.Message.ID != "" {
		return fmt.Errorf("put request %s: %w", r.ID, errBoom)
	}
	return t.Tx.PutRequest(r)
}

var _ = store.ErrInUse

// TestBot_DeliveredCardIsNotPostedAgain: the card was delivered but the
// store could not record it; the outbox delivered it again at its next
// turn, leaving the first card an orphan that is never updated.
func TestBot_DeliveredCardIsNotPostedAgain(t *testing.T) {
	fs := &failingStore{}
	h := newHarness(t, func(c *harnessConfig) {
		c.wrap = func(s bot.Store) bot.Store { fs.Store = s; return fs }
	})
	fs.setFailing(failing{delivered: true})
	h.sayNow("UDEV1", "deploy api "+shaA)
	waitFor(t, "R1's card", func() bool { return len(h.chat.Cards("R1")) > 0 })
	fs.setFailing(failing{})
	h.say("UOPS1", "approve R1")
	h.wantState("R1", cs.StateSucceeded)
	if n := len(h.chat.Cards("R1")); n != 1 {
		t.Fatalf("R1's card was posted %d times", n)
	}
	if m, ok := h.chat.Updated(bottest.TS(1)); !ok || m.Request == nil || m.Request.State != cs.StateSucceeded {
		t.Errorf("the card (ts1) was not updated to succeeded: %+v", m.Request)
	}
}

// TestBot_NoCardTheRequestDoesNotKnow: the card was queued, then the
// request's reference to it could not be written: the card was posted
// and never updated. Now both are written together, or neither.
func TestBot_NoCardTheRequestDoesNotKnow(t *testing.T) {
	fs := &failingStore{}
	h := newHarness(t, func(c *harnessConfig) {
		c.wrap = func(s bot.Store) bot.Store { fs.Store = s; return fs }
	})
	fs.setFailing(failing{cardRef: true})
	h.say("UDEV1", "deploy api "+shaA)
	fs.setFailing(failing{})
	r := h.wantState("R1", cs.StatePending)
	if cards := h.chat.Cards("R1"); len(cards) != 0 || r.Message.ID != "" {
		t.Errorf("%d cards posted, the request knows of %q: a card the request does not know of is never updated", len(cards), r.Message.ID)
	}
}
