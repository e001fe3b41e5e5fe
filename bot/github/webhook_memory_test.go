package github_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bodytest"
	"github.com/countersign/countersign/bot/github"
)

// TestWebhook_ForgedFloodMemory sends 60 forged 23 MiB deliveries at once
// (a signature of the right form, the wrong value) and checks that the
// process's peak memory grows by far less than their sum (1.4 GB, which
// the handler once held), that they are all refused, that the memory
// comes back, and that a real delivery is taken after. It runs in a
// process of its own so that the peak is its own.
func TestWebhook_ForgedFloodMemory(t *testing.T) {
	if !bodytest.InChild(t) {
		return
	}
	h := hookNew(t, &hookIntake{}, github.WebhookOptions{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	got := bodytest.FloodWithin(t, srv.URL+"/webhooks/github", 60, 23<<20, func(h http.Header) {
		h.Set("Content-Type", "application/json")
		h.Set("X-GitHub-Event", "push")
		h.Set("X-GitHub-Delivery", "forged")
		h.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))
	}, floodBounds)
	if got[http.StatusOK] != 0 || got[http.StatusUnauthorized] == 0 {
		t.Errorf("answers %v: want no 200 and some 401", got)
	}
	code, text := hookServe(h, hookRequest("", "ping", "after-flood", hookFixture(t, "ping.json")))
	if code != http.StatusOK {
		t.Errorf("a real delivery after the flood: %d %q", code, text)
	}
}

// floodBounds: the default budget holds 64 MiB of bodies, and the garbage
// collector may let as much again wait to be collected; once the flood is
// over the memory is given back (the handler held 1.4 GB, and kept it).
var floodBounds = bodytest.Bounds{Growth: 256 << 20, Kept: 40 << 20}

// TestWebhook_Busy holds the whole body budget, as bodies in flight
// would: a delivery is answered 503 with Retry-After at once and audited,
// and taken once the budget is given back.
func TestWebhook_Busy(t *testing.T) {
	budget := &bot.BodyBudget{Max: 1 << 20}
	in := &hookIntake{}
	h := hookNew(t, in, github.WebhookOptions{MaxBody: 1 << 20, Bodies: budget})
	held, err := budget.Read(strings.NewReader(""), budget.Size(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, hookRequest("", "ping", "busy-1", hookFixture(t, "ping.json")))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("delivery while the budget is spent: %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if len(in.refused) != 1 || !strings.HasPrefix(in.refused[0].Reason, "busy") || in.refused[0].D.ID != "busy-1" {
		t.Errorf("refusals audited: %+v, want one busy refusal of busy-1", in.refused)
	}
	held.Release()
	if code, text := hookServe(h, hookRequest("", "ping", "busy-1", hookFixture(t, "ping.json"))); code != http.StatusOK {
		t.Errorf("the delivery again once the budget is back: %d %q", code, text)
	}
}

func TestNewWebhook_BudgetSmallerThanMaxBody(t *testing.T) {
	_, err := github.NewWebhook(hookSecret, &hookIntake{}, github.WebhookOptions{MaxBody: 2 << 20, Bodies: &bot.BodyBudget{Max: 1 << 20}})
	if err == nil || !strings.Contains(err.Error(), "body budget") {
		t.Errorf("NewWebhook with a budget below MaxBody: %v, want an error naming the budget", err)
	}
}
