package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	cs "github.com/countersign/countersign"
)

// resumption is an execution the bot was running when it stopped, whose
// executor can follow it on the target after the restart.
type resumption struct {
	r     cs.Request
	exec  Resumer
	began time.Time // when the execution started, before the restart
}

// followedNote is what the outcome of a resumed execution says, so that
// thread, audit and code host tell it from one the bot saw through.
const followedNote = "followed on the target after the bot restarted"

// followable says whether r, found executing at start, can be followed
// on its target (its executor is a Resumer), and when it started.
func (b *Bot) followable(tx ReadTx, r cs.Request) (resumption, bool, error) {
	if k := r.Action.Kind; k == cs.ActionLock || k == cs.ActionUnlock {
		return resumption{}, false, nil // the bot's own, all in one transaction
	}
	exec, err := b.executorFor(r.Action)
	if err != nil {
		return resumption{}, false, nil // no longer configured: nothing to follow it with
	}
	rs, ok := exec.(Resumer)
	if !ok {
		return resumption{}, false, nil
	}
	evs, err := tx.Events(EventQuery{Request: r.ID, Kind: cs.EventExecutionStarted, Limit: 1})
	if err != nil {
		return resumption{}, false, err
	}
	began := r.Updated
	if len(evs) == 1 {
		began = evs[0].Time
	}
	return resumption{r: r, exec: rs, began: began}, true, nil
}

// resume follows f in the background to its end and records its outcome
// as any execution's. It takes the target's lock before it returns, so
// that no other execution starts there while the one the engine is still
// carrying out is followed.
func (b *Bot) resume(f resumption) {
	m := b.targetMutex(f.r.Action.Target)
	m.Lock()
	b.work.add()
	ctx, h := b.watch(b.ctx)
	ChangeSent(ctx) // on the target already: a shutdown leaves it to the next start
	go func() {
		defer b.work.done()
		defer h.done()
		defer m.Unlock()
		b.follow(ctx, f)
	}()
}

// follow runs the Resumer and records the outcome; what it cannot follow
// is marked interrupted, as it was before executors could be followed.
func (b *Bot) follow(ctx context.Context, f resumption) {
	r := f.r
	b.log.Info("following an execution cut off by the restart", "request", r.ID, "target", r.Action.Target)
	res, err := f.exec.Resume(ctx, r, b.progress(ctx, r))
	if b.leftBehind(ctx) {
		b.noteLeft(ctx, r)
		return
	}
	if errors.Is(err, ErrCannotResume) {
		b.log.Warn("execution cut off by the restart cannot be followed", "request", r.ID, "err", err)
		why := err.Error()
		err := b.store.Update(ctx, func(tx Tx) error {
			cur, err := tx.Request(r.ID)
			if err != nil {
				return err
			}
			r, err = b.interruptTx(tx, cur, why)
			return err
		})
		if err != nil {
			// Still executing: the next start tries again.
			b.log.Error("record interrupted execution", "request", r.ID, "err", err)
			return
		}
		b.tellInterrupted(ctx, r)
		return
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", followedNote, err)
	} else {
		res.Summary += " (" + followedNote + ")"
	}
	v := b.beginVerification(ctx, r) // a followed deploy is verified too
	b.finish(ctx, r, res, err, f.began)
	b.verify(v, err)
}

// interruptTx marks r, an execution cut off by a stop of the bot,
// interrupted, and audits it: it is never run again. notFollowed, if
// set, says why it could not be followed on its target.
func (b *Bot) interruptTx(tx Tx, r cs.Request, notFollowed string) (cs.Request, error) {
	// Where it stopped is what whoever checks the target needs.
	last, err := lastStep(tx, r.ID)
	if err != nil {
		return r, err
	}
	outcome := Markup("the bot stopped while this was running")
	if last != "" {
		outcome += Textf(", after: %s", last)
	}
	if notFollowed != "" {
		outcome += Textf("; the restarted bot could not follow it (%s)", notFollowed)
	}
	r.State, r.Updated, r.Outcome = cs.StateInterrupted, b.now(), string(outcome+"; it was not run again")
	if err := tx.PutRequest(r); err != nil {
		return r, err
	}
	detail := map[string]any{"reason": r.Outcome, "last_step": last}
	if notFollowed != "" {
		detail["not_followed"] = notFollowed
	}
	if _, err := tx.Append(b.event(cs.EventExecutionInterrupted, cs.ActorBot, &r, detail)); err != nil {
		return r, err
	}
	return r, nil
}

// tellInterrupted says in r's thread that it was interrupted, and edits
// its message.
func (b *Bot) tellInterrupted(ctx context.Context, r cs.Request) {
	b.reply(ctx, r, cc(Textf("⚠️ %s was interrupted: ", r.ID)+Markup(r.Outcome)+". Check the target and request it anew if needed.", r))
	b.reportAndShow(ctx, r)
}
