package bot_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
)

// TestBot_DrainLetsRunningExecutionsFinish: on shutdown a running
// execution is given time to finish and records its outcome; new work is
// refused meanwhile.
func TestBot_DrainLetsRunningExecutionsFinish(t *testing.T) {
	exec := &fakeExec{started: make(chan cs.RequestID, 4), hold: make(chan struct{})}
	h := newHarness(t, func(c *harnessConfig) { c.exec = exec })
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: shaA, Pusher: "p", Author: "p"}); err != nil {
		t.Fatal(err)
	}
	<-exec.started
	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
		defer cancel()
		drained <- h.bot.Drain(ctx)
	}()
	waitFor(t, "the drain to refuse work", func() bool {
		h.bot.HandleCommand(h.ctx, bot.Caller{User: "UDEV1", Channel: "CCHAT"}, "status")
		return strings.Contains(h.lastEphemeralQueued("UDEV1"), "shutting down")
	})
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: shaB, Pusher: "p"}); err == nil {
		t.Error("a push was taken while draining")
	}
	close(exec.hold)
	if err := <-drained; err != nil {
		t.Fatalf("drain: %v", err)
	}
	h.bot.Close()
	h.wantState("R1", cs.StateSucceeded)
}

// lastEphemeralQueued waits for delivery and returns the newest reply to user.
func (h *harness) lastEphemeralQueued(user cs.Actor) string {
	ctx, cancel := context.WithTimeout(h.ctx, time.Second)
	defer cancel()
	h.bot.Idle(ctx) // the held execution keeps the bot busy: a short wait
	return h.chat.LastEphemeral(user)
}

// TestBot_ApprovedButNotStartedIsCheckedAgainAtStart: a request left
// approved but never started (its execution.started record could not be
// written) runs at the next start only if it still may: not when the
// policy changed or it expired meanwhile.
func TestBot_ApprovedButNotStartedIsCheckedAgainAtStart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opt     harnessOpt
		later   time.Duration
		want    cs.State
		outcome string
		runs    int
	}{
		{"still valid", func(*harnessConfig) {}, 0, cs.StateSucceeded, "", 1},
		{"policy changed", func(c *harnessConfig) { c.set = testPolicies(4) }, 0, cs.StateSuperseded, "the policy changed before it could run", 0},
		{"expired", func(*harnessConfig) {}, 2 * time.Hour, cs.StateSuperseded, "could not start before it expired", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Neither the start nor the closing can be written: R1
			// stays approved, and chat is told nothing.
			fs := &failingStore{failKinds: []cs.EventKind{cs.EventExecutionStarted, cs.EventExecutionFailed}}
			h := newHarness(t, func(c *harnessConfig) {
				c.wrap = func(s bot.Store) bot.Store { fs.Store = s; return fs }
			})
			h.say("UDEV1", "deploy api "+shaA)
			h.say("UOPS1", "approve R1")
			h.wantState("R1", cs.StateApproved)
			h.bot.Close()
			h.db.Close()

			exec := &fakeExec{}
			clock := bottest.NewClock(h.clock.Now().Add(tc.later))
			h2 := newHarness(t, func(c *harnessConfig) { c.path = h.path; c.exec = exec; c.clock = clock; tc.opt(c) })
			h2.idle()
			r := h2.wantState("R1", tc.want)
			if !strings.Contains(r.Outcome, tc.outcome) || exec.count("R1") != tc.runs {
				t.Errorf("outcome %q after %d runs; want %q and %d", r.Outcome, exec.count("R1"), tc.outcome, tc.runs)
			}
		})
	}
}

// TestBot_ChatGetsTheCauseNotTheWholeChain: a long error from deep in an
// executor is cut in chat; the audit record keeps all of it.
func TestBot_ChatGetsTheCauseNotTheWholeChain(t *testing.T) {
	exec := &fakeExec{fail: errors.New("engine: " + strings.Repeat("layer of detail; ", 200))}
	h := newHarness(t, func(c *harnessConfig) { c.exec = exec })
	h.push("org/api", "live", shaA, "p")
	h.wantState("R1", cs.StateFailed)
	text := h.chat.AllText()
	if strings.Contains(text, strings.Repeat("layer of detail; ", 30)) || !strings.Contains(text, "the rest is in the bot's log") {
		t.Errorf("chat shows the whole error chain:\n%.600s", text)
	}
	var failed []cs.Event
	h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		failed, err = tx.Events(bot.EventQuery{Kind: cs.EventExecutionFailed})
		return err
	})
	if len(failed) != 1 || !strings.Contains(string(failed[0].Detail), strings.Repeat("layer of detail; ", 200)) {
		t.Error("the audit record does not keep the whole error")
	}
}
