package bot_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// fakeSender is a Resumer whose Execute hands its change to the target
// (bot.ChangeSent), as the Swarm executor does once Docker has the
// update, then follows it until finish closes or its context ends.
type fakeSender struct {
	fakeResumer
	send   chan struct{}     // if set, Execute waits for it to close before sending
	sent   chan cs.RequestID // receives each request whose change was sent
	finish chan struct{}     // Execute waits for it to close after sending

	smu      sync.Mutex
	executed int
}

func (e *fakeSender) Execute(ctx context.Context, r cs.Request, progress func(string) error) (bot.Result, error) {
	e.smu.Lock()
	e.executed++
	e.smu.Unlock()
	if e.send != nil {
		select {
		case <-e.send:
		case <-ctx.Done():
			return bot.Result{}, ctx.Err()
		}
	}
	bot.ChangeSent(ctx)
	if e.sent != nil {
		e.sent <- r.ID
	}
	select {
	case <-e.finish:
	case <-ctx.Done():
		return bot.Result{}, ctx.Err()
	}
	if err := progress("the target took the change"); err != nil {
		return bot.Result{}, err
	}
	return bot.Result{Summary: "done " + r.Action.String(), Image: r.Action.Image}, nil
}

func (e *fakeSender) executions() int {
	e.smu.Lock()
	defer e.smu.Unlock()
	return e.executed
}

// drainNow drains h's bot without waiting: it returns nil when Drain
// has nothing left to wait for, context.Canceled when it would wait.
func drainNow(h *harness) error {
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	return h.bot.Drain(ctx)
}

// startSender approves a deploy of api (R1) on a bot whose executor is ex.
func startSender(t *testing.T, ex *fakeSender) *harness {
	t.Helper()
	h := newHarness(t, func(c *harnessConfig) { c.exec, c.executor = &ex.fakeExec, ex })
	h.say("UDEV1", "deploy api "+shaA)
	go h.bot.HandleCommand(h.ctx, bot.Caller{User: "UOPS1"}, "approve R1")
	return h
}

// wantLeft checks that R1 was left executing by the shutdown, saying so
// in the trail and the thread, with no outcome, and that the next start
// follows it to success without running it again.
func wantLeft(t *testing.T, h *harness, ex *fakeSender) {
	t.Helper()
	h.bot.Close()
	h.wantState("R1", cs.StateExecuting)
	for _, k := range []cs.EventKind{cs.EventExecutionSucceeded, cs.EventExecutionFailed, cs.EventExecutionInterrupted} {
		if n := h.countKind("R1", k); n != 0 {
			t.Errorf("%d %s records after the shutdown, want none", n, k)
		}
	}
	if n := h.countKind("R1", cs.EventExecutionStep); n != 1 {
		t.Errorf("%d execution.step records, want the one saying the next start follows it", n)
	}
	h.db.Close()

	next := &fakeResumer{res: bot.Result{Summary: "api runs reg/api@" + digest('3'), Image: "reg/api@" + digest('3')}}
	h2 := restartWith(t, h.path, next, nil)
	h2.idle()
	if r := h2.wantState("R1", cs.StateSucceeded); !strings.Contains(r.Outcome, "after the bot restarted") {
		t.Errorf("outcome %q, want it followed after the restart", r.Outcome)
	}
	if got := next.followed(); !slices.Equal(got, []cs.RequestID{"R1"}) || ex.executions()+next.total() != 1 {
		t.Errorf("followed %v, executed %d times: want R1 followed once, executed once", got, ex.executions()+next.total())
	}
	// Queued at the shutdown, said before it or by the next start.
	if got := h.chat.AllText() + h2.chat.AllText(); !strings.Contains(got, "R1: the bot is stopping while api carries this change on without it; the next start follows it to its end") {
		t.Errorf("the thread does not say the next start follows R1:\n%s", got)
	}
	verifyAudit(t, h2.db)
}

// TestDrain_LeavesASentChangeToTheNextStart: a shutdown does not wait for
// an execution whose change the target carries on (the bot's own update
// replacing it): Drain returns at once, the request stays executing with
// no outcome, and the next start follows it to its end.
func TestDrain_LeavesASentChangeToTheNextStart(t *testing.T) {
	ex := &fakeSender{sent: make(chan cs.RequestID, 1), finish: make(chan struct{})}
	h := startSender(t, ex)
	receive(t, "R1's change sent", ex.sent)
	if err := drainNow(h); err != nil {
		t.Fatalf("drain waited for an execution whose change was sent: %v", err)
	}
	wantLeft(t, h, ex)
}

// TestDrain_WaitsForAChangeNotYetSent: an execution that has not sent its
// change yet is waited for; if it sends it during the drain, the drain
// stops waiting for it from then on.
func TestDrain_WaitsForAChangeNotYetSent(t *testing.T) {
	ex := &fakeSender{send: make(chan struct{}), sent: make(chan cs.RequestID, 1), finish: make(chan struct{})}
	ex.started = make(chan cs.RequestID, 1)
	h := startSender(t, ex)
	waitFor(t, "R1 executing", func() bool { return h.request("R1").State == cs.StateExecuting })
	if err := drainNow(h); !errors.Is(err, context.Canceled) {
		t.Fatalf("drain = %v, want it waiting (context.Canceled) for an execution that has not sent its change", err)
	}
	close(ex.send)
	receive(t, "R1's change sent", ex.sent)
	if err := h.bot.Drain(h.ctx); err != nil {
		t.Fatalf("drain after the change was sent: %v", err)
	}
	wantLeft(t, h, ex)
}

// TestDrain_WaitsForAnExecutionThatSendsNothing: an execution that never
// says its change was sent is waited for and records its outcome, as
// before.
func TestDrain_WaitsForAnExecutionThatSendsNothing(t *testing.T) {
	ex := &fakeExec{started: make(chan cs.RequestID, 1), hold: make(chan struct{})}
	h := newHarness(t, func(c *harnessConfig) { c.exec = ex })
	h.say("UDEV1", "deploy api "+shaA)
	go h.bot.HandleCommand(h.ctx, bot.Caller{User: "UOPS1"}, "approve R1")
	receive(t, "R1 started", ex.started)
	if err := drainNow(h); !errors.Is(err, context.Canceled) {
		t.Fatalf("drain = %v, want it waiting (context.Canceled)", err)
	}
	close(ex.hold)
	if err := h.bot.Drain(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.bot.Close()
	h.wantState("R1", cs.StateSucceeded)
}

// TestDrain_LeavesAFollowedExecution: an execution the bot follows after
// a restart is on the target already: a second shutdown leaves it too,
// executing, for the start after.
func TestDrain_LeavesAFollowedExecution(t *testing.T) {
	crashed := crashMidDeploy(t, nil)
	first := &fakeResumer{resumed: make(chan cs.RequestID, 1), holdOn: make(chan struct{})}
	h := restartWith(t, crashed, first, nil)
	receive(t, "R1 followed", first.resumed)
	if err := drainNow(h); err != nil {
		t.Fatalf("drain waited for an execution it follows on the target: %v", err)
	}
	h.bot.Close()
	h.wantState("R1", cs.StateExecuting)
	if n := h.countKind("R1", cs.EventExecutionInterrupted) + h.countKind("R1", cs.EventExecutionFailed); n != 0 {
		t.Errorf("%d interrupted or failed records after the shutdown, want none", n)
	}
	h.db.Close()

	second := &fakeResumer{res: bot.Result{Summary: "api runs reg/api@" + digest('3')}}
	h2 := restartWith(t, crashed, second, nil)
	h2.idle()
	h2.wantState("R1", cs.StateSucceeded)
}
