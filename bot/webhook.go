package bot

import (
	"context"

	cs "github.com/countersign/countersign"
)

// WebhookIgnored audits a delivery the bot acknowledges and ignores (a
// ping, a tag push, a branch deletion, an event it does not handle) as
// webhook.received with the reason. A delivery ID seen before is not
// audited again; duplicate says so.
func (b *Bot) WebhookIgnored(ctx context.Context, d Delivery, reason string) (duplicate bool, err error) {
	err = b.store.Update(ctx, func(tx Tx) error {
		duplicate = false
		if d.ID != "" {
			seen, err := tx.SeenDelivery(d.ID, b.now())
			if err != nil || seen {
				duplicate = seen
				return err
			}
		}
		_, err := tx.Append(b.event(cs.EventWebhookReceived, deliveryActor(d), nil, map[string]any{
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
	return b.store.Update(ctx, func(tx Tx) error {
		_, err := tx.Append(b.event(cs.EventWebhookRefused, cs.ActorBot, nil, map[string]any{
			"event": d.Event, "delivery": d.ID, "remote": d.Remote, "reason": reason,
		}))
		return err
	})
}

func deliveryActor(d Delivery) cs.Actor {
	if d.Sender != "" {
		return cs.GitHubActor(d.Sender)
	}
	return cs.ActorBot
}
