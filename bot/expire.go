package bot

import (
	"context"
	"time"

	cs "github.com/countersign/countersign"
)

// ExpiryInterval is how often pending requests are checked for expiry.
const ExpiryInterval = 15 * time.Second

func (b *Bot) expireLoop() {
	t := time.NewTicker(ExpiryInterval)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
			if err := b.Expire(b.ctx); err != nil {
				b.log.Warn("expire requests", "err", err)
			}
		}
	}
}

// Expire closes every pending request whose expiry has passed (or whose
// policy changed), and says so in its thread. First it closes the
// approved requests that could not start when the store could not write.
func (b *Bot) Expire(ctx context.Context) error {
	b.closeUnstarted(ctx)
	var closed []cs.Request
	err := b.store.Update(ctx, func(tx Tx) error {
		closed = nil
		open, err := tx.OpenRequests("")
		if err != nil {
			return err
		}
		for _, r := range open {
			if r.State != cs.StatePending {
				continue
			}
			ok, err := b.closeIfStale(tx, &r, cs.ActorBot)
			if err != nil {
				return err
			}
			if ok {
				closed = append(closed, r)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range closed {
		b.reportAndShow(ctx, r)
		b.reply(ctx, r, cc(Textf("%s ", r.ID)+Markup(r.Outcome), r))
	}
	return nil
}
