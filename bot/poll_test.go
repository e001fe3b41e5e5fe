package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// fakeBranches is a code host whose branch heads the test sets. Its ETag
// is the head's SHA with "-etag", so a read with the current one is
// answered NotModified.
type fakeBranches struct {
	mu          sync.Mutex
	heads       map[string]string // "repo branch" → SHA
	reads       int
	err         error // every read fails with it
	notModified bool  // every read answers NotModified, ETag or not
	title       string
}

func (f *fakeBranches) ReadBranch(_ context.Context, repo, branch, etag string) (bot.HeadRead, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	sha := f.heads[repo+" "+branch]
	switch {
	case f.err != nil:
		return bot.HeadRead{}, f.err
	case f.notModified || etag == sha+"-etag":
		return bot.HeadRead{NotModified: true, ETag: etag}, nil
	}
	return bot.HeadRead{SHA: sha, ETag: sha + "-etag", Committer: "talex5", Author: "hannesm", Title: f.title}, nil
}

func (f *fakeBranches) set(repo, branch, sha string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.heads[repo+" "+branch] = sha
}

func (f *fakeBranches) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

func newPollHarness(t *testing.T, opts ...harnessOpt) (*harness, *fakeBranches) {
	fb := &fakeBranches{heads: map[string]string{"mirage/mirage-www master": shaA, "org/api live": shaA}}
	h := newHarness(t, append([]harnessOpt{func(c *harnessConfig) { c.branches = fb }}, opts...)...)
	return h, fb
}

func (h *harness) round() bot.PollRound {
	h.t.Helper()
	r, err := h.bot.PollBranches(h.ctx)
	if err != nil {
		h.t.Fatalf("poll: %v", err)
	}
	h.idle()
	return r
}

// TestPoll_StoreFailureLeavesTheHeadForTheNextRound: when the head cannot
// be recorded, nothing of it is kept (not even the ETag), and the next
// round takes it, once.
func TestPoll_StoreFailureLeavesTheHeadForTheNextRound(t *testing.T) {
	fs := &failingStore{}
	h, fb := newPollHarness(t, func(c *harnessConfig) { c.wrap = func(s bot.Store) bot.Store { fs.Store = s; return fs } })
	fb.title = strings.Repeat("long ", 100) // a code host that does not cut it
	h.round()
	fb.set("org/api", "live", shaB)
	fs.setFail(cs.EventPushReconciled)
	if _, err := h.bot.PollBranches(h.ctx); !errors.Is(err, errBoom) {
		t.Fatalf("poll with a failing store: %v, want the store's error", err)
	}
	h.idle()
	if got := len(h.pushEvents(cs.EventPushReconciled)); got != 0 {
		t.Fatalf("%d push.reconciled records after a failed write", got)
	}
	fs.setFail("")
	if r := h.round(); len(r.Reconciled) != 1 || r.NotModified != 1 {
		t.Errorf("next round %+v, want api taken (its head read again, not 304) and www unchanged", r)
	}
	h.round()
	if got := len(h.pushEvents(cs.EventPushReconciled)); got != 1 {
		t.Errorf("%d push.reconciled records, want 1", got)
	}
	if r := h.request("R1"); r.Action.Target != "api" || r.Action.Commit != shaB || r.Requester != "github:talex5" ||
		utf8.RuneCountInString(r.CommitTitle) != bot.MaxCommitTitle {
		t.Errorf("R1 = %+v, want api's deploy of the head, requested by its committer, its title cut", r)
	}
}

func (h *harness) pushEvents(kind cs.EventKind) []cs.Event {
	h.t.Helper()
	var evs []cs.Event
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		evs, err = tx.Events(bot.EventQuery{Kind: kind})
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return evs
}

// TestPoll_NotModifiedWithoutAHead: a "not modified" for a branch the bot
// has no head of (a code host that answers so without an ETag) is an
// error, not a baseline of nothing.
func TestPoll_NotModifiedWithoutAHead(t *testing.T) {
	h, fb := newPollHarness(t)
	fb.notModified = true
	r := h.round()
	if r.Errors != 2 {
		t.Errorf("round %+v, want both reads failed", r)
	}
	if s := h.bot.PollStatus(); len(s) != 2 || !strings.Contains(s[0].Error, "no head recorded") {
		t.Errorf("status %+v", s)
	}
}

// TestPoll_RateLimitByTheBotsClock: after a rate limit no read is made
// until the wait is over, by the bot's own clock.
func TestPoll_RateLimitByTheBotsClock(t *testing.T) {
	h, fb := newPollHarness(t)
	fb.err = &bot.RateLimitedError{Wait: time.Minute, Err: errors.New("API rate limit exceeded")}
	if r := h.round(); !r.RateLimited || r.Requests != 1 || !r.RateLimitedUntil.Equal(h.clock.Now().Add(time.Minute)) {
		t.Errorf("round %+v, want it stopped after one read, until a minute from now", r)
	}
	fb.err = nil
	h.clock.Advance(59 * time.Second)
	if r := h.round(); !r.RateLimited || fb.count() != 1 {
		t.Errorf("within the minute: %+v, %d reads; want none", r, fb.count())
	}
	h.clock.Advance(time.Second)
	if r := h.round(); r.RateLimited || r.Requests != 2 {
		t.Errorf("after the minute: %+v, want both branches read", r)
	}
}

// TestPoll_NoReadsWhileDraining: once the bot drains for a shutdown, a
// round reads nothing (a push it found could not be taken anyway).
func TestPoll_NoReadsWhileDraining(t *testing.T) {
	h, fb := newPollHarness(t)
	if err := h.bot.Drain(h.ctx); err != nil {
		t.Fatal(err)
	}
	if r := h.round(); r.Requests != 0 || fb.count() != 0 {
		t.Errorf("round %+v while draining, want no read", r)
	}
}

// TestPoll_ServiceNoLongerFollowedIsForgotten: the head a service took is
// dropped once it no longer follows the branch, so that following it
// again starts with a baseline rather than deploying what it missed.
func TestPoll_ServiceNoLongerFollowedIsForgotten(t *testing.T) {
	h, _ := newPollHarness(t)
	if err := h.db.Update(h.ctx, func(tx bot.Tx) error {
		return tx.PutBranchHead(bot.BranchHead{Repo: "org/api", Branch: "live",
			Services: map[string]bot.HeadTaken{"api": {SHA: shaA}, "old-api": {SHA: shaB, Gen: 3, Seen: 3}}})
	}); err != nil {
		t.Fatal(err)
	}
	h.round()
	var got bot.BranchHead
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		got, _, err = tx.BranchHead("org/api", "live")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Services["old-api"]; ok || got.Services["api"].SHA != shaA || got.SHA != shaA {
		t.Errorf("branch head %+v, want old-api forgotten and api kept", got)
	}
}
