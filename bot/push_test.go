package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
)

// gatedImages has no image until a test releases it: Wait blocks until
// then, or until its context ends (a newer push, a shutdown).
type gatedImages struct {
	mu      sync.Mutex
	ready   map[string]string // "repo:tag" → image
	waiting map[string]chan struct{}
	waits   int
}

func newGatedImages() *gatedImages {
	return &gatedImages{ready: map[string]string{}, waiting: map[string]chan struct{}{}}
}

func (g *gatedImages) gate(key string) chan struct{} {
	ch, ok := g.waiting[key]
	if !ok {
		ch = make(chan struct{})
		g.waiting[key] = ch
	}
	return ch
}

func (g *gatedImages) release(repo, tag, img string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ready[repo+":"+tag] = img
	close(g.gate(repo + ":" + tag))
}

func (g *gatedImages) Resolve(_ context.Context, repo, tag string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if img, ok := g.ready[repo+":"+tag]; ok {
		return img, nil
	}
	return "", cs.ErrNotFound
}

func (g *gatedImages) Wait(ctx context.Context, repo, tag string, _ time.Duration) (string, error) {
	g.mu.Lock()
	g.waits++
	ch := g.gate(repo + ":" + tag)
	g.mu.Unlock()
	select {
	case <-ch:
		return g.Resolve(ctx, repo, tag)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (g *gatedImages) Check(context.Context, string) error { return nil }

func (g *gatedImages) waitCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waits
}

// fakeReporter records reports; while down it fails like an unreachable GitHub.
type fakeReporter struct {
	mu      sync.Mutex
	down    bool
	refuse  int // refuse the next refuse reports for good, as a 422
	reports []bot.Report
	n       int
	calls   int // made, failed ones included
}

func (f *fakeReporter) Report(_ context.Context, r bot.Report) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		return "", errors.New("github unreachable (test)")
	}
	if f.refuse > 0 {
		f.refuse--
		return "", fmt.Errorf("%w: 422 Validation Failed", bot.ErrChatRejected)
	}
	if r.DeploymentStatus != nil && !strings.HasPrefix(r.DeploymentStatus.Deployment, "gh") {
		return "", fmt.Errorf("%w: deployment %q not resolved", bot.ErrChatRejected, r.DeploymentStatus.Deployment)
	}
	f.reports = append(f.reports, r)
	if r.Deployment != nil {
		f.n++
		return fmt.Sprintf("gh%d", f.n), nil
	}
	return "", nil
}

func (f *fakeReporter) setDown(v bool) { f.mu.Lock(); f.down = v; f.mu.Unlock() }

// summary is the reports as "status STATE", "deployment ENV", "deployment_status STATE".
func (f *fakeReporter) summary() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.reports {
		switch {
		case r.Status != nil:
			out = append(out, "status "+string(r.Status.State))
		case r.Deployment != nil:
			out = append(out, "deployment "+r.Deployment.Environment)
		case r.DeploymentStatus != nil:
			out = append(out, "deployment_status "+r.DeploymentStatus.State)
		}
	}
	return out
}

func (h *harness) pushRecord(service, sha string) bot.PushRecord {
	h.t.Helper()
	var rec bot.PushRecord
	var ok bool
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		rec, ok, err = tx.PushRecord(service, sha)
		return err
	}); err != nil || !ok {
		h.t.Fatalf("no push record %s@%s: %v", service, sha, err)
	}
	return rec
}

func (h *harness) parents() []bot.Message {
	var out []bot.Message
	for _, p := range h.chat.Posts() {
		if p.Push != nil && p.Thread.TS == "" {
			out = append(out, p)
		}
	}
	return out
}

func TestPush_RedeliveryCreatesNothingAlsoAfterRestart(t *testing.T) {
	h := newHarness(t)
	p := bot.Push{Repo: "org/api", Branch: "live", SHA: shaA, Pusher: "someone", Author: "someone", Delivery: "d-1"}
	res, err := h.bot.HandlePush(h.ctx, p)
	if err != nil || res.Duplicate || len(res.Services) != 1 {
		t.Fatalf("first delivery: %+v %v", res, err)
	}
	h.idle()
	res, err = h.bot.HandlePush(h.ctx, p)
	if err != nil || !res.Duplicate {
		t.Fatalf("redelivery: %+v %v", res, err)
	}
	h.bot.Close()
	h.db.Close()
	h2 := newHarness(t, func(c *harnessConfig) { c.path = h.path })
	if res, err := h2.bot.HandlePush(h2.ctx, p); err != nil || !res.Duplicate {
		t.Fatalf("redelivery after a restart: %+v %v", res, err)
	}
	h2.idle()
	if h2.exists("R2") {
		t.Error("a redelivery created a request")
	}
}

// TestPush_ReplayUnderANewDeliveryIDDoesNothing: a captured push
// delivery sent again with another X-GitHub-Delivery (the header is not
// signed) must not redeploy an old commit on a branch that deploys
// without approval; a real force-push back to it (another before) does.
func TestPush_ReplayUnderANewDeliveryIDDoesNothing(t *testing.T) {
	h := newHarness(t)
	const zeros = "0000000000000000000000000000000000000000"
	push := func(before, sha, delivery string) bot.PushResult {
		t.Helper()
		res, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: sha, Before: before,
			Pusher: "someone", Author: "someone", Delivery: delivery})
		if err != nil {
			t.Fatal(err)
		}
		h.idle()
		return res
	}
	push(zeros, shaA, "d-1") // R1: api runs A (auto on live)
	push(shaA, shaB, "d-2")  // R2: api runs B
	if n := h.exec.total(); n != 2 {
		t.Fatalf("%d executions after two pushes, want 2", n)
	}
	res := push(zeros, shaA, "d-replayed") // the first delivery again
	if !res.Repeat || res.Duplicate || !strings.Contains(res.Ignored, "a repeat of the push of aaaaaaa") {
		t.Fatalf("replay: %+v, want Repeat with the reason", res)
	}
	if h.exists("R3") || h.exec.total() != 2 {
		t.Fatalf("the replay created a request or ran (%d executions)", h.exec.total())
	}
	evs, err := h.bot.Events(h.ctx, bot.EventQuery{Kind: cs.EventWebhookReceived})
	if err != nil {
		t.Fatal(err)
	}
	if last := string(evs[len(evs)-1].Detail); !strings.Contains(last, `"delivery":"d-replayed"`) || !strings.Contains(last, "a replay, or a second webhook") {
		t.Errorf("the replay is not audited with its reason: %s", last)
	}
	push(shaB, shaA, "d-3") // a force-push of live back to A: a new ref update
	h.wantState("R3", cs.StateSucceeded)
	if n := h.exec.total(); n != 3 {
		t.Fatalf("%d executions after the force-push back, want 3", n)
	}
}

func TestPush_SameCommitReusesItsThread(t *testing.T) {
	h := newHarness(t)
	h.push("mirage/mirage-www", "master", shaA, "hannesm") // R1 pending
	h.push("mirage/mirage-www", "master", shaA, "hannesm") // again: R2 supersedes R1
	if n := len(h.parents()); n != 1 {
		t.Fatalf("%d parent messages for one commit, want 1", n)
	}
	h.wantState("R1", cs.StateSuperseded)
	r2 := h.wantState("R2", cs.StatePending)
	if r2.Thread != h.pushRecord("www", shaA).Thread {
		t.Error("R2 is not in the commit's thread")
	}
}

func TestPush_NewerPushSupersedesOneStillWaiting(t *testing.T) {
	images := newGatedImages()
	h := newHarness(t, func(c *harnessConfig) { c.images = images })
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: shaA, Pusher: "p", Author: "p"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first wait", func() bool { return images.waitCount() == 1 })
	images.release("reg/api", shaB, "reg/api@"+digest('4'))
	h.push("org/api", "live", shaB, "p")
	if got := h.pushRecord("api", shaA); got.State != bot.PushSuperseded || !strings.Contains(string(got.Status), "superseded by the push of bbbbbbb") {
		t.Errorf("older push: %s %q", got.State, got.Status)
	}
	h.wantState("R1", cs.StateSucceeded) // api deploys on push to live without approval
	r := h.wantState("R1", cs.StateSucceeded)
	if r.Action.Commit != shaB {
		t.Errorf("R1 deployed %s, want the newer commit", r.Action.Commit)
	}
	if !strings.Contains(h.chat.AllText(), "superseded by the push of bbbbbbb to live") {
		t.Error("the older thread does not say it was superseded")
	}
}

func TestPush_RestartDuringTheImageWait(t *testing.T) {
	images := newGatedImages()
	h := newHarness(t, func(c *harnessConfig) { c.images = images })
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: shaA, Pusher: "p", Author: "p", Delivery: "d-9"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the wait", func() bool { return images.waitCount() == 1 })
	h.bot.Close() // the wait is cut off
	h.db.Close()

	images2 := newGatedImages()
	images2.release("reg/api", shaA, "reg/api@"+digest('3'))
	h2 := newHarness(t, func(c *harnessConfig) { c.path = h.path; c.images = images2 })
	h2.idle()
	r := h2.wantState("R1", cs.StateSucceeded)
	if r.Thread != h2.pushRecord("api", shaA).Thread {
		t.Error("the resumed push did not keep its thread")
	}
	if got := h2.pushRecord("api", shaA); got.State != bot.PushRequested || got.Request != "R1" {
		t.Errorf("push record after resuming: %s %s", got.State, got.Request)
	}
	if !strings.Contains(h2.chat.AllText(), "the bot restarted while getting the image") {
		t.Error("the thread does not say the push was resumed")
	}
}

func TestPush_PusherCannotApprove(t *testing.T) {
	h := newHarness(t)
	// talex5 (UOPS1 in identities) pushes hannesm's commit: neither may approve.
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "mirage/mirage-www", Branch: "master", SHA: shaA, Pusher: "talex5", Author: "hannesm"}); err != nil {
		t.Fatal(err)
	}
	h.idle()
	if got := h.say("UOPS1", "approve R1"); !strings.Contains(got, "cannot approve") {
		t.Errorf("the pusher's approval: %q", got)
	}
	if got := h.say("UOWN1", "approve R1"); !strings.Contains(got, "cannot approve") {
		t.Errorf("the author's approval: %q", got)
	}
	r := h.wantState("R1", cs.StatePending)
	if r.Requester != "github:talex5" || r.AuthorLogin != "hannesm" || r.Author != "UOWN1" {
		t.Errorf("requester %s, author %s (%s)", r.Requester, r.Author, r.AuthorLogin)
	}
}

// TestReports_StatusesAndDeploymentsSurviveAnOutage: while GitHub is
// unreachable the reports wait, and only the newest state of each commit
// status and deployment is sent when it is back (the deployment itself
// always), in order.
func TestReports_StatusesAndDeploymentsSurviveAnOutage(t *testing.T) {
	rep := &fakeReporter{}
	images := newGatedImages()
	h := newHarness(t, func(c *harnessConfig) { c.reporter = rep; c.images = images })
	rep.setDown(true)
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: shaA, Pusher: "p", Author: "p"}); err != nil {
		t.Fatal(err)
	}
	// The first report has failed: the lane is stalled before the rest
	// of the flow queues anything.
	waitFor(t, "a failed report", func() bool { rep.mu.Lock(); defer rep.mu.Unlock(); return rep.calls > 0 })
	images.release("reg/api", shaA, "reg/api@"+digest('3'))
	waitFor(t, "the deploy", func() bool { return h.exists("R1") && h.exec.count("R1") == 1 })
	waitFor(t, "R1 to finish", func() bool {
		var r cs.Request
		h.db.View(h.ctx, func(tx bot.ReadTx) error { var err error; r, err = tx.Request("R1"); return err })
		return r.State == cs.StateSucceeded
	})
	rep.setDown(false)
	h.idle()
	got := strings.Join(rep.summary(), ", ")
	// The first pending status was being delivered when GitHub failed; it
	// goes out as it is. The later pendings and the deployment's queued and
	// in_progress were made stale while waiting. The image check reports
	// the commit's deployability (the second status) once it has the image.
	want := "status pending, status success, deployment api, status success, deployment_status success"
	if got != want {
		t.Errorf("reports:\n got %s\nwant %s", got, want)
	}
	rep.mu.Lock()
	defer rep.mu.Unlock()
	for _, r := range rep.reports {
		if r.Repo != "org/api" || r.SHA != shaA {
			t.Errorf("report for %s@%s", r.Repo, r.SHA)
		}
		if r.Status != nil && (r.Status.Context != "countersign/api" && r.Status.Context != bot.CheckContext("api") || len([]rune(r.Status.Description)) > 140) {
			t.Errorf("status %+v", r.Status)
		}
	}
}

func TestDeploy_ShortSHAOfARecordedPush(t *testing.T) {
	h := newHarness(t)
	h.push("mirage/mirage-www", "master", shaA, "hannesm")
	h.say("UDEV1", "deploy www aaaaaaa")
	if r := h.wantState("R2", cs.StatePending); r.Action.Commit != shaA || r.Action.Image != "reg/www@"+digest('1') {
		t.Errorf("deploy by short SHA: commit %s image %s", r.Action.Commit, r.Action.Image)
	}
	h.push("mirage/mirage-www", "master", "aaaaaaab"+strings.Repeat("0", 32), "hannesm")
	if got := h.say("UDEV1", "deploy www aaaaaaa"); !strings.Contains(got, "aaaaaaa is ambiguous") {
		t.Errorf("ambiguous short SHA: %q", got)
	}
}

func TestLock_AlreadyLockedSaysByWhom(t *testing.T) {
	h := newHarness(t)
	h.say("UOPS1", "lock api disk full")
	got := h.say("UDEV1", "lock api my reason")
	if !strings.Contains(got, "api is already locked by UOPS1") || !strings.Contains(got, "disk full") {
		t.Errorf("second lock: %q", got)
	}
	if l := h.lock("api"); l.Reason != "disk full" {
		t.Errorf("the lock's reason was replaced: %q", l.Reason)
	}
}

func (h *harness) lock(target string) cs.Lock {
	h.t.Helper()
	var l cs.Lock
	h.db.View(h.ctx, func(tx bot.ReadTx) error { var err error; l, _, err = tx.Lock(target); return err })
	return l
}

// imageExec remembers what runs on each target, as a real engine does,
// and says what each deploy replaced.
type imageExec struct {
	fakeExec
	mu      sync.Mutex
	running map[string]string
}

func (e *imageExec) Execute(ctx context.Context, r cs.Request, progress func(string) error) (bot.Result, error) {
	res, err := e.fakeExec.Execute(ctx, r, progress)
	if err != nil || (r.Action.Kind != cs.ActionDeploy && r.Action.Kind != cs.ActionRollback) {
		return res, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	res.Replaced, e.running[r.Action.Target] = e.running[r.Action.Target], r.Action.Image
	return res, nil
}

// TestRollback_FirstAfterTheBotsFirstDeploy: v1 ran before the bot; the
// bot deploys v2, scales, and a rollback returns to v1.
func TestRollback_FirstAfterTheBotsFirstDeploy(t *testing.T) {
	ex := &imageExec{running: map[string]string{"api": "reg/api@" + digest('0')}}
	h := newHarness(t, func(c *harnessConfig) { c.exec = &ex.fakeExec; c.executor = ex })
	h.say("UDEV1", "deploy api "+shaA)
	h.say("UOPS1", "approve R1")
	h.wantState("R1", cs.StateSucceeded)
	h.say("UDEV1", "scale api 3")
	h.say("UOPS1", "approve R2")
	h.wantState("R2", cs.StateSucceeded)
	if got := h.say("UDEV1", "rollback api"); strings.Contains(got, "no earlier successful deployment") {
		t.Fatalf("rollback refused: %q", got)
	}
	r := h.wantState("R3", cs.StatePending)
	if r.Action.Image != "reg/api@"+digest('0') {
		t.Errorf("rollback to %s, want the image that ran before R1", r.Action.Image)
	}
}

// TestRollback_ToTheBotsOwnDeploymentNamesItsCommit: when the image that
// ran before the last deploy is one the bot deployed, the rollback names
// that deployment and its commit (the approver sees it, GitHub gets a
// deployment, the history keeps it).
func TestRollback_ToTheBotsOwnDeploymentNamesItsCommit(t *testing.T) {
	ex := &imageExec{running: map[string]string{"api": "reg/api@" + digest('0')}}
	h := newHarness(t, func(c *harnessConfig) { c.exec = &ex.fakeExec; c.executor = ex })
	h.say("UDEV1", "deploy api "+shaA)
	h.say("UOPS1", "approve R1")
	h.say("UDEV1", "deploy api "+shaB)
	h.say("UOPS1", "approve R2")
	h.wantState("R2", cs.StateSucceeded)
	h.say("UDEV1", "rollback api")
	r := h.wantState("R3", cs.StatePending)
	if a := r.Action; a.Image != "reg/api@"+digest('3') || a.Commit != shaA || a.Deployment != "R1" {
		t.Errorf("rollback to %s, commit %q, deployment %q: want R1's image, commit and ID", a.Image, a.Commit, a.Deployment)
	}
}

// clockExec advances the test clock while it runs, as a real deploy takes time.
type clockExec struct {
	fakeExec
	clock *bottest.Clock
}

func (e *clockExec) Execute(ctx context.Context, r cs.Request, progress func(string) error) (bot.Result, error) {
	e.clock.Advance(90 * time.Second)
	return e.fakeExec.Execute(ctx, r, progress)
}

func TestDeployment_StartedIsTheStart(t *testing.T) {
	clock := bottest.NewClock(time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC))
	ex := &clockExec{clock: clock}
	h := newHarness(t, func(c *harnessConfig) { c.clock = clock; c.executor = ex; c.exec = &ex.fakeExec })
	h.push("org/api", "live", shaA, "p")
	var hist []cs.Deployment
	h.db.View(h.ctx, func(tx bot.ReadTx) error { var err error; hist, err = tx.Deployments("api", 1); return err })
	if len(hist) != 1 || hist[0].Finished.Sub(hist[0].Started) != 90*time.Second {
		t.Errorf("deployment %+v: want it to last the 90 s the execution took", hist)
	}
}

// checkingExec refuses every image, as the Albatross executor refuses one
// without the unikernel.
type checkingExec struct{ fakeExec }

func (e *checkingExec) CheckImage(context.Context, string) error {
	return errors.New("no unikernel.hvt in the image")
}

func TestPush_ImageCheckedBeforeApproval(t *testing.T) {
	ex := &checkingExec{}
	h := newHarness(t, func(c *harnessConfig) { c.executor = ex; c.exec = &ex.fakeExec })
	h.push("mirage/mirage-www", "master", shaA, "hannesm")
	if h.exists("R1") {
		t.Error("a request was made for an image that cannot be deployed")
	}
	if got := h.pushRecord("www", shaA); got.State != bot.PushFailed || !strings.Contains(string(got.Status), "no unikernel.hvt in the image") {
		t.Errorf("push: %s %q", got.State, got.Status)
	}
}

// TestPush_ReceivedDetail pins the detail of webhook.received records to
// the JSON of a map of its keys, what it was first written as: records
// written since must read the same.
func TestPush_ReceivedDetail(t *testing.T) {
	h := newHarness(t)
	const zeros = "0000000000000000000000000000000000000000"
	pushes := []bot.Push{
		{Repo: "org/api", Branch: "live", SHA: shaA, Before: zeros, Pusher: "someone", Author: "<a&b>", Delivery: "d-1"},
		{Repo: "org/api", Branch: "live", SHA: shaA, Before: zeros, Pusher: "someone", Author: "é\u2028", Delivery: "d-replayed"},
		{Repo: "org/other", Branch: "main", SHA: shaB, Pusher: "p", Delivery: "d-2"},
	}
	var want []string
	for _, p := range pushes {
		res, err := h.bot.HandlePush(h.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		h.idle()
		detail := map[string]any{
			"event": "push", "repo": p.Repo, "branch": p.Branch, "sha": p.SHA, "delivery": p.Delivery,
			"pusher": p.Pusher, "author": p.Author, "services": res.Services,
		}
		if res.Ignored != "" {
			detail["ignored"] = res.Ignored
		}
		d, err := cs.DetailJSON(detail)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, string(d))
	}
	evs, err := h.bot.Events(h.ctx, bot.EventQuery{Kind: cs.EventWebhookReceived})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(want) {
		t.Fatalf("%d webhook.received records, want %d", len(evs), len(want))
	}
	for i, e := range evs {
		if string(e.Detail) != want[i] {
			t.Errorf("record %d detail\n %s\nwant\n %s", i, e.Detail, want[i])
		}
	}
}
