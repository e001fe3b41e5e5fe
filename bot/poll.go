package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultPoll is how often branch heads are read when Config.Poll is not
// set by the caller (cmd's github.poll defaults to it).
const DefaultPoll = 5 * time.Minute

// PollReserve is the part of GitHub's hourly rate limit that reads of
// branch heads leave to commit statuses and deployments: with fewer
// requests left, polls wait for the limit's reset.
const PollReserve = 100

// PollRound says what one PollBranches did.
type PollRound struct {
	Branches    int // followed branches
	Requests    int // reads made
	NotModified int // of them, answered "not modified" (no rate limit spent)
	Errors      int // reads that failed
	// Reconciled are the services that took a head no webhook delivered.
	Reconciled []string
	// RateLimited: the round stopped (or did not start) for GitHub's rate
	// limit; no read is made before RateLimitedUntil.
	RateLimited      bool
	RateLimitedUntil time.Time
}

// RepoPoll is the last poll of one repository's followed branches, for
// /healthz and /metrics.
type RepoPoll struct {
	Repo string
	// Last is when a round last read the repository's branches; zero
	// before the first read.
	Last time.Time
	// OK is the last time every branch of it was read without error.
	OK          time.Time
	Branches    int
	NotModified int
	Errors      int
	// Error is the last round's last failure, "" when none.
	Error string
	// RateRemaining and RateReset are GitHub's rate limit as the last
	// answer gave it (RateReset zero when none did).
	RateRemaining int
	RateReset     time.Time
}

// poller keeps the polls' state that is not worth a store write: per
// repository status, and how long GitHub asked us to wait.
type poller struct {
	mu    sync.Mutex
	repos map[string]RepoPoll // by lower-case repo
	until time.Time           // no read before this (rate limit)
	round sync.Mutex          // one round at a time
}

// PollStatus returns the last poll of each followed repository, sorted
// by name. It is empty when no GitHub reader is configured.
func (b *Bot) PollStatus() []RepoPoll {
	if b.cfg.Branches == nil {
		return nil
	}
	b.poll.mu.Lock()
	defer b.poll.mu.Unlock()
	var out []RepoPoll
	seen := map[string]bool{}
	for _, fb := range b.followed() {
		k := strings.ToLower(fb.Repo)
		if seen[k] {
			continue
		}
		seen[k] = true
		rp, ok := b.poll.repos[k]
		if !ok {
			rp = RepoPoll{Repo: fb.Repo}
		}
		out = append(out, rp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Repo < out[j].Repo })
	return out
}

// PollBranches reads the head of every followed branch once, with the
// ETag of the last read, and settles each (see settleHead). A read that
// fails is logged and counted and the others go on; GitHub's rate limit
// ends the round. It returns an error only when the store failed or ctx
// ended. Rounds do not overlap: a second call waits for the first.
func (b *Bot) PollBranches(ctx context.Context) (PollRound, error) {
	var round PollRound
	if b.cfg.Branches == nil {
		return round, nil
	}
	b.poll.round.Lock()
	defer b.poll.round.Unlock()
	branches := b.followed()
	round.Branches = len(branches)
	b.poll.mu.Lock()
	until := b.poll.until
	b.poll.mu.Unlock()
	if b.now().Before(until) {
		round.RateLimited, round.RateLimitedUntil = true, until
		return round, nil
	}
	stored := make([]BranchHead, len(branches))
	known := make([]bool, len(branches))
	err := b.store.View(ctx, func(tx ReadTx) error {
		for i, fb := range branches {
			var err error
			if stored[i], known[i], err = tx.BranchHead(fb.Repo, fb.Branch); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return round, err
	}
	status := map[string]RepoPoll{}
	defer func() { b.recordPoll(status) }()
	for i, fb := range branches {
		if b.stopping() {
			break
		}
		if err := ctx.Err(); err != nil {
			return round, err
		}
		k := strings.ToLower(fb.Repo)
		rp := status[k]
		rp.Repo, rp.Branches = fb.Repo, rp.Branches+1
		wait, err := b.pollBranch(ctx, fb, stored[i], known[i], &rp, &round)
		status[k] = rp
		if err != nil {
			return round, err // the store failed: the next round tries again
		}
		if wait > 0 {
			round.RateLimited, round.RateLimitedUntil = true, b.now().Add(wait)
			b.poll.mu.Lock()
			b.poll.until = round.RateLimitedUntil
			b.poll.mu.Unlock()
			break
		}
	}
	return round, nil
}

// pollBranch reads one branch and settles it, counting in rp and round.
// A failed read is logged and counted; wait > 0 says that GitHub's rate
// limit (or PollReserve) ends the round for that long. err is the
// store's failure.
func (b *Bot) pollBranch(ctx context.Context, fb followedBranch, stored BranchHead, known bool, rp *RepoPoll, round *PollRound) (wait time.Duration, err error) {
	read, rerr := b.cfg.Branches.ReadBranch(ctx, fb.Repo, fb.Branch, stored.ETag)
	round.Requests++
	if rerr == nil && read.NotModified && stored.SHA == "" {
		rerr = errNoBaseline
	}
	if rerr == nil {
		if read.NotModified {
			round.NotModified++
			rp.NotModified++
		}
		took, err := b.settleHead(ctx, fb, stored, known, read)
		if err != nil {
			return 0, err
		}
		round.Reconciled = append(round.Reconciled, took...)
		if read.RateResetIn > 0 {
			rp.RateRemaining, rp.RateReset = read.RateRemaining, b.now().Add(read.RateResetIn)
			if read.RateRemaining < PollReserve {
				rerr = &RateLimitedError{Wait: read.RateResetIn,
					Err: fmt.Errorf("%d requests left this hour, kept for commit statuses and deployments", read.RateRemaining)}
			}
		}
	}
	if rerr == nil {
		return 0, nil
	}
	var limited *RateLimitedError
	if errors.As(rerr, &limited) {
		wait = max(limited.Wait, time.Second)
		b.log.Warn("branch heads not read until GitHub's rate limit is reset", "repo", fb.Repo, "branch", fb.Branch, "wait", wait, "err", rerr)
		rp.Error = rerr.Error()
		if read.SHA != "" || read.NotModified {
			return wait, nil // the read itself went well
		}
	} else {
		b.log.Warn("read branch head", "repo", fb.Repo, "branch", fb.Branch, "err", rerr)
	}
	round.Errors++
	rp.Errors++
	rp.Error = rerr.Error()
	return wait, nil
}

// errNoBaseline: the code host answered Not Modified to a read of a
// branch the bot has no head of.
var errNoBaseline = errors.New("the branch answered Not Modified but the bot has no head recorded for it")

// recordPoll keeps a round's per-repository status.
func (b *Bot) recordPoll(status map[string]RepoPoll) {
	now := b.now()
	b.poll.mu.Lock()
	defer b.poll.mu.Unlock()
	if b.poll.repos == nil {
		b.poll.repos = map[string]RepoPoll{}
	}
	for k, rp := range status {
		rp.Last = now
		rp.OK = b.poll.repos[k].OK
		if rp.Errors == 0 {
			rp.OK = now
		}
		b.poll.repos[k] = rp
	}
}

// pollLoop reads branch heads at start and then every Config.Poll.
func (b *Bot) pollLoop() {
	t := time.NewTicker(b.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := b.PollBranches(b.ctx); err != nil && b.ctx.Err() == nil {
			b.log.Error("poll branch heads", "err", err)
		}
		b.work.done()
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
			b.work.add()
		}
	}
}
