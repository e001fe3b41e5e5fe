package bot_test

import (
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
)

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (h *harness) exists(id cs.RequestID) bool {
	err := h.db.View(h.ctx, func(tx bot.ReadTx) error { _, err := tx.Request(id); return err })
	return err == nil
}

func (h *harness) queued() int {
	var n int
	h.db.View(h.ctx, func(tx bot.ReadTx) error {
		q, err := tx.Outbox(0)
		n = len(q)
		return err
	})
	return n
}

// TestOutbox_ChatDownThenBack: while the chat fails, the workflow goes on
// and its messages wait; when the chat is back they arrive in order, the
// request's message in its final state, and none twice.
func TestOutbox_ChatDownThenBack(t *testing.T) {
	chat := bottest.NewChat().SetDown(true)
	h := newHarness(t, func(c *harnessConfig) { c.chat = chat })
	h.sayNow("UDEV1", "deploy api "+shaA)
	waitFor(t, "R1", func() bool { return h.exists("R1") })
	// The outbox has tried and failed: from here on it is stalled and
	// folds what is queued (before, a loaded machine could deliver
	// attempts of edits queued ahead of the first failure one by one).
	waitFor(t, "a failed delivery", func() bool { return chat.Calls() > 0 })
	h.sayNow("UOPS1", "approve R1")
	waitFor(t, "R1 to run", func() bool { return h.exec.count("R1") == 1 })
	waitFor(t, "R1 to succeed", func() bool {
		var r cs.Request
		h.db.View(h.ctx, func(tx bot.ReadTx) error { var err error; r, err = tx.Request("R1"); return err })
		return r.State == cs.StateSucceeded
	})
	if n := h.queued(); n == 0 {
		t.Fatal("nothing queued while the chat is down")
	}
	if len(chat.Posts()) != 0 {
		t.Errorf("%d posts got through while the chat was down", len(chat.Posts()))
	}
	chat.SetDown(false)
	h.idle()
	if n := h.queued(); n != 0 {
		t.Errorf("%d messages still queued", n)
	}
	if len(chat.Posts()) == 0 || !strings.HasPrefix(string(chat.Posts()[0].Text), "R1 · deploy api") {
		t.Fatalf("first post is not the request: %+v", chat.Posts())
	}
	final, _ := chat.Updated(bottest.TS(1))
	if !strings.Contains(string(final.Text), "succeeded") || final.Request == nil || final.Request.Buttons {
		t.Errorf("request message not in its final state: %q", final.Text)
	}
	seen := map[string]bool{}
	for _, p := range chat.Posts() {
		k := p.Thread.TS + "|" + string(p.Text)
		if seen[k] {
			t.Errorf("posted twice: %q", p.Text)
		}
		seen[k] = true
	}
	// While stalled, the edits of the request's message were folded into
	// its queued post: it is updated far fewer times than it changed.
	if chat.UpdateCount() > 2 {
		t.Errorf("%d updates delivered after the outage; want them coalesced", chat.UpdateCount())
	}
}

// TestOutbox_SurvivesRestart: messages queued when the bot stops are
// delivered by the next start, and updates find the message posted then.
func TestOutbox_SurvivesRestart(t *testing.T) {
	chat := bottest.NewChat().SetDown(true)
	h := newHarness(t, func(c *harnessConfig) { c.chat = chat })
	h.sayNow("UDEV1", "deploy api "+shaA)
	waitFor(t, "R1", func() bool { return h.exists("R1") && h.queued() >= 2 })
	h.bot.Close()
	h.db.Close()

	chat2 := &bottest.Chat{}
	h2 := newHarness(t, func(c *harnessConfig) { c.path = h.path; c.chat = chat2 })
	h2.idle()
	if len(chat2.Posts()) == 0 || !strings.HasPrefix(string(chat2.Posts()[0].Text), "R1 · deploy api") {
		t.Fatalf("after the restart, posts = %+v", chat2.Posts())
	}
	h2.say("UOPS1", "approve R1")
	h2.wantState("R1", cs.StateSucceeded)
	if got, _ := chat2.Updated(bottest.TS(1)); !strings.Contains(string(got.Text), "succeeded") {
		t.Errorf("the request message posted before the restart was not edited: %q", got.Text)
	}
}

// TestOutbox_RejectedMessageDropped: a message the chat refuses for good
// is dropped, and what comes after it still arrives.
func TestOutbox_RejectedMessageDropped(t *testing.T) {
	chat := bottest.NewChat().Reject("CDEPLOY")
	h := newHarness(t, func(c *harnessConfig) { c.chat = chat })
	got := h.say("UDEV1", "status")
	if !strings.Contains(got, "api") {
		t.Errorf("status after a dropped message: %q", got)
	}
	h.say("UDEV1", "deploy api "+shaA) // its post to CDEPLOY is rejected
	if got := h.chat.AllText(); !strings.Contains(got, "UDEV1: ⚠️ R1 could not be posted in <#CDEPLOY>") || !strings.Contains(got, "approve R1") {
		t.Errorf("the requester was not told that R1's message was refused:\n%s", got)
	}
	if got := h.say("UDEV1", "status api"); !strings.Contains(got, "R1") {
		t.Errorf("status does not show R1: %q", got)
	}
	if n := h.queued(); n != 0 {
		t.Errorf("%d messages stuck behind a rejected one", n)
	}
}

// TestMarkup_WhatPeopleWroteCannotNotify: reasons and commit titles show
// literally; they never mention, link or notify.
func TestMarkup_WhatPeopleWroteCannotNotify(t *testing.T) {
	hostile := "<!channel> <@U0OPS0001|x> <https://evil.example|click to approve> & <#C1>"
	h := newHarness(t)
	h.say("UOPS1", "lock api "+hostile)
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "mirage/mirage-www", Branch: "master", SHA: shaA, Pusher: "hannesm", Author: "hannesm", Title: hostile}); err != nil {
		t.Fatal(err)
	}
	h.idle()
	h.say("UDEV1", "deploy www "+shaB)
	h.say("UOPS1", "deny R3 "+hostile)
	text := h.chat.AllText()
	for _, bad := range []string{"<!channel>", "<@U0OPS0001|x>", "<https://evil", "<#C1>"} {
		if strings.Contains(text, bad) {
			t.Errorf("chat text holds %q unescaped:\n%s", bad, text)
		}
	}
	if !strings.Contains(text, "&lt;!channel&gt; &lt;@U0OPS0001|x&gt;") {
		t.Errorf("the hostile text is not shown escaped:\n%s", text)
	}
	if !strings.Contains(text, "<@UOPS1>") {
		t.Error("real mentions are gone too")
	}
}

func TestMarkup_Textf(t *testing.T) {
	for _, tc := range []struct {
		got  bot.Markup
		want string
	}{
		{bot.Textf("dns set %s TXT %s", "x.example.org", `"<!here> v=spf1"`), `dns set x.example.org TXT "&lt;!here&gt; v=spf1"`},
		{bot.Textf("by %s: %s", bot.Mention("U123"), "a&b"), "by <@U123>: a&amp;b"},
		{bot.Mention("U1><!channel"), "U1&gt;&lt;!channel"},
		{bot.Link("javascript:alert(1)", "x"), "x"},
		{bot.Link("https://ok.example/a", "<b>"), "<https://ok.example/a|&lt;b&gt;>"},
		{bot.Textf("%d replicas", 3), "3 replicas"},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
