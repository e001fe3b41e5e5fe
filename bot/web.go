package bot

import (
	"context"
	"sync"
	"time"

	cs "github.com/countersign/countersign"
)

// webRefusalsPerMinute bounds how many failed sign-ins a minute are
// audited one by one, so that a flood cannot fill the trail; the rest
// are counted in the next record that is written.
const webRefusalsPerMinute = 20

// RefuseWeb audits a failed sign-in to the web pages, /audit/export or
// /backup as web.refused:
// the reason and where it came from, never the token tried. Past
// webRefusalsPerMinute a minute, refusals are only counted (the next
// audited one says how many were not).
func (b *Bot) RefuseWeb(ctx context.Context, reason, remote string) error {
	suppressed, ok := b.webRefusals.Allow(b.now())
	if !ok {
		b.log.Warn("web sign-in refused, not audited (rate limit)", "reason", reason, "remote", remote)
		return nil
	}
	detail := map[string]any{"reason": reason, "remote": remote}
	if suppressed > 0 {
		detail["not_audited_before"] = suppressed
	}
	return b.audit(ctx, b.event(cs.EventWebRefused, cs.ActorBot, nil, detail))
}

// WebSignedIn audits a sign-in through the web login form: who (the read
// token's name) and from where.
func (b *Bot) WebSignedIn(ctx context.Context, who, remote string) error {
	return b.audit(ctx, b.event(cs.EventWebSignedIn, cs.ActorBot, nil, map[string]any{"token": who, "remote": remote}))
}

// RefusalLimiter lets through at most Max events a minute and counts the
// rest: the adapters use it so that a flood of forged requests cannot
// fill the audit trail. The zero value with Max set is ready to use; it
// is safe for concurrent use.
type RefusalLimiter struct {
	Max        int
	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

// Allow reports whether one more event may go through now, and how many
// were held back since the last one that did. A clock that went back
// starts a new minute.
func (l *RefusalLimiter) Allow(now time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Minute || now.Before(l.window) {
		l.window, l.n = now, 0
	}
	if l.n >= l.Max {
		l.suppressed++
		return 0, false
	}
	l.n++
	suppressed, l.suppressed = l.suppressed, 0
	return suppressed, true
}
