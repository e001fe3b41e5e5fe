package bot

import (
	"context"
	"fmt"
	"math/bits"
	"time"

	cs "github.com/countersign/countersign"
)

// PayloadSeen is what the store keeps of a verified webhook payload, so
// that the same payload again under another delivery ID (a captured
// delivery replayed, or a second webhook) is counted instead of audited
// each time.
type PayloadSeen struct {
	First   string    `json:"first"`             // the delivery ID it first came under
	At      time.Time `json:"at"`                // when it first came
	Repeats int       `json:"repeats,omitempty"` // how many times it came again since
	Last    string    `json:"last,omitempty"`    // the delivery ID it last came again under
}

// seen tells, in tx, whether a verified delivery came before: a delivery
// ID seen before is a redelivery (duplicate); the same payload under
// another ID is a repeat, counted (rep.Repeats > 0, this one included).
// Anything else is new and is recorded, ID and payload.
func (b *Bot) seen(tx Tx, id, payload string) (duplicate bool, rep PayloadSeen, err error) {
	if payload != "" {
		p, ok, err := tx.Payload(payload)
		if err != nil {
			return false, rep, err
		}
		if ok && id != "" && p.First == id {
			return true, rep, nil
		}
		if ok {
			// A repeat's delivery ID is not recorded: replays under
			// fresh IDs must not fill the store either.
			p.Repeats++
			p.Last = id
			return false, p, tx.PutPayload(payload, p)
		}
	}
	if id != "" {
		if duplicate, err = tx.SeenDelivery(id, b.now()); err != nil || duplicate {
			return duplicate, rep, err
		}
	}
	if payload != "" {
		err = tx.PutPayload(payload, PayloadSeen{First: id, At: b.now()})
	}
	return false, rep, err
}

// auditRepeat writes the webhook.received record of a repeated payload
// when its count reaches a power of two (1, 2, 4, …): the first repeat is
// on record at once, and a flood of them costs a handful of records, each
// with the count so far, instead of one each.
func (b *Bot) auditRepeat(tx Tx, d Delivery, rep PayloadSeen) error {
	if bits.OnesCount(uint(rep.Repeats)) != 1 {
		return nil
	}
	_, err := tx.Append(b.event(cs.EventWebhookReceived, deliveryActor(d), nil, map[string]any{
		"event": d.Event, "delivery": d.ID, "repo": d.Repo, "repeat_of": rep.First, "repeats": rep.Repeats,
		"ignored": repeatReason(rep),
	}))
	return err
}

func repeatReason(rep PayloadSeen) string {
	return fmt.Sprintf("the payload of delivery %s again under another delivery ID (%d times so far; a replay, or a second webhook): nothing done", rep.First, rep.Repeats)
}

// WebhookIgnored audits a delivery the bot acknowledges and ignores (a
// ping, a tag push, a branch deletion, an event it does not handle) as
// webhook.received with the reason. A delivery ID seen before is not
// audited again; duplicate says so. The same payload under another
// delivery ID is counted, and audited only as auditRepeat says.
func (b *Bot) WebhookIgnored(ctx context.Context, d Delivery, reason string) (duplicate bool, err error) {
	err = b.store.Update(ctx, func(tx Tx) error {
		dup, rep, err := b.seen(tx, d.ID, d.Payload)
		duplicate = dup
		switch {
		case err != nil || dup:
			return err
		case rep.Repeats > 0:
			return b.auditRepeat(tx, d, rep)
		}
		_, err = tx.Append(b.event(cs.EventWebhookReceived, deliveryActor(d), nil, map[string]any{
			"event": d.Event, "delivery": d.ID, "repo": d.Repo, "ignored": reason,
		}))
		return err
	})
	if err != nil {
		return false, b.storeFailure(err)
	}
	return duplicate, nil
}

// WebhookRefused audits a delivery refused before it was read (unsigned,
// badly signed, oversized) as webhook.refused: the delivery ID and the
// reason, never the body.
func (b *Bot) WebhookRefused(ctx context.Context, d Delivery, reason string) error {
	return b.audit(ctx, b.event(cs.EventWebhookRefused, cs.ActorBot, nil, map[string]any{
		"event": d.Event, "delivery": d.ID, "remote": d.Remote, "reason": reason,
	}))
}

func deliveryActor(d Delivery) cs.Actor {
	if d.Sender != "" {
		return cs.GitHubActor(d.Sender)
	}
	return cs.ActorBot
}
