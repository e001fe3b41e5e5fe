package bot

import (
	"context"
	"fmt"

	cs "github.com/countersign/countersign"
)

// handover is one execution Drain may stop watching: once its change is
// on a target that carries it on without the bot (ChangeSent), a
// shutdown leaves it there, executing in the store, for the next start
// to follow (Resumer). This is what lets the bot deploy itself: Docker
// stops the old bot while the update that replaces it is running.
type handover struct {
	b      *Bot
	cancel context.CancelFunc
	sent   bool // the target has the change
	left   bool // Drain stopped watching: record no outcome
	ended  bool // the execution is recording its outcome: too late to leave
	// released: Drain's count no longer has it.
	released bool
}

type handoverKey struct{}

// ChangeSent tells the bot that the execution ctx was given to has handed
// its change to a target that carries it on without the bot (a Swarm
// engine rolls an update out on its own): from then on a shutdown does
// not wait for it. Drain stops watching it without recording an outcome,
// and the next start follows it to its end with the executor's Resume.
// Only Resumers should call it; outside an execution it does nothing.
func ChangeSent(ctx context.Context) {
	h, ok := ctx.Value(handoverKey{}).(*handover)
	if !ok {
		return
	}
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	h.sent = true
	if h.b.draining {
		h.leave()
	}
}

// watch counts an execution for Drain and returns the context to run it
// with, which ChangeSent marks and Drain cancels; call done when it ends.
func (b *Bot) watch(parent context.Context) (context.Context, *handover) {
	h := &handover{b: b}
	ctx, cancel := context.WithCancel(context.WithValue(parent, handoverKey{}, h))
	h.cancel = cancel
	b.execs.add()
	b.mu.Lock()
	b.handovers[h] = struct{}{}
	b.mu.Unlock()
	return ctx, h
}

// done ends the watch of an execution.
func (h *handover) done() {
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	h.release()
}

// leave stops watching a sent execution during Drain. Called with b.mu held.
func (h *handover) leave() {
	if !h.sent || h.ended || h.left {
		return
	}
	h.left = true
	h.release()
}

// release takes the execution off Drain's count, once. Called with b.mu held.
func (h *handover) release() {
	h.cancel()
	if h.released {
		return
	}
	h.released = true
	delete(h.b.handovers, h)
	h.b.execs.done()
}

// leaveSent is Drain's: it stops watching every execution whose change
// the target carries on. Called with b.mu held.
func (b *Bot) leaveSent() {
	for h := range b.handovers {
		h.leave()
	}
}

// leftBehind reports whether Drain stopped watching the execution of
// ctx; if not, it never will: the caller records the outcome.
func (b *Bot) leftBehind(ctx context.Context) bool {
	h, ok := ctx.Value(handoverKey{}).(*handover)
	if !ok {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if h.left {
		return true
	}
	h.ended = true
	return false
}

// noteLeft audits and says in r's thread that the bot stopped while r's
// change was on its target, which carries it on: the next start follows
// it. The store is still open (Close waits for this), though Drain may
// be over: hence a context that is not cancelled with the bot's.
func (b *Bot) noteLeft(ctx context.Context, r cs.Request) {
	ctx = context.WithoutCancel(ctx)
	step := fmt.Sprintf("the bot is stopping while %s carries this change on without it; the next start follows it to its end", r.Action.Target)
	b.log.Info("shutting down: leaving an execution to the next start", "request", r.ID, "target", r.Action.Target)
	err := b.audit(ctx, b.event(cs.EventExecutionStep, cs.ActorBot, &r, map[string]any{"step": step, "dry_run": r.DryRun}))
	if err != nil {
		b.log.Error("audit the execution left to the next start", "request", r.ID, "err", err)
	}
	b.reply(ctx, r, Textf("⏳ %s: %s.", r.ID, step))
}
