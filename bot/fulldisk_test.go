package bot_test

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/store/storetest"
)

// TestBot_FullDiskNeverRunsWhatChatCalledNotRun: on a full disk, `lock`
// then `unlock` said "R2 was not run: could not write the audit trail",
// left R2 approved, and ran it after the disk was enlarged and the bot
// restarted; R2's card was posted twice. Whatever chat says of a request
// must be what the store holds, then and after a restart.
func TestBot_FullDiskNeverRunsWhatChatCalledNotRun(t *testing.T) {
	dir := storetest.SmallDisk(t, "4m")
	path := filepath.Join(dir, "countersign.db")
	h := newHarness(t, func(c *harnessConfig) { c.path = path })
	h.say("UOPS1", "lock api before the disk filled")
	h.wantState("R1", cs.StateSucceeded)

	free := storetest.Fill(t, filepath.Join(dir, "filler"))
	// The file cannot grow: a write that needs new pages fails.
	if err := h.db.Update(h.ctx, func(tx bot.Tx) error {
		_, err := tx.Append(cs.Event{Kind: cs.EventConfigLoaded, Actor: cs.ActorBot, Detail: []byte(`{"fill":"` + strings.Repeat("x", 64<<10) + `"}`)})
		return err
	}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a 64 KiB write on the full disk: %v, want ENOSPC", err)
	}
	// Small writes reuse the file's freed pages; long reasons make it
	// grow into the full disk.
	long := strings.Repeat("the disk is full; ", 180)
	// Not say: the outbox cannot record what it delivers, so the bot is
	// not idle until the disk is freed. Locks run within the command.
	for range 10 {
		h.sayNow("UOPS1", "lock api "+long)
		h.sayNow("UOPS1", "unlock api")
	}
	h.sayNow("UOPS2", "scale api 3")

	free()
	if err := h.bot.Expire(h.ctx); err != nil { // the next tick: the store writes again
		t.Fatal(err)
	}
	h.idle()
	told := h.chat.AllText()
	h.bot.Close()
	h.db.Close()

	// After a restart, nothing told "not run" runs, and the store agrees
	// with every request chat was told about.
	h2 := newHarness(t, func(c *harnessConfig) { c.path = path; c.chat = h.chat })
	h2.idle()
	var reqs []cs.Request
	if err := h2.db.View(h2.ctx, func(tx bot.ReadTx) error {
		for n := uint64(1); ; n++ {
			r, err := tx.Request(cs.FormatRequestID(n))
			if errors.Is(err, cs.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			reqs = append(reqs, r)
		}
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		notRun := strings.Contains(told, string(r.ID)+" not run") || strings.Contains(told, string(r.ID)+" was not run")
		started := h2.countKind(r.ID, cs.EventExecutionStarted) > 0
		t.Logf("%s %s: %s (%q); told not run %v, started %v", r.ID, r.Action.Kind, r.State, r.Outcome, notRun, started)
		if notRun && (started || r.State != cs.StateFailed) {
			t.Errorf("%s: chat said it was not run, the store says %s (started: %v)", r.ID, r.State, started)
		}
		if r.State == cs.StateApproved || r.State == cs.StateExecuting {
			t.Errorf("%s is still %s after the restart", r.ID, r.State)
		}
		cards := 0
		for _, m := range h.chat.Posts() {
			if m.Request != nil && m.Request.ID == r.ID {
				cards++
			}
		}
		if cards > 1 {
			t.Errorf("%s's card was posted %d times", r.ID, cards)
		}
	}
	verifyAudit(t, h2.db)
}
