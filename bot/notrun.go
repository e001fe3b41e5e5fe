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
	var added, removed int
	err := b.store.Update(ctx, func(tx Tx) error {
		closed, added, removed = false, 0, 0
		var err error
		if r, err = tx.Request(id); err != nil || r.State != cs.StateApproved {
			return err
		}
		r.State, r.Outcome, r.Updated = cs.StateFailed, string(outcome), b.now()
		detail["error"], detail["dry_run"] = r.Outcome, r.DryRun
		if _, err := tx.Append(b.event(cs.EventExecutionFailed, cs.ActorBot, &r, detail)); err != nil {
			return err
		}
		if err := tx.PutRequest(r); err != nil {
			return err
		}
		closed = true
		added, removed, err = b.queueClosed(tx, r, cc(Textf("%s ", r.ID)+Markup(r.Outcome), r))
		return err
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
	b.counted(LaneChat, added, removed)
	if closed {
		b.reportRequest(ctx, r)
		b.refreshParent(ctx, r)
	}
}

// queueClosed queues, in tx, the update of closed request r's card and
// text in its thread; the caller passes the counts to counted once tx
// commits.
func (b *Bot) queueClosed(tx Tx, r cs.Request, text Markup) (added, removed int, err error) {
	if r.Message.ID != "" {
		msg := b.requestMessage(r)
		msg.Channel = r.Message.Channel
		if added, removed, err = b.queueUpdate(tx, r.Message, msg); err != nil {
			return 0, 0, err
		}
	}
	if r.Thread != (cs.MessageRef{}) {
		if _, err := tx.QueueOutgoing(Outgoing{Op: OpPost, Message: Message{Channel: r.Thread.Channel, Thread: r.Thread, Text: text}, Queued: b.now()}); err != nil {
			return 0, 0, err
		}
		added++
	}
	return added, removed, nil
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
