package bot

import (
	"context"
	"errors"
	"time"

	cs "github.com/countersign/countersign"
)

// DefaultGiveUpAfter is how long the outbox retries an entry that keeps
// failing before it sets it aside, when Config.GiveUpAfter is zero.
const DefaultGiveUpAfter = 24 * time.Hour

// Why an outbox entry was set aside.
const (
	// AsideRefused: the other side refused it for good (ErrChatRejected).
	AsideRefused = "refused"
	// AsideGaveUp: it kept failing with errors that looked temporary for
	// longer than Config.GiveUpAfter.
	AsideGaveUp = "gave_up"
)

// Aside is an outbox entry that never reached the other side: refused for
// good, or still failing after Config.GiveUpAfter. The outbox moves it out
// of its lane, so that it holds up nothing, and keeps it here, audited as
// outbox.abandoned, for the operator to see (`countersign outbox list`,
// /healthz, /metrics, the overview page) instead of dropping it.
type Aside struct {
	Entry  Outgoing  `json:"entry"`
	Reason string    `json:"reason"` // AsideRefused or AsideGaveUp
	Error  string    `json:"error"`  // the last error, as Brief cuts it
	At     time.Time `json:"at"`     // when it was set aside
}

// setAside moves the lane's head out of the lane, audits it, and tells
// whoever asked for a post. An entry that refers to something never
// created (an update of a post set aside) is only logged: its post is
// already listed, and one line per later edit would bury it.
func (b *Bot) setAside(ctx context.Context, l *lane, head Outgoing, reason string, cause error) error {
	log := b.log.With("lane", LaneName(l.name), "op", head.Op, "id", head.ID, "seq", head.Seq, "channel", head.Message.Channel, "err", cause)
	if errors.Is(cause, errNeverPosted) {
		log.Warn("outbox entry dropped: what it refers to was set aside")
		return b.store.Update(ctx, func(tx Tx) error { return tx.DeleteOutgoing(head.Seq) })
	}
	a := Aside{Entry: head, Reason: reason, Error: Brief(cause), At: b.now()}
	err := b.store.Update(ctx, func(tx Tx) error {
		if err := tx.SetAside(a); err != nil {
			return err
		}
		_, err := tx.Append(b.event(cs.EventOutboxAbandoned, cs.ActorBot, head.request(), asideDetail(a)))
		return err
	})
	if err != nil {
		return err
	}
	log.Error("outbox entry set aside: it never reached the other side (countersign outbox list)", "reason", reason)
	b.tellRefused(ctx, head, cause)
	return nil
}

// asideDetail is the audit detail of a: where it was going and why it
// never got there; the message itself stays in the aside list.
func asideDetail(a Aside) map[string]any {
	o := a.Entry
	d := map[string]any{"lane": LaneName(o.Lane), "op": string(o.Op), "seq": o.Seq, "id": o.ID,
		"reason": a.Reason, "error": a.Error, "queued": o.Queued.UTC().Format(time.RFC3339)}
	if o.Message.Channel != "" {
		d["channel"] = o.Message.Channel
	}
	if !o.Failing.IsZero() {
		d["failing_since"] = o.Failing.UTC().Format(time.RFC3339)
	}
	if r := o.Report; r != nil {
		d["repo"], d["sha"] = r.Repo, r.SHA
	}
	return d
}

// request is the request a queued message is about, for the audit
// record's request and target; nil when it is about none.
func (o Outgoing) request() *cs.Request {
	if c := o.Message.Request; c != nil {
		return &cs.Request{ID: c.ID, Action: c.Action}
	}
	if r := o.Report; r != nil && r.Gate != nil {
		return &cs.Request{ID: r.Gate.Request, Action: cs.Action{Kind: cs.ActionDeploy, Target: r.Gate.Gate}}
	}
	return nil
}

// LaneName names a lane for people and metrics: "chat" or "github" (the
// chat lane's key is "").
func LaneName(l Lane) string {
	if l == LaneChat {
		return "chat"
	}
	return string(l)
}

// failingSince records, the first time the lane's head fails, when that
// was (kept in the store, so that a restart does not start the count
// again), and returns it.
func (b *Bot) failingSince(ctx context.Context, head Outgoing) (time.Time, error) {
	if !head.Failing.IsZero() {
		return head.Failing, nil
	}
	now := b.now()
	err := b.store.Update(ctx, func(tx Tx) error {
		q, err := tx.Outbox(0)
		if err != nil {
			return err
		}
		for _, o := range q {
			if o.Seq == head.Seq { // not coalesced away meanwhile
				o.Failing = now
				return tx.PutOutgoing(o)
			}
		}
		return nil
	})
	return now, err
}

// giveUpAfter is Config.GiveUpAfter or its default.
func (b *Bot) giveUpAfter() time.Duration {
	if b.cfg.GiveUpAfter > 0 {
		return b.cfg.GiveUpAfter
	}
	return DefaultGiveUpAfter
}

// SetAside returns the entries the outbox set aside, oldest first.
func (b *Bot) SetAside(ctx context.Context) ([]Aside, error) {
	var out []Aside
	err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		out, err = tx.Aside()
		return err
	})
	return out, err
}
