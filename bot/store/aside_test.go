package store

import (
	"context"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
)

// TestStore_SetAside: an entry set aside leaves the outbox, keeps its
// sequence number and content, and the list keeps the newest maxAside.
func TestStore_SetAside(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	var first bot.Outgoing
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for i := range maxAside + 2 {
		if err := db.Update(ctx, func(tx bot.Tx) error {
			o, err := tx.QueueOutgoing(bot.Outgoing{Op: bot.OpPost, Message: bot.Message{Channel: "C1", Text: "hello"}})
			if err != nil {
				return err
			}
			if i == 0 {
				first = o
			}
			return tx.SetAside(bot.Aside{Entry: o, Reason: bot.AsideRefused, Error: "msg_blocks_too_long", At: at.Add(time.Duration(i))})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.View(ctx, func(tx bot.ReadTx) error {
		q, err := tx.Outbox(0)
		if err != nil || len(q) != 0 {
			t.Errorf("outbox after setting everything aside: %d entries, %v", len(q), err)
		}
		n, newest, err := tx.AsideSummary()
		if err != nil || n != maxAside || !newest.Equal(at.Add(maxAside+1)) {
			t.Errorf("AsideSummary = %d, %v, %v; want %d, %v", n, newest, err, maxAside, at.Add(maxAside+1))
		}
		a, err := tx.Aside()
		if err != nil || len(a) != maxAside {
			t.Fatalf("Aside: %d entries, %v", len(a), err)
		}
		if a[0].Entry.Seq != first.Seq+2 || a[len(a)-1].Entry.Seq != first.Seq+maxAside+1 {
			t.Errorf("kept %d..%d, want the newest %d", a[0].Entry.Seq, a[len(a)-1].Entry.Seq, maxAside)
		}
		if a[0].Entry.Message.Text != "hello" || a[0].Reason != bot.AsideRefused || a[0].Error != "msg_blocks_too_long" {
			t.Errorf("entry set aside = %+v", a[0])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
