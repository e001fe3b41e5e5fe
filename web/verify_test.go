package web_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
)

// prober answers status; the site's clock is the sleeper: it moves instead of waiting.
type prober struct {
	mu     sync.Mutex
	status int
}

func (p *prober) Probe(context.Context, string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status, nil
}

func TestRequestPage_VerificationFailedAndTheBotsRollback(t *testing.T) {
	p := &prober{status: 200}
	s := newSiteWith(t, time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), func(c *bot.Config, s *site) {
		c.Prober, c.Sleeper = p, s.clock
		c.Services[0].Verify = &bot.Verify{URL: "http://www.internal/healthz", Status: 200, For: 10 * time.Second, Every: 10 * time.Second, Rollback: true}
	})
	p.mu.Lock()
	p.status = 500
	p.mu.Unlock()
	s.say("UOPS2", "approve R2") // R2 runs, fails its check; R4 rolls back to R1 (R3 locked api)
	contains(t, "/requests/R2", s.page("/requests/R2", 200),
		`<span class="state bad">failed</span>`,
		"<dd>verification failed at probe 1: http://www.internal/healthz answered 500, want 200; the bot rolls it back: rollback www to reg/www@sha256:",
		">verification.started</a>", ">verification.failed</a>",
		"GET http://www.internal/healthz must answer 200 every 10s for 10s",
	)
	contains(t, "/requests/R4", s.page("/requests/R4", 200),
		`<span class="state ok">succeeded</span>`,
		"the bot on its own (countersign)",
		"not asked: the bot's own request, see why",
		"verification failed: returns to a state approved before, without new approvals",
		`<dt>Back to</dt><dd><a href="/requests/R1">R1</a></dd>`,
	)
	contains(t, "/requests/R1", s.page("/requests/R1", 200), ">verification.passed</a>", "answered 200 2 times over 10s")
	contains(t, "/services/www", s.page("/services/www", 200), `<span class="bad">deployed, failed its verification</span>`)
}
