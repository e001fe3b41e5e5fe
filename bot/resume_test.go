package bot_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// fakeResumer is an executor whose target carries on without the bot, as
// a Swarm engine does: it follows an execution cut off by a restart and
// returns res or err (an err wrapping bot.ErrCannotResume: nothing to
// follow, said before any step).
type fakeResumer struct {
	fakeExec
	res     bot.Result
	err     error
	resumed chan cs.RequestID // if set, receives each request followed
	holdOn  chan struct{}     // if set, Resume waits for it to close
	resumes []cs.RequestID
}

func (e *fakeResumer) Resume(ctx context.Context, r cs.Request, progress func(string) error) (bot.Result, error) {
	e.mu.Lock()
	e.resumes = append(e.resumes, r.ID)
	e.active++
	if e.active > e.maxAtOne {
		e.maxAtOne = e.active
	}
	e.mu.Unlock()
	defer func() { e.mu.Lock(); e.active--; e.mu.Unlock() }()
	if errors.Is(e.err, bot.ErrCannotResume) {
		return bot.Result{}, e.err
	}
	if e.resumed != nil {
		e.resumed <- r.ID
	}
	if e.holdOn != nil {
		select {
		case <-e.holdOn:
		case <-ctx.Done():
			return bot.Result{}, ctx.Err()
		}
	}
	if err := progress("following the update of " + r.Action.Target); err != nil {
		return bot.Result{}, err
	}
	return e.res, e.err
}

func (e *fakeResumer) followed() []cs.RequestID {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.resumes)
}

// crashMidDeploy approves a deploy of api (R1) and copies the database
// while it runs: what a kill -9 leaves on disk. Before the copy, extra
// is said by UDEV1 (a request made while R1 runs). It returns the copy.
func crashMidDeploy(t *testing.T, rep *fakeReporter, extra ...string) string {
	t.Helper()
	exec := &fakeExec{started: make(chan cs.RequestID, 4), hold: make(chan struct{})}
	h := newHarness(t, func(c *harnessConfig) {
		c.exec = exec
		if rep != nil {
			c.reporter = rep
		}
	})
	h.say("UDEV1", "deploy api "+shaA)
	go h.bot.HandleCommand(h.ctx, bot.Caller{User: "UOPS1"}, "approve R1")
	<-exec.started
	if rep != nil {
		// GitHub has the deployment the restarted bot reports on.
		waitFor(t, "the deployment in progress", func() bool {
			return slices.Contains(rep.summary(), "deployment_status in_progress")
		})
	}
	for _, s := range extra {
		h.bot.HandleCommand(h.ctx, bot.Caller{User: "UDEV1", Channel: "CCHAT"}, s)
	}
	crashed := filepath.Join(t.TempDir(), "crashed.db")
	var buf strings.Builder
	if _, err := h.db.Backup(h.ctx, &buf); err != nil {
		t.Fatal(err)
	}
	writeFile(t, crashed, buf.String())
	return crashed
}

// receive waits for a request on ch, failing t if none comes.
func receive(t *testing.T, what string, ch chan cs.RequestID) cs.RequestID {
	t.Helper()
	select {
	case id := <-ch:
		return id
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return ""
	}
}

// restartWith starts a bot on the database at path whose executor is ex.
func restartWith(t *testing.T, path string, ex *fakeResumer, rep *fakeReporter) *harness {
	t.Helper()
	return newHarness(t, func(c *harnessConfig) {
		c.path, c.exec, c.executor = path, &ex.fakeExec, ex
		if rep != nil {
			c.reporter = rep
		}
	})
}

// eventDetail returns the detail of the request's only record of kind.
func (h *harness) eventDetail(id cs.RequestID, kind cs.EventKind) string {
	h.t.Helper()
	var evs []cs.Event
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		evs, err = tx.Events(bot.EventQuery{Request: id, Kind: kind})
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	if len(evs) != 1 {
		h.t.Fatalf("%d %s records of %s, want 1", len(evs), kind, id)
	}
	return string(evs[0].Detail)
}

// TestResume_FollowedToSuccess: a deploy cut off by a restart, whose
// executor can follow it on the target, ends succeeded after the
// restart through the normal path (audit, thread, message, history,
// GitHub), saying it was followed; it is not interrupted nor run again.
func TestResume_FollowedToSuccess(t *testing.T) {
	rep := &fakeReporter{}
	crashed := crashMidDeploy(t, rep)
	ex := &fakeResumer{res: bot.Result{Summary: "api runs reg/api@" + digest('3'), Image: "reg/api@" + digest('3'), Replaced: "reg/api@" + digest('9')}}
	rep2 := &fakeReporter{}
	h := restartWith(t, crashed, ex, rep2)
	h.idle()

	r := h.wantState("R1", cs.StateSucceeded)
	if !strings.Contains(r.Outcome, "api runs reg/api@") || !strings.Contains(r.Outcome, "after the bot restarted") {
		t.Errorf("outcome %q, want the executor's summary and that it was followed after the restart", r.Outcome)
	}
	if got := ex.followed(); !slices.Equal(got, []cs.RequestID{"R1"}) || ex.total() != 0 {
		t.Errorf("followed %v and executed %d times, want R1 followed once, nothing executed", got, ex.total())
	}
	want := []string{"request.created", "approval.requested", "approval.granted", "execution.started", "execution.step", "execution.succeeded"}
	if got := h.kinds("R1"); !slices.Equal(got, want) {
		t.Errorf("R1's audit records: %v, want %v", got, want)
	}
	if d := h.eventDetail("R1", cs.EventExecutionSucceeded); !strings.Contains(d, "followed on the target after the bot restarted") {
		t.Errorf("execution.succeeded detail %s does not say it was followed after a restart", d)
	}
	var hist []cs.Deployment
	h.db.View(h.ctx, func(tx bot.ReadTx) error { hist, _ = tx.Deployments("api", 0); return nil })
	if len(hist) != 1 || !hist[0].Succeeded || hist[0].Replaced != "reg/api@"+digest('9') {
		t.Errorf("history %+v, want one succeeded deployment that replaced %s", hist, digest('9'))
	}
	if got := h.chat.AllText(); !strings.Contains(got, "✅ R1 succeeded") || !strings.Contains(got, "following the update of api") {
		t.Errorf("the thread does not show the step and the success:\n%s", got)
	}
	if got := rep2.summary(); !slices.Contains(got, "deployment_status success") || !slices.Contains(got, "status success") {
		t.Errorf("GitHub got %v, want the deployment's success", got)
	}
	verifyAudit(t, h.db)
}

// TestResume_FollowedToFailure: when the target ends the update badly,
// the request fails with the target's own words.
func TestResume_FollowedToFailure(t *testing.T) {
	crashed := crashMidDeploy(t, nil)
	ex := &fakeResumer{err: errors.New(`update paused: Docker paused the update of api: "update paused due to failure or early termination of task x"`)}
	h := restartWith(t, crashed, ex, nil)
	h.idle()

	r := h.wantState("R1", cs.StateFailed)
	if !strings.Contains(r.Outcome, "Docker paused the update of api") {
		t.Errorf("outcome %q, want Docker's message", r.Outcome)
	}
	if d := h.eventDetail("R1", cs.EventExecutionFailed); !strings.Contains(d, "after the bot restarted") || !strings.Contains(d, "early termination of task x") {
		t.Errorf("execution.failed detail %s, want it to say it was followed after a restart, with Docker's message", d)
	}
	if h.countKind("R1", cs.EventExecutionInterrupted) != 0 || ex.total() != 0 {
		t.Error("R1 was interrupted or run again")
	}
	if got := h.chat.AllText(); !strings.Contains(got, "❌ R1 failed") {
		t.Errorf("the thread does not say R1 failed:\n%s", got)
	}
}

// TestResume_NothingToFollowIsInterrupted: when the target shows nothing
// of the request's to follow (changed since, or never reached), it stays
// interrupted, saying why, and is not run again.
func TestResume_NothingToFollowIsInterrupted(t *testing.T) {
	crashed := crashMidDeploy(t, nil)
	ex := &fakeResumer{err: fmt.Errorf("%w: api now runs reg/api@%s, set after this request", bot.ErrCannotResume, digest('7'))}
	h := restartWith(t, crashed, ex, nil)
	h.idle()

	r := h.wantState("R1", cs.StateInterrupted)
	if !strings.Contains(r.Outcome, "could not follow it (nothing to follow on the target: api now runs reg/api@") || !strings.Contains(r.Outcome, "not run again") {
		t.Errorf("outcome %q, want why it could not be followed", r.Outcome)
	}
	if d := h.eventDetail("R1", cs.EventExecutionInterrupted); !strings.Contains(d, `"not_followed":"nothing to follow on the target: api now runs`) {
		t.Errorf("execution.interrupted detail %s, want why it was not followed", d)
	}
	if n := h.countKind("R1", cs.EventExecutionStep); n != 0 || ex.total() != 0 {
		t.Errorf("%d steps audited after the restart and %d executions, want none", n, ex.total())
	}
	if got := h.chat.AllText(); !strings.Contains(got, "⚠️ R1 was interrupted: the bot stopped while this was running; the restarted bot could not follow it") {
		t.Errorf("the thread does not say R1 was interrupted:\n%s", got)
	}
	verifyAudit(t, h.db)
}

// TestResume_RestartWhileFollowing: a bot killed while it follows an
// execution leaves it executing; the next start follows it again, and
// it still ran once.
func TestResume_RestartWhileFollowing(t *testing.T) {
	crashed := crashMidDeploy(t, nil)
	first := &fakeResumer{resumed: make(chan cs.RequestID, 1), holdOn: make(chan struct{})}
	h := restartWith(t, crashed, first, nil)
	receive(t, "R1 followed", first.resumed)
	again := filepath.Join(t.TempDir(), "crashed-again.db")
	var buf strings.Builder
	if _, err := h.db.Backup(h.ctx, &buf); err != nil {
		t.Fatal(err)
	}
	writeFile(t, again, buf.String())

	second := &fakeResumer{res: bot.Result{Summary: "api runs reg/api@" + digest('3')}}
	h2 := restartWith(t, again, second, nil)
	h2.idle()
	h2.wantState("R1", cs.StateSucceeded)
	for _, c := range []struct {
		kind cs.EventKind
		want int
	}{{cs.EventExecutionStarted, 1}, {cs.EventExecutionSucceeded, 1}, {cs.EventExecutionInterrupted, 0}} {
		if got := h2.countKind("R1", c.kind); got != c.want {
			t.Errorf("%d %s records, want %d", got, c.kind, c.want)
		}
	}
	if first.total()+second.total() != 0 || len(second.followed()) != 1 {
		t.Errorf("executed %d times, followed %v by the last start: want 0, [R1]", first.total()+second.total(), second.followed())
	}
}

// TestResume_HoldsTheTarget: while the restarted bot follows an
// execution, another approved one on the same target waits for it.
func TestResume_HoldsTheTarget(t *testing.T) {
	crashed := crashMidDeploy(t, nil, "deploy api "+shaB) // R2, pending at the crash
	ex := &fakeResumer{resumed: make(chan cs.RequestID, 1), holdOn: make(chan struct{}),
		res: bot.Result{Summary: "api runs reg/api@" + digest('3')}}
	ex.started = make(chan cs.RequestID, 4)
	h := restartWith(t, crashed, ex, nil)
	receive(t, "R1 followed", ex.resumed)
	h.wantState("R2", cs.StatePending)
	go h.bot.HandleCommand(h.ctx, bot.Caller{User: "UOPS2"}, "approve R2")
	select {
	case id := <-ex.started:
		t.Fatalf("%s started while R1 was followed on api", id)
	case <-time.After(100 * time.Millisecond):
	}
	close(ex.holdOn)
	receive(t, "R2 started", ex.started)
	h.idle()
	h.wantState("R1", cs.StateSucceeded)
	h.wantState("R2", cs.StateSucceeded)
	if ex.maxAtOne != 1 {
		t.Errorf("max concurrent executions on api = %d, want 1", ex.maxAtOne)
	}
}

// TestResume_InterruptionNotRecordedIsTriedAgain: when the interruption
// of what cannot be followed cannot be audited, the request stays
// executing, and the next start records it.
func TestResume_InterruptionNotRecordedIsTriedAgain(t *testing.T) {
	crashed := crashMidDeploy(t, nil)
	ex := &fakeResumer{err: fmt.Errorf("%w: the update never reached the engine", bot.ErrCannotResume)}
	fs := &failingStore{failKinds: []cs.EventKind{cs.EventExecutionInterrupted}}
	h := newHarness(t, func(c *harnessConfig) {
		c.path, c.exec, c.executor = crashed, &ex.fakeExec, ex
		c.wrap = func(s bot.Store) bot.Store { fs.Store = s; return fs }
	})
	h.idle()
	h.wantState("R1", cs.StateExecuting)
	h.bot.Close()
	h.db.Close()

	h2 := restartWith(t, crashed, ex, nil)
	h2.idle()
	if r := h2.wantState("R1", cs.StateInterrupted); !strings.Contains(r.Outcome, "the update never reached the engine") {
		t.Errorf("outcome %q, want why it could not be followed", r.Outcome)
	}
	if got := ex.followed(); !slices.Equal(got, []cs.RequestID{"R1", "R1"}) || ex.total() != 0 {
		t.Errorf("followed %v, executed %d times: want R1 looked at by both starts, never executed", got, ex.total())
	}
}
