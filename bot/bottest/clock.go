// Package bottest holds the test stand-ins shared by the tests of the bot
// and of the packages around it: a settable clock, a recording chat that
// refuses what Slack refuses, and a World (a bot on a real store in a
// temporary directory). Only tests import it.
package bottest

import (
	"context"
	"sync"
	"time"
)

// Clock is a clock the test sets and moves; it never follows the real
// clock. Safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads at until moved.
func NewClock(at time.Time) *Clock { return &Clock{now: at} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Sleep moves the clock by d instead of waiting (a bot.Sleeper), and
// returns ctx's error if ctx has ended.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	c.Advance(d)
	return ctx.Err()
}
