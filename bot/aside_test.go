package bot_test

import (
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
)

func (h *harness) aside() []bot.Aside {
	h.t.Helper()
	got, err := h.bot.SetAside(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return got
}

func (h *harness) abandoned() []cs.Event {
	h.t.Helper()
	var evs []cs.Event
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		evs, err = tx.Events(bot.EventQuery{Kind: cs.EventOutboxAbandoned})
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return evs
}

// failingHead waits until the lane's head has failed once and returns it.
func (h *harness) failingHead() bot.Outgoing {
	h.t.Helper()
	var head bot.Outgoing
	waitFor(h.t, "a failed delivery to be recorded", func() bool {
		h.db.View(h.ctx, func(tx bot.ReadTx) error {
			q, err := tx.Outbox(1)
			if len(q) == 1 {
				head = q[0]
			}
			return err
		})
		return !head.Failing.IsZero()
	})
	return head
}

// TestOutbox_RefusedMessageSetAside: a message the chat refuses for good
// holds up nothing, and is kept aside and audited, not dropped.
func TestOutbox_RefusedMessageSetAside(t *testing.T) {
	chat := bottest.NewChat().Reject("CDEPLOY")
	h := newHarness(t, func(c *harnessConfig) { c.chat = chat })
	h.say("UDEV1", "deploy api "+shaA) // its post to CDEPLOY is refused
	if got := h.say("UDEV1", "status api"); !strings.Contains(got, "R1") {
		t.Errorf("status after a refused message: %q", got)
	}
	aside := h.aside()
	if len(aside) != 1 || aside[0].Reason != bot.AsideRefused || aside[0].Entry.Op != bot.OpPost ||
		aside[0].Entry.Message.Channel != "CDEPLOY" || !strings.Contains(aside[0].Error, "channel_not_found") {
		t.Fatalf("aside = %+v, want R1's post, refused", aside)
	}
	evs := h.abandoned()
	if len(evs) != 1 || evs[0].Request != "R1" || !strings.Contains(string(evs[0].Detail), `"reason":"refused"`) {
		t.Fatalf("outbox.abandoned records: %+v", evs)
	}
	verifyAudit(t, h.db)
}

// TestOutbox_GivesUpAfterLimit: a message that keeps failing with an error
// that looks temporary blocks its lane only until GiveUpAfter; then it is
// set aside, audited, its requester told, and the rest goes out.
func TestOutbox_GivesUpAfterLimit(t *testing.T) {
	chat := bottest.NewChat().Stick("CDEPLOY")
	h := newHarness(t, func(c *harnessConfig) { c.chat = chat })
	h.sayNow("UDEV1", "deploy api "+shaA)
	head := h.failingHead()
	if head.Message.Channel != "CDEPLOY" || head.Failing != h.clock.Now() {
		t.Fatalf("head = %+v, want R1's post failing since now", head)
	}
	h.clock.Advance(bot.DefaultGiveUpAfter - time.Second)
	calls := chat.Calls()
	waitFor(t, "another try", func() bool { return chat.Calls() > calls })
	if n := len(h.aside()); n != 0 {
		t.Fatalf("%d entries set aside before the limit", n)
	}
	h.clock.Advance(time.Second)
	h.idle()
	if n := h.queued(); n != 0 {
		t.Errorf("%d entries still queued after giving up on the head", n)
	}
	aside := h.aside()
	if len(aside) != 1 || aside[0].Reason != bot.AsideGaveUp || aside[0].Entry.Seq != head.Seq || !aside[0].At.Equal(h.clock.Now()) {
		t.Fatalf("aside = %+v, want R1's post, given up on now", aside)
	}
	if evs := h.abandoned(); len(evs) != 1 || !strings.Contains(string(evs[0].Detail), `"reason":"gave_up"`) {
		t.Fatalf("outbox.abandoned records: %+v", evs)
	}
	if got := chat.LastEphemeral("UDEV1"); !strings.Contains(got, "R1 could not be posted in <#CDEPLOY>") {
		t.Errorf("the requester was not told: %q", got)
	}
}

// TestOutbox_FailingSinceSurvivesRestart: a restart does not start the
// count again, and what was set aside stays aside, never sent again.
func TestOutbox_FailingSinceSurvivesRestart(t *testing.T) {
	chat := bottest.NewChat().Stick("CDEPLOY")
	h := newHarness(t, func(c *harnessConfig) { c.chat = chat })
	h.sayNow("UDEV1", "deploy api "+shaA)
	head := h.failingHead()
	h.bot.Close()
	h.db.Close()

	clock := bottest.NewClock(head.Failing.Add(bot.DefaultGiveUpAfter))
	h2 := newHarness(t, func(c *harnessConfig) { c.path, c.clock, c.chat = h.path, clock, bottest.NewChat().Stick("CDEPLOY") })
	h2.idle()
	if a := h2.aside(); len(a) != 1 || a[0].Entry.Seq != head.Seq || a[0].Reason != bot.AsideGaveUp {
		t.Fatalf("after a restart at the limit, aside = %+v", a)
	}
	h2.bot.Close()
	h2.db.Close()

	chat3 := &bottest.Chat{}
	h3 := newHarness(t, func(c *harnessConfig) { c.path, c.clock, c.chat = h.path, clock, chat3 })
	h3.idle()
	if a := h3.aside(); len(a) != 1 || a[0].Entry.Seq != head.Seq {
		t.Fatalf("after a second restart, aside = %+v", a)
	}
	for _, p := range chat3.Posts() {
		if p.Channel == "CDEPLOY" {
			t.Errorf("a message set aside was posted after a restart: %q", p.Text)
		}
	}
}

// TestReports_RefusedReportSetAside: the GitHub lane follows the same
// rule: a report GitHub refuses is set aside, and the next ones go out.
func TestReports_RefusedReportSetAside(t *testing.T) {
	rep := &fakeReporter{refuse: 1}
	h := newHarness(t, func(c *harnessConfig) { c.reporter = rep })
	h.push("org/api", "live", shaA, "p")
	if got := strings.Join(rep.summary(), ", "); !strings.Contains(got, "status") {
		t.Errorf("no report went out after the refused one: %q", got)
	}
	a := h.aside()
	if len(a) != 1 || a[0].Entry.Lane != bot.LaneGitHub || a[0].Reason != bot.AsideRefused || a[0].Entry.Report == nil ||
		a[0].Entry.Report.Repo != "org/api" || !strings.Contains(a[0].Error, "422") {
		t.Fatalf("aside = %+v", a)
	}
	if evs := h.abandoned(); len(evs) != 1 || !strings.Contains(string(evs[0].Detail), `"lane":"github"`) || !strings.Contains(string(evs[0].Detail), `"repo":"org/api"`) {
		t.Errorf("outbox.abandoned records: %+v", evs)
	}
}
