package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// FailuresPerMinute is how many wrong secrets a minute one client
// address may send before it is answered 429.
const FailuresPerMinute = 5

// auditTimeout bounds the audit of a refusal, which runs on past a
// client that hung up.
const auditTimeout = 5 * time.Second

// RetryAfter is the Retry-After of a 429, in seconds: at most a minute
// until the client's failures are forgotten.
const RetryAfter = "60"

// Guard is the one limit on wrong secrets, shared by every place that
// checks one (the sign-in form, bearer tokens on the pages, GET
// /audit/export and GET /backup): it counts the failures of each client
// address and audits every refusal. It only ever sees failures, so it
// never refuses a right secret: five wrong tries by someone else, or
// behind the same proxy, lock nobody out. What it bounds is what a flood
// costs (the answer is 429, the audit trail counts what it no longer
// records one by one); what makes a token unguessable is its length (16
// characters or more). It is safe for concurrent use.
type Guard struct {
	trusted []netip.Prefix
	refuse  func(ctx context.Context, reason, remote string) error
	now     func() time.Time
	log     *slog.Logger

	mu       sync.Mutex
	failures map[string]*failureWindow // by client address
	swept    time.Time                 // when minutes past were last forgotten
}

type failureWindow struct {
	start time.Time
	n     int
}

// GuardConfig is what a Guard needs. Refuse is required.
type GuardConfig struct {
	// Refuse audits a refusal: the reason and the client address, never
	// the secret tried (*bot.Bot's RefuseWeb).
	Refuse func(ctx context.Context, reason, remote string) error
	// Trusted are the proxies in front of the bot: a request from one is
	// taken to come from the address it put in X-Forwarded-For.
	Trusted []netip.Prefix
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// NewGuard returns a guard with no failures counted.
func NewGuard(cfg GuardConfig) *Guard {
	g := &Guard{trusted: cfg.Trusted, refuse: cfg.Refuse, now: cfg.Now, log: cfg.Logger, failures: map[string]*failureWindow{}}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g
}

// Client is the address r comes from: the TCP peer, or the address a
// trusted proxy forwarded it for.
func (g *Guard) Client(r *http.Request) string {
	return clientAddr(r, g.trusted)
}

// Refused counts a wrong secret from r's client and audits it, on a
// context of its own so that a client that hangs up is audited all the
// same. It reports whether the client is over its limit: then answer
// 429 with Retry-After (RetryAfter).
func (g *Guard) Refused(r *http.Request, reason string) (limited bool) {
	addr := g.Client(r)
	limited = g.count(addr)
	if limited {
		reason += "; over the limit of " + strconv.Itoa(FailuresPerMinute) + " wrong secrets a minute from this address"
	}
	g.auditAt(r, reason, addr)
	return limited
}

// audit audits a refusal of r that is not a wrong secret.
func (g *Guard) audit(r *http.Request, reason string) {
	g.auditAt(r, reason, g.Client(r))
}

func (g *Guard) auditAt(r *http.Request, reason, addr string) {
	g.log.Warn("web request refused", "method", r.Method, "path", r.URL.Path, "remote", addr, "reason", reason)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), auditTimeout)
	defer cancel()
	if err := g.refuse(ctx, reason, addr); err != nil {
		g.log.Error("audit a refused web request", "err", err, "remote", addr)
	}
}

// count adds a failure to addr's minute and reports whether it is past
// the limit. A minute starts at a client's first failure.
func (g *Guard) count(addr string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if over(g.swept, now) { // so that the map stays small
		for k, f := range g.failures {
			if over(f.start, now) {
				delete(g.failures, k)
			}
		}
		g.swept = now
	}
	f := g.failures[addr]
	if f == nil || over(f.start, now) {
		f = &failureWindow{start: now}
		g.failures[addr] = f
	}
	f.n++
	return f.n > FailuresPerMinute
}

// over reports whether the minute that began at start is over: a clock
// that went back begins a new one.
func over(start, now time.Time) bool {
	return now.Sub(start) >= time.Minute || now.Before(start)
}
