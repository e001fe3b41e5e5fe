package bot

import (
	"context"
	"errors"

	cs "github.com/countersign/countersign"
)

// An approved request whose start could not be audited must not run. Chat
// hears "not run" only in the transaction that closes the request as
// failed: if the store cannot write that either, chat hears nothing, the
// request shows "approved, queued", and the bot closes it at its next
// write that succeeds (every ExpiryInterval). A restart before then finds
// it approved, and checks it again like any request approved but not
// started (Start).

// notRunAudit is the outcome of a request whose start could not be audited.
const notRunAudit = "not run: could not write the audit trail when it was to start; nothing was done. Request it again."

// closeNotRun closes approved request id as failed, without running it,
// and queues with it the update of its card and the thread reply that say
// so. It does nothing to a request that is no longer approved. When the
// store cannot write, the request is kept for a later try.
func (b *Bot) closeNotRun(ctx context.Context, id cs.RequestID, outcome Markup, detail map[string]any) {
	var r cs.Request
	var closed bool
	err := b.update(ctx, func(tx *update) error {
		closed = false
		var err error
		if r, err = tx.Request(id); err != nil || r.State != cs.StateApproved {
			return err
		}
		closed = true
		return b.closeUnrun(tx, &r, outcome, detail)
	})
	b.mu.Lock()
	if err == nil || errors.Is(err, cs.ErrNotFound) {
		delete(b.unstarted, id)
	} else {
		b.unstarted[id] = outcome
	}
	b.mu.Unlock()
	if err != nil {
		b.log.Error("close a request that could not start", "request", id, "err", err)
		return
	}
	if closed {
		b.reportRequest(ctx, r)
		b.refreshParent(ctx, r)
	}
}

// closeUnrun closes approved request r as failed with outcome, without
// running it, in u: audited (execution.failed with detail), and its card
// and thread told.
func (b *Bot) closeUnrun(u *update, r *cs.Request, outcome Markup, detail map[string]any) error {
	r.State, r.Outcome, r.Updated = cs.StateFailed, string(outcome), b.now()
	detail["error"], detail["dry_run"] = r.Outcome, r.DryRun
	if _, err := u.Append(b.event(cs.EventExecutionFailed, cs.ActorBot, r, detail)); err != nil {
		return err
	}
	if err := u.PutRequest(*r); err != nil {
		return err
	}
	return b.queueClosed(u, *r, cc(Textf("%s ", r.ID)+Markup(r.Outcome), *r))
}

// queueClosed queues, in u, the update of closed request r's card and
// text in its thread.
func (b *Bot) queueClosed(u *update, r cs.Request, text Markup) error {
	if r.Message.ID != "" {
		msg := b.requestMessage(r)
		msg.Channel = r.Message.Channel
		if err := u.edit(r.Message, msg); err != nil {
			return err
		}
	}
	if r.Thread != (cs.MessageRef{}) {
		return u.reply(r.Thread, text)
	}
	return nil
}

// closeUnstarted tries again to close the requests that could not start
// and could not be closed then.
func (b *Bot) closeUnstarted(ctx context.Context) {
	b.mu.Lock()
	ids := make(map[cs.RequestID]Markup, len(b.unstarted))
	for id, outcome := range b.unstarted {
		ids[id] = outcome
	}
	b.mu.Unlock()
	for id, outcome := range ids {
		b.closeNotRun(ctx, id, outcome, map[string]any{"retried": true})
	}
}
