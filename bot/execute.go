package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
)

// enqueue runs an approved request in the background, after any other
// execution on the same target. Locks are set before enqueue returns, so
// nothing queued after "lock" can slip past it.
func (b *Bot) enqueue(r cs.Request) {
	if b.stopping() {
		return // approved: the next start checks it again and runs it
	}
	if k := r.Action.Kind; k == cs.ActionLock || k == cs.ActionUnlock {
		b.execute(b.ctx, r.ID)
		return
	}
	if r.Gate != nil { // nothing runs here: GitHub Actions deploys
		b.gateApproved(b.ctx, r.ID)
		return
	}
	if k := r.Action.Kind; k == cs.ActionDeploy || k == cs.ActionRollback {
		b.cancelVerification(r)
	}
	b.work.add()
	ctx, h := b.watch(b.ctx)
	go func() {
		defer b.work.done()
		defer h.done()
		b.execute(ctx, r.ID)
	}()
}

// execute runs one approved request: mark it executing (audited), run the
// executor, record the outcome. A request that is no longer approved when
// its turn comes (superseded, or already run by a concurrent call) is
// skipped, so each approved request runs at most once.
func (b *Bot) execute(ctx context.Context, id cs.RequestID) {
	var r cs.Request
	if err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		r, err = tx.Request(id)
		return err
	}); err != nil {
		b.log.Error("load request for execution", "request", id, "err", err)
		return
	}
	// Locks take effect at once, even while the target is busy: they are
	// how people stop what is queued behind a running execution.
	if k := r.Action.Kind; k != cs.ActionLock && k != cs.ActionUnlock {
		m := b.targetMutex(r.Action.Target)
		m.Lock()
		defer m.Unlock()
	}

	var start bool
	err := b.update(ctx, func(u *update) error {
		var err error
		r, start, err = b.startTx(u, id)
		return err
	})
	if err != nil {
		b.log.Error("start execution", "request", id, "err", err)
		if ctx.Err() == nil { // shutting down: the next start checks it again
			b.closeNotRun(ctx, id, notRunAudit, map[string]any{})
		}
		return
	}
	if !start {
		if r.State == cs.StateFailed {
			b.reportRequest(ctx, r)
			b.refreshParent(ctx, r)
		}
		return
	}
	b.reportAndShow(ctx, r)
	if r.DryRun {
		b.reply(ctx, r, Textf("%s started [DRY RUN: nothing will be changed]", r.ID))
	} else {
		b.reply(ctx, r, Textf("%s started", r.ID))
	}

	began := b.now()
	v := b.beginVerification(ctx, r) // before finish, which reports to GitHub
	res, runErr := b.run(ctx, r)
	if b.leftBehind(ctx) {
		if v != nil {
			b.endVerification(v) // the next start verifies what it follows
		}
		b.noteLeft(ctx, r)
		return
	}
	b.finish(ctx, r, res, runErr, began)
	b.verify(v, runErr)
}

// startTx marks approved request id executing in u, or closes it not
// run when a lock holds its target; start says whether it may run.
func (b *Bot) startTx(u *update, id cs.RequestID) (r cs.Request, start bool, err error) {
	if r, err = u.Request(id); err != nil || r.State != cs.StateApproved {
		return r, false, err
	}
	if l, locked, err := blockedBy(u, r); err != nil {
		return r, false, err
	} else if locked {
		return r, false, b.closeUnrun(u, &r, "not run: "+lockReason(l), map[string]any{})
	}
	r.State, r.Updated = cs.StateExecuting, b.now()
	if _, err := u.Append(b.event(cs.EventExecutionStarted, cs.ActorBot, &r, map[string]any{
		"dry_run": r.DryRun, "plan": r.Plan, "fingerprint": r.Fingerprint, "action": r.Action,
	})); err != nil {
		return r, false, err
	}
	return r, true, u.PutRequest(r)
}

// run hands the request to its executor, or carries out a lock change itself.
func (b *Bot) run(ctx context.Context, r cs.Request) (Result, error) {
	if r.Action.Kind == cs.ActionLock || r.Action.Kind == cs.ActionUnlock {
		return b.runLock(ctx, r)
	}
	if r.Action.Kind == cs.ActionAdopt {
		return b.runAdopt(ctx, r)
	}
	if r.Action.Kind == cs.ActionPolicy {
		return b.runPolicy(ctx, r)
	}
	exec, err := b.executorFor(r.Action)
	if err != nil {
		return Result{}, err
	}
	return exec.Execute(ctx, r, b.progress(ctx, r))
}

// progress is what an executor reports r's steps through: each is
// audited, then shown in the progress reply. It fails (and the executor
// stops) when the step cannot be audited.
func (b *Bot) progress(ctx context.Context, r cs.Request) func(step string) error {
	p := &progressReply{title: string(r.ID), thread: r.Thread}
	return func(step string) error {
		err := b.audit(ctx, b.event(cs.EventExecutionStep, cs.ActorBot, &r, map[string]any{"step": step, "dry_run": r.DryRun}))
		if err != nil {
			return fmt.Errorf("%w: %v", errAudit, err)
		}
		b.showStep(ctx, p, step)
		return nil
	}
}

// runLock sets or releases a lock: the bot's own executor.
func (b *Bot) runLock(ctx context.Context, r cs.Request) (Result, error) {
	res := Result{DryRun: false}
	err := b.store.Update(ctx, func(tx Tx) error {
		if r.Action.Kind == cs.ActionUnlock {
			l, ok, err := tx.Lock(r.Action.Target)
			if err != nil {
				return err
			}
			if !ok {
				res.Summary = r.Action.Target + " was not locked"
				return nil
			}
			res.Summary = fmt.Sprintf("%s unlocked (was locked by %s: %s)", r.Action.Target, l.Actor, l.Reason)
			if _, err := tx.Append(b.event(cs.EventLockReleased, r.Requester, &r, map[string]any{"lock": l})); err != nil {
				return err
			}
			return tx.DeleteLock(r.Action.Target)
		}
		l := cs.Lock{Target: r.Action.Target, Actor: r.Requester, Reason: r.Action.Reason, Since: b.now(), Request: r.ID}
		res.Summary = fmt.Sprintf("%s locked: deploys, rollbacks and scaling are refused until `unlock %s`", l.Target, l.Target)
		if _, err := tx.Append(b.event(cs.EventLockSet, r.Requester, &r, map[string]any{"lock": l})); err != nil {
			return err
		}
		return tx.PutLock(l)
	})
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", errAudit, err)
	}
	return res, nil
}

// finish records the outcome, the deployment history and, after a
// rollback, the lock against deploys on push.
func (b *Bot) finish(ctx context.Context, r cs.Request, res Result, runErr error, began time.Time) {
	var autoLock bool
	var kept cs.Lock // a lock set by hand, which a rollback leaves alone
	took := b.now().Sub(began)
	err := b.store.Update(ctx, func(tx Tx) error {
		autoLock, kept = false, cs.Lock{}
		cur, err := tx.Request(r.ID)
		if err != nil {
			return err
		}
		r = cur
		now := b.now()
		r.Updated = now
		kind := cs.EventExecutionSucceeded
		detail := map[string]any{"dry_run": r.DryRun, "duration_ms": took.Milliseconds()}
		if runErr != nil {
			r.State, r.Outcome, kind = cs.StateFailed, string(Textf("failed: %s", Brief(runErr))), cs.EventExecutionFailed
			detail["error"] = runErr.Error()
		} else {
			r.State, r.Outcome = cs.StateSucceeded, string(Esc(res.Summary))
			detail["summary"], detail["image"] = res.Summary, res.Image
		}
		if _, err := tx.Append(b.event(kind, cs.ActorBot, &r, detail)); err != nil {
			return err
		}
		if k := r.Action.Kind; k == cs.ActionDeploy || k == cs.ActionRollback || k == cs.ActionAdopt {
			if err := tx.PutDeployment(deploymentOf(r, res, runErr == nil, began, now)); err != nil {
				return err
			}
			if k == cs.ActionRollback && runErr == nil {
				if autoLock, kept, err = b.lockAfterRollback(tx, r, now); err != nil {
					return err
				}
			}
		}
		return tx.PutRequest(r)
	})
	if err != nil {
		// The outcome is not recorded: the request stays "executing" and
		// the next start marks it interrupted, so it is never re-run.
		b.log.Error("record execution outcome", "request", r.ID, "err", err)
		b.reply(ctx, r, Textf("%s finished but its outcome could not be recorded: %v", r.ID, b.storeFailure(err)))
		return
	}
	b.reportAndShow(ctx, r)
	if runErr != nil {
		b.log.Warn("execution failed", "request", r.ID, "err", runErr)
		b.reply(ctx, r, cc(Textf("❌ %s failed after %s: %s", r.ID, took.Round(time.Millisecond), Brief(runErr)), r))
		return
	}
	b.driftCarriedOut(r)
	b.reply(ctx, r, cc(Textf("✅ %s succeeded in %s: %s", r.ID, took.Round(time.Millisecond), res.Summary), r))
	if autoLock {
		b.reply(ctx, r, Textf("🔒 %s is now locked against deploys on push, so the next push does not undo the rollback. `unlock %s` when the fix is in.", r.Action.Target, r.Action.Target))
	}
	if kept.Target != "" {
		b.reply(ctx, r, Textf("🔒 %s stays locked by %s (%s): that lock is stronger than the one a rollback sets, so it was left as it is.", kept.Target, mention(kept.Actor), kept.Reason))
	}
}

// deploymentOf is the deployment history entry of request r's execution.
func deploymentOf(r cs.Request, res Result, succeeded bool, began, finished time.Time) cs.Deployment {
	d := cs.Deployment{
		ID: r.ID, Target: r.Action.Target, Kind: r.Action.Kind, Image: r.Action.Image, Commit: r.Action.Commit,
		Requester: r.Requester, Started: began, Finished: finished, Succeeded: succeeded, DryRun: r.DryRun,
	}
	if res.Image != "" {
		d.Image = res.Image
	}
	d.Replaced = res.Replaced
	for _, a := range r.Approvals {
		d.Approvers = append(d.Approvers, a.Actor)
	}
	return d
}

// lockAfterRollback locks the target of rollback r against deploys on
// push (autoLock), so that the next push does not undo it, unless a lock
// set by hand (kept) already holds it: that one is stronger.
func (b *Bot) lockAfterRollback(tx Tx, r cs.Request, now time.Time) (autoLock bool, kept cs.Lock, err error) {
	if cur, ok, err := tx.Lock(r.Action.Target); err != nil {
		return false, kept, err
	} else if ok && !cur.AutoOnly {
		return false, cur, nil
	}
	l := cs.Lock{Target: r.Action.Target, Actor: cs.ActorBot, AutoOnly: true, Since: now, Request: r.ID,
		Reason: fmt.Sprintf("rolled back by %s", r.ID)}
	if _, err := tx.Append(b.event(cs.EventLockSet, cs.ActorBot, &r, map[string]any{"lock": l})); err != nil {
		return false, kept, err
	}
	return true, kept, tx.PutLock(l)
}

// progressReply is the one thread reply that shows an execution's steps,
// edited in place as they come, instead of a reply per step.
type progressReply struct {
	title  string        // what progresses: a request's ID, "build <sha>"
	thread cs.MessageRef // where the reply goes (none: not shown)
	ref    cs.MessageRef
	steps  []string
}

// maxProgressLines bounds the steps the progress reply shows.
const maxProgressLines = 20

// showStep adds step to the progress reply. A step that differs from the
// last only in its numbers ("tasks running new image 2/3" after "1/3")
// replaces it.
func (b *Bot) showStep(ctx context.Context, p *progressReply, step string) {
	if n := len(p.steps); n > 0 && sameShape(p.steps[n-1], step) {
		p.steps[n-1] = step
	} else {
		p.steps = append(p.steps, step)
	}
	shown := p.steps
	text := Textf("%s progress:", p.title)
	if len(shown) > maxProgressLines {
		text += Textf(" (%d earlier steps not shown)", len(shown)-maxProgressLines)
		shown = shown[len(shown)-maxProgressLines:]
	}
	for _, s := range shown {
		text += Textf("\n• %s", s)
	}
	msg := Message{Channel: p.thread.Channel, Thread: p.thread, Text: text}
	if p.ref.ID == "" {
		if p.thread != (cs.MessageRef{}) {
			p.ref = b.post(ctx, msg)
		}
		return
	}
	b.edit(ctx, p.ref, msg)
}

// sameShape reports whether a and b are equal once digits are ignored.
func sameShape(a, b string) bool {
	strip := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return -1
			}
			return r
		}, s)
	}
	return strip(a) == strip(b)
}
