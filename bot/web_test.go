package bot_test

import (
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// TestRefuseWeb_FloodsAreCountedNotWritten: at most 20 web.refused
// records a minute; the next one written says how many were not.
func TestRefuseWeb_FloodsAreCountedNotWritten(t *testing.T) {
	h := newHarness(t)
	for range 25 {
		if err := h.bot.RefuseWeb(h.ctx, "sign-in with a wrong token", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	refused := func() []cs.Event {
		evs, err := h.bot.Events(h.ctx, bot.EventQuery{Kind: cs.EventWebRefused})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	if n := len(refused()); n != 20 {
		t.Fatalf("%d records in a minute, want 20", n)
	}
	h.clock.Advance(time.Minute)
	h.bot.RefuseWeb(h.ctx, "sign-in with a wrong token", "192.0.2.1")
	evs := refused()
	if len(evs) != 21 || !strings.Contains(string(evs[20].Detail), `"not_audited_before":5`) {
		t.Fatalf("record after the minute: %s, want it to count the 5 not written", evs[len(evs)-1].Detail)
	}
}

func TestRefusalLimiter_ClockGoingBackStartsANewMinute(t *testing.T) {
	l := &bot.RefusalLimiter{Max: 1}
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	if _, ok := l.Allow(t0); !ok {
		t.Fatal("first event held back")
	}
	if _, ok := l.Allow(t0.Add(time.Second)); ok {
		t.Fatal("second event in the minute let through")
	}
	if n, ok := l.Allow(t0.Add(-time.Hour)); !ok || n != 1 {
		t.Fatalf("after the clock went back: ok %v, suppressed %d; want a new minute counting 1", ok, n)
	}
}
