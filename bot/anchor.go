package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	cs "github.com/countersign/countersign"
)

// DefaultAnchorEvery is how often the anchor is posted by default.
const DefaultAnchorEvery = 24 * time.Hour

// Anchor returns the audit chain's head as SEQ:HASH: written down outside
// the bot, it proves records 1..SEQ unchanged to `audit verify --anchor`,
// which a tail rewritten with recomputed hashes cannot fool.
func (b *Bot) Anchor(ctx context.Context) (string, error) {
	var evs []cs.Event
	err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		evs, err = tx.Events(EventQuery{Limit: 1})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("read the audit head: %w", err)
	}
	if len(evs) == 0 {
		return "", errors.New("the audit trail is empty")
	}
	return fmt.Sprintf("%d:%s", evs[0].Seq, evs[0].Hash), nil
}

// anchorNow answers `audit anchor` and posts the anchor in the audit channel.
func (b *Bot) anchorNow(ctx context.Context) (Markup, error) {
	a, err := b.Anchor(ctx)
	if err != nil {
		return "", err
	}
	reply := Textf("Audit anchor: `%s`. Check the trail against it with `countersign audit verify --anchor %s`.", a, a)
	if b.cfg.AuditChannel != "" {
		b.postAnchor(ctx, a)
		reply += Textf(" Posted in %s.", channelMention(b.cfg.AuditChannel))
	} else {
		reply += " No audit channel is configured (audit.channel): keep it somewhere the bot cannot write."
	}
	return reply, nil
}

func (b *Bot) postAnchor(ctx context.Context, anchor string) {
	b.post(ctx, Message{Channel: b.cfg.AuditChannel,
		Text: Textf("🔏 Audit anchor at %s: `%s`\nVerify with `countersign audit verify --anchor %s` (or save this channel's history and pass it to `--anchors FILE`).", fmtTime(b.now()), anchor, anchor)})
}

// anchorLoop posts the anchor at start and then every AnchorEvery.
func (b *Bot) anchorLoop() {
	every := b.cfg.AnchorEvery
	if every <= 0 {
		every = DefaultAnchorEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if a, err := b.Anchor(b.ctx); err != nil {
			b.log.Warn("audit anchor", "err", err)
		} else {
			b.postAnchor(b.ctx, a)
		}
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
	}
}
