package github_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
)

const (
	pollRepo  = "acme/web"
	pollToken = "ghp-poll"
)

// pollSHA is a commit ID made of c.
func pollSHA(c byte) string { return strings.Repeat(string(c), 40) }

// pollWorld is a hookWorld whose bot reads branch heads through the real
// GitHub client from the GitHub fake. Rounds are run by the test (poll 0)
// unless the world is made with a poll interval; start it once the
// fake's branches are set.
type pollWorld struct {
	*hookWorld
	gh *githubtest.Server
}

func newPollWorld(t testing.TB, opts githubtest.Options, poll time.Duration, services ...bot.Service) *pollWorld {
	t.Helper()
	opts.Token = pollToken
	gh := githubtest.New(opts)
	t.Cleanup(gh.Close)
	client, err := github.NewClient(github.Auth{Token: pollToken}, github.Options{APIURL: gh.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if len(services) == 0 {
		services = []bot.Service{hookService("web", pollRepo, "main")}
	}
	w := &pollWorld{gh: gh, hookWorld: &hookWorld{t: t, ctx: context.Background(), path: filepath.Join(t.TempDir(), "cs.db"),
		services: services, chat: &bottest.Chat{}, log: &bytes.Buffer{},
		configure: func(c *bot.Config) { c.Branches, c.Poll = client, poll }}}
	t.Cleanup(w.stop)
	return w
}

// round runs one poll round and waits for what it started.
func (w *pollWorld) round() bot.PollRound {
	w.t.Helper()
	r, err := w.bot.PollBranches(w.ctx)
	if err != nil {
		w.t.Fatalf("poll: %v", err)
	}
	w.idle()
	return r
}

// move points the fake's branch at sha, as a push does on GitHub.
func (w *pollWorld) move(branch, sha string) {
	w.gh.SetBranch(pollRepo, branch, githubtest.Commit{SHA: sha, Message: "change " + sha[:7] + "\n\nmore", Author: "alice", Committer: "bob"})
}

// push sends the webhook of the push before → after of branch, and
// returns the handler's answer.
func (w *pollWorld) push(id, branch, before, after string) string {
	w.t.Helper()
	body, err := json.Marshal(map[string]any{
		"ref": "refs/heads/" + branch, "before": before, "after": after,
		"repository": map[string]any{"full_name": pollRepo},
		"pusher":     map[string]any{"name": "bob"}, "sender": map[string]any{"login": "bob"},
		"head_commit": map[string]any{"id": after, "message": "change", "url": "https://github.com/" + pollRepo + "/commit/" + after,
			"author": map[string]any{"username": "alice"}},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	code, text := w.deliver(hookRequest(w.srv.URL, "push", id, body))
	if code != http.StatusOK {
		w.t.Fatalf("delivery %s: %d %s", id, code, text)
	}
	w.idle()
	return strings.TrimSpace(text)
}

// tally counts what the bot did: push.reconciled records, push threads
// and deploy requests, each by commit.
type tally struct{ reconciled, threads, requests map[string]int }

func (w *pollWorld) tally() tally {
	w.t.Helper()
	out := tally{map[string]int{}, map[string]int{}, map[string]int{}}
	err := w.db.View(w.ctx, func(tx bot.ReadTx) error {
		evs, err := tx.Events(bot.EventQuery{Kind: cs.EventPushReconciled})
		if err != nil {
			return err
		}
		for _, e := range evs {
			var d struct{ SHA string }
			if err := json.Unmarshal(e.Detail, &d); err != nil {
				return err
			}
			out.reconciled[d.SHA]++
		}
		for _, st := range []bot.PushState{bot.PushWaiting, bot.PushRequested, bot.PushFailed, bot.PushSuperseded} {
			recs, err := tx.Pushes(st)
			if err != nil {
				return err
			}
			for _, r := range recs {
				out.threads[r.Push.SHA]++
			}
		}
		evs, err = tx.Events(bot.EventQuery{Kind: cs.EventRequestCreated})
		for _, e := range evs {
			r, err := tx.Request(e.Request)
			if err != nil {
				return err
			}
			out.requests[r.Action.Commit]++
		}
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// want checks that each commit was reconciled, threaded and requested
// as often as given (a commit not named: never; requests nil: as
// handled).
func (w *pollWorld) want(when string, reconciled, handled, requests map[string]int) {
	w.t.Helper()
	got := w.tally()
	same := func(what string, got, want map[string]int) {
		w.t.Helper()
		for k, n := range want {
			if got[k] != n {
				w.t.Errorf("%s: %s of %s: %d, want %d", when, what, k[:7], got[k], n)
			}
		}
		for k, n := range got {
			if _, ok := want[k]; !ok && n != 0 {
				w.t.Errorf("%s: %s of %s: %d, want none", when, what, k[:7], n)
			}
		}
	}
	same("push.reconciled", got.reconciled, reconciled)
	same("push threads", got.threads, handled)
	if requests == nil {
		requests = handled
	}
	same("deploy requests", got.requests, requests)
}

// TestPoll_MissedPushReconciledOnceInEveryOrder: a push whose webhook was
// lost is taken once from a read of the branch, whatever comes after it
// (a second read, a restart, the webhook late), and a push the webhook
// delivered is not taken again by a read.
func TestPoll_MissedPushReconciledOnceInEveryOrder(t *testing.T) {
	x, a, c := pollSHA('1'), pollSHA('a'), pollSHA('c')
	for _, tc := range []struct {
		name  string
		steps func(w *pollWorld)
		// reconciled, handled and requests: per commit, as in
		// pollWorld.want.
		reconciled, handled, requests map[string]int
	}{
		{"the first read is a baseline", func(w *pollWorld) {
			w.round()
			w.round()
		}, nil, nil, nil},
		{"read after the webhook", func(w *pollWorld) {
			w.round()
			w.move("main", a)
			if got := w.push("d1", "main", x, a); !strings.HasPrefix(got, "ok:") {
				t.Fatalf("webhook: %s", got)
			}
			w.round()
			w.round()
		}, nil, map[string]int{a: 1}, nil},
		{"webhook lost, two reads", func(w *pollWorld) {
			w.round()
			w.move("main", a)
			if r := w.round(); len(r.Reconciled) != 1 || r.Reconciled[0] != "web" {
				t.Errorf("round: %+v, want web reconciled", r)
			}
			if r := w.round(); len(r.Reconciled) != 0 || r.NotModified != 1 {
				t.Errorf("second round: %+v, want nothing reconciled, one 304", r)
			}
		}, map[string]int{a: 1}, map[string]int{a: 1}, nil},
		{"webhook after the read", func(w *pollWorld) {
			w.round()
			w.move("main", a)
			w.round()
			if got := w.push("d1", "main", x, a); !strings.Contains(got, "taken already from a read of the branch") {
				t.Errorf("late webhook: %q, want it ignored as taken from a read", got)
			}
			w.push("d2", "main", x, a) // the same update under another ID
			w.round()
		}, map[string]int{a: 1}, map[string]int{a: 1}, nil},
		{"restart between the read and the webhook", func(w *pollWorld) {
			w.round()
			w.move("main", a)
			w.round()
			w.restart()
			w.round()
			w.push("d1", "main", x, a)
			w.restart()
			w.round()
		}, map[string]int{a: 1}, map[string]int{a: 1}, nil},
		{"restart between the webhook and the read", func(w *pollWorld) {
			w.round()
			w.move("main", a)
			w.push("d1", "main", x, a)
			w.restart()
			w.round()
			w.round()
		}, nil, map[string]int{a: 1}, nil},
		{"a newer push after a reconciled one", func(w *pollWorld) {
			w.round()
			w.move("main", a)
			w.round()
			w.move("main", c)
			if got := w.push("d2", "main", a, c); !strings.HasPrefix(got, "ok:") {
				t.Errorf("newer push: %q, want it taken", got)
			}
			w.round()
			w.push("d1", "main", x, a) // the lost one, redelivered by hand
			w.round()
		}, map[string]int{a: 1}, map[string]int{a: 1, c: 1}, nil},
		{"a force-push back over the head a read took", func(w *pollWorld) {
			w.round()
			w.move("main", a)
			w.round()
			w.move("main", c)
			w.round()
			w.move("main", a)
			if got := w.push("d3", "main", c, a); !strings.HasPrefix(got, "ok:") {
				t.Errorf("force-push back: %q, want it taken", got)
			}
			w.round()
			// A new ref update: the thread of a again, a new request.
		}, map[string]int{a: 1, c: 1}, map[string]int{a: 1, c: 1}, map[string]int{a: 2, c: 1}},
		{"a head handled before is not taken again", func(w *pollWorld) {
			w.round()
			w.move("main", a)
			w.push("d1", "main", x, a)
			w.move("main", c)
			w.push("d2", "main", a, c)
			w.round()
			// A force-push back to a whose webhook was lost: a was
			// handled, and a read never handles a head twice.
			w.move("main", a)
			w.round()
			w.round()
		}, nil, map[string]int{a: 1, c: 1}, nil},
		{"a read that raced a webhook does not undo it", func(w *pollWorld) {
			w.round()
			// GitHub's branch still shows a (a replica behind, or a read
			// on its way) while the webhook of the newer c comes in.
			w.move("main", a)
			w.push("d2", "main", a, c)
			w.round()
			w.move("main", c)
			w.round()
		}, nil, map[string]int{c: 1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPollWorld(t, githubtest.Options{}, 0)
			w.move("main", x)
			w.start()
			tc.steps(w)
			w.want("at the end", tc.reconciled, tc.handled, tc.requests)
		})
	}
}

// TestPoll_AtStartUnlessOff: with a poll interval the bot reads every
// followed branch when it starts (a baseline: nothing is deployed); with
// none it makes no read at all.
func TestPoll_AtStartUnlessOff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		poll  time.Duration
		reads int
	}{
		{"on", time.Hour, 2},
		{"off", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPollWorld(t, githubtest.Options{}, tc.poll,
				hookService("web", pollRepo, "main"), hookService("next", pollRepo, "next"), hookService("www", pollRepo, "main"))
			w.move("main", pollSHA('1'))
			w.move("next", pollSHA('2'))
			w.start()
			w.idle() // the first round counts as the bot's work
			reads := 0
			for _, r := range w.gh.Requests() {
				if strings.Contains(r.Path, "/branches/") {
					reads++
				}
			}
			if reads != tc.reads {
				t.Errorf("%d branch reads at start, want %d (one per followed branch)", reads, tc.reads)
			}
			w.want("after start", nil, nil, nil)
			status := w.bot.PollStatus()
			if len(status) != 1 || status[0].Repo != pollRepo || status[0].Last.IsZero() != (tc.reads == 0) {
				t.Errorf("poll status %+v", status)
			}
		})
	}
}

// TestPoll_UnchangedRoundCostsNoRateLimit: a round over branches that did
// not move is answered 304 throughout and spends nothing of GitHub's
// rate limit, and writes nothing to the store.
func TestPoll_UnchangedRoundCostsNoRateLimit(t *testing.T) {
	w := newPollWorld(t, githubtest.Options{}, 0,
		hookService("web", pollRepo, "main"), hookService("next", pollRepo, "next"))
	w.move("main", pollSHA('1'))
	w.move("next", pollSHA('2'))
	w.start()
	w.round()
	used := w.gh.Rate().Used
	seq := w.auditLen()
	r := w.round()
	if r.Requests != 2 || r.NotModified != 2 || r.Errors != 0 {
		t.Errorf("round %+v, want two reads, both 304", r)
	}
	if got := w.gh.Rate().Used; got != used {
		t.Errorf("rate limit used %d, then %d: an unchanged round spent some", used, got)
	}
	if got := w.auditLen(); got != seq {
		t.Errorf("audit trail grew from %d to %d records in an unchanged round", seq, got)
	}
	if s := w.bot.PollStatus(); len(s) != 1 || s[0].NotModified != 2 || s[0].Branches != 2 ||
		s[0].RateRemaining != githubtest.DefaultRateLimit-used || s[0].RateReset.IsZero() {
		t.Errorf("poll status %+v", s)
	}
}

func (w *pollWorld) auditLen() int {
	w.t.Helper()
	n := 0
	if err := w.db.View(w.ctx, func(tx bot.ReadTx) error {
		evs, err := tx.Events(bot.EventQuery{})
		n = len(evs)
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// TestPoll_RateLimit: GitHub's rate limit ends a round, and no read is
// made until it is reset; the poll also leaves the last PollReserve
// requests of the hour alone.
func TestPoll_RateLimit(t *testing.T) {
	t.Run("spent", func(t *testing.T) {
		w := newPollWorld(t, githubtest.Options{}, 0,
			hookService("web", pollRepo, "main"), hookService("next", pollRepo, "next"))
		w.move("main", pollSHA('1'))
		w.move("next", pollSHA('2'))
		w.start()
		w.gh.RateLimit("/repos/", 1)
		r := w.round()
		if !r.RateLimited || r.Requests != 1 || r.Errors != 1 || r.RateLimitedUntil.IsZero() {
			t.Errorf("round %+v, want it ended by the rate limit after one read", r)
		}
		before := len(w.gh.Requests())
		if r := w.round(); !r.RateLimited || r.Requests != 0 {
			t.Errorf("next round %+v, want no read before the reset", r)
		}
		if got := len(w.gh.Requests()); got != before {
			t.Errorf("%d requests reached GitHub before the reset", got-before)
		}
		if s := w.bot.PollStatus(); len(s) != 1 || s[0].Errors != 1 || !strings.Contains(s[0].Error, "rate limit") {
			t.Errorf("poll status %+v", s)
		}
	})
	t.Run("reserve", func(t *testing.T) {
		w := newPollWorld(t, githubtest.Options{RateLimit: bot.PollReserve}, 0,
			hookService("web", pollRepo, "main"), hookService("next", pollRepo, "next"))
		w.move("main", pollSHA('1'))
		w.move("next", pollSHA('2'))
		w.start()
		r := w.round()
		if !r.RateLimited || r.Requests != 1 || r.Errors != 0 {
			t.Errorf("round %+v, want one good read, then a stop for the reserve", r)
		}
	})
}

// TestPoll_ReadFailures: a branch GitHub does not show, or GitHub down,
// fails that read only; the others go on.
func TestPoll_ReadFailures(t *testing.T) {
	w := newPollWorld(t, githubtest.Options{}, 0,
		hookService("gone", pollRepo, "gone"), hookService("web", pollRepo, "main"))
	w.move("main", pollSHA('1'))
	w.start()
	w.round()
	w.move("main", pollSHA('a'))
	r := w.round()
	if r.Errors != 1 || r.Requests != 2 || len(r.Reconciled) != 1 {
		t.Errorf("round %+v, want the missing branch failed and web reconciled", r)
	}
	if s := w.bot.PollStatus(); len(s) != 1 || !strings.Contains(s[0].Error, "GitHub does not show it") || s[0].OK.IsZero() == false {
		t.Errorf("poll status %+v, want the 404 named and no round without errors", s)
	}
	w.gh.Down()
	if r := w.round(); r.Errors != 2 {
		t.Errorf("GitHub down: %+v, want both reads failed", r)
	}
	w.gh.Up()
	w.want("at the end", map[string]int{pollSHA('a'): 1}, map[string]int{pollSHA('a'): 1}, nil)
}

// TestPoll_ReconciledPushIsThePush: a head taken from a read becomes the
// request its push would have: the committer requests it, the author is
// recorded, the commit's title shows, the thread says no webhook came,
// and push.reconciled names the service and the commit.
func TestPoll_ReconciledPushIsThePush(t *testing.T) {
	w := newPollWorld(t, githubtest.Options{}, 0)
	w.move("main", pollSHA('1'))
	w.start()
	w.round()
	a := pollSHA('a')
	w.move("main", a)
	w.round()
	rs := w.requests()
	if len(rs) != 1 {
		t.Fatalf("requests %+v, want one", rs)
	}
	r := rs[0]
	if r.Requester != "github:bob" || r.AuthorLogin != "alice" || r.CommitTitle != "change aaaaaaa" || r.Action.Commit != a ||
		r.Action.Branch != "main" || r.Source != cs.SourcePush || r.State != cs.StatePending {
		t.Errorf("request %+v", r)
	}
	evs := w.events(cs.EventPushReconciled)
	if len(evs) != 1 || evs[0].Target != "web" || evs[0].Actor != cs.ActorBot || evs[0].D["sha"] != a || evs[0].D["committer"] != "bob" {
		t.Errorf("push.reconciled records %+v", evs)
	}
	noted := false
	for _, m := range w.chat.Posts() {
		noted = noted || strings.Contains(string(m.Text), "no webhook came for this push")
	}
	if !noted {
		t.Error("the thread does not say that no webhook came")
	}
}
