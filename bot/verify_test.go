package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
)

// fakeProber answers every probe with status (or err), and counts them.
type fakeProber struct {
	mu     sync.Mutex
	status int
	err    error
	urls   []string
}

func (p *fakeProber) Probe(_ context.Context, url string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.urls = append(p.urls, url)
	return p.status, p.err
}

func (p *fakeProber) set(status int) { p.mu.Lock(); p.status = status; p.mu.Unlock() }

func (p *fakeProber) count() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.urls) }

// fakeSleeper moves the harness's clock instead of waiting. With hold
// set, the next sleep says so on hold and waits until release is closed
// (then sleeps) or it is cancelled.
type fakeSleeper struct {
	clock   *bottest.Clock
	mu      sync.Mutex
	hold    chan struct{}
	release chan struct{}
}

func (s *fakeSleeper) holdNext() (held, release chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold, s.release = make(chan struct{}), make(chan struct{})
	return s.hold, s.release
}

func (s *fakeSleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	hold, release := s.hold, s.release
	s.hold = nil
	s.mu.Unlock()
	if hold != nil {
		hold <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.clock.Advance(d)
	return ctx.Err()
}

const healthURL = "http://api.internal:8080/healthz"

// verifyHarness is a harness whose api service is verified by spec.
func verifyHarness(t *testing.T, spec bot.Verify, p *fakeProber, s *fakeSleeper, opts ...harnessOpt) *harness {
	clock := bottest.NewClock(time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC))
	s.clock = clock
	opts = append([]harnessOpt{func(c *harnessConfig) {
		c.clock = clock
		c.config = func(cfg *bot.Config) {
			cfg.Prober, cfg.Sleeper = p, s
			for i := range cfg.Services {
				if cfg.Services[i].Name == "api" {
					cfg.Services[i].Verify = &spec
				}
			}
		}
	}}, opts...)
	return newHarness(t, opts...)
}

var twoMinutes = bot.Verify{URL: healthURL, Status: 200, For: 2 * time.Minute, Every: 10 * time.Second, Rollback: true}

// deploymentStates is, per request, the states GitHub was told for its deployment.
func deploymentStates(rep *fakeReporter) map[string][]string {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	byRemote, out, n := map[string]string{}, map[string][]string{}, 0
	for _, r := range rep.reports {
		switch {
		case r.Deployment != nil:
			n++
			byRemote["gh"+string(rune('0'+n))] = r.Deployment.Payload["request"]
		case r.DeploymentStatus != nil:
			id := byRemote[r.DeploymentStatus.Deployment]
			out[id] = append(out[id], r.DeploymentStatus.State)
		}
	}
	return out
}

func (h *harness) events(id cs.RequestID, kind cs.EventKind) []cs.Event {
	h.t.Helper()
	var evs []cs.Event
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		evs, err = tx.Events(bot.EventQuery{Request: id, Kind: kind})
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return evs
}

func TestBot_VerificationPasses(t *testing.T) {
	p, rep := &fakeProber{status: 200}, &fakeReporter{}
	h := verifyHarness(t, twoMinutes, p, &fakeSleeper{}, func(c *harnessConfig) { c.reporter = rep })
	h.push("org/api", "live", shaA, "someone")
	h.wantState("R1", cs.StateSucceeded)
	want := []string{"request.created", "execution.started", "execution.step", "execution.succeeded", "verification.started", "verification.passed"}
	if got := h.kinds("R1"); !slices.Equal(got, want) {
		t.Errorf("R1 records = %v, want %v", got, want)
	}
	// At 0s, 10s, … 120s.
	if got := p.count(); got != 13 {
		t.Errorf("probes = %d, want 13", got)
	}
	if got, want := deploymentStates(rep)["R1"], []string{"queued", "in_progress", "in_progress", "success"}; !slices.Equal(got, want) {
		t.Errorf("R1 deployment statuses = %v, want %v", got, want)
	}
	if !strings.Contains(h.chat.AllText(), "R1 verified: "+healthURL+" answered 200 13 times") {
		t.Errorf("thread does not say R1 was verified:\n%s", h.chat.AllText())
	}
	verifyAudit(t, h.db)
}

func TestBot_VerificationFailsIntoAutomaticRollback(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		err    error
		want   string
	}{
		{"wrong status", 500, nil, healthURL + " answered 500, want 200"},
		{"no answer", 0, context.DeadlineExceeded, healthURL + " did not answer within 5s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, rep := &fakeProber{status: 200}, &fakeReporter{}
			h := verifyHarness(t, twoMinutes, p, &fakeSleeper{}, func(c *harnessConfig) { c.reporter = rep })
			h.push("org/api", "live", shaA, "someone") // R1: digest 3, verified
			p.mu.Lock()
			p.status, p.err = tc.status, tc.err
			p.mu.Unlock()
			before := p.count()
			h.push("org/api", "live", shaB, "someone") // R2: digest 4, fails
			if got := p.count() - before; got != 1 {
				t.Errorf("probes of R2 = %d, want 1 (the first failure ends it)", got)
			}
			r2 := h.wantState("R2", cs.StateFailed)
			if want := "verification failed at probe 1: " + tc.want + "; the bot rolls it back: rollback api to reg/api@"; !strings.HasPrefix(r2.Outcome, want) {
				t.Errorf("R2 outcome = %q, want it to start %q", r2.Outcome, want)
			}
			r3 := h.wantState("R3", cs.StateSucceeded)
			if r3.Action.Kind != cs.ActionRollback || r3.Action.Image != "reg/api@"+digest('3') || r3.Action.Deployment != "R1" {
				t.Errorf("R3 action = %+v, want a rollback to R1's image", r3.Action)
			}
			if r3.Requester != cs.ActorBot || r3.Source != cs.SourceBot || len(r3.Approvals) != 0 || r3.Thread != r2.Thread {
				t.Errorf("R3 requester %s source %s approvals %v thread %v; want the bot's own, unapproved, in R2's thread %v",
					r3.Requester, r3.Source, r3.Approvals, r3.Thread, r2.Thread)
			}
			if h.exec.count("R3") != 1 {
				t.Errorf("R3 ran %d times, want once", h.exec.count("R3"))
			}
			created := h.events("R3", cs.EventRequestCreated)
			var d struct {
				Auto string `json:"auto"`
			}
			if len(created) != 1 || json.Unmarshal(created[0].Detail, &d) != nil || d.Auto != "verification failed" || created[0].Actor != cs.ActorBot {
				t.Errorf("R3 request.created = %+v, want actor countersign with auto: verification failed", created)
			}
			if got := h.countKind("R2", cs.EventVerificationFailed); got != 1 {
				t.Errorf("R2 verification.failed records = %d, want 1", got)
			}
			// A rollback is not verified: it returns to what ran before.
			if got := h.countKind("R3", cs.EventVerificationStarted); got != 0 {
				t.Errorf("R3 verification.started records = %d, want 0", got)
			}
			deps := deploymentStates(rep)
			if got := deps["R2"]; len(got) == 0 || got[len(got)-1] != "failure" || slices.Contains(got, "success") {
				t.Errorf("R2 deployment statuses = %v, want ending in failure, never success", got)
			}
			if got := deps["R3"]; len(got) == 0 || got[len(got)-1] != "success" {
				t.Errorf("R3 deployment statuses = %v, want ending in success", got)
			}
			if cards := h.chat.Cards("R3"); len(cards) != 1 || !strings.Contains(string(cards[0].Text), "the bot on its own (verification failed: ") {
				t.Errorf("R3 cards = %+v, want one that says the bot asked on its own", cards)
			}
			text := h.chat.AllText()
			for _, w := range []string{"❌ R2 verification failed", "R3 rolls api back without new approvals", "locked against deploys on push"} {
				if !strings.Contains(text, w) {
					t.Errorf("chat does not say %q:\n%s", w, text)
				}
			}
			verifyAudit(t, h.db)
		})
	}
}

func TestBot_VerificationFailsWithAlertOnly(t *testing.T) {
	p := &fakeProber{status: 200}
	spec := twoMinutes
	spec.Rollback = false
	h := verifyHarness(t, spec, p, &fakeSleeper{})
	h.push("org/api", "live", shaA, "someone")
	p.set(503)
	h.push("org/api", "live", shaB, "someone")
	r := h.wantState("R2", cs.StateFailed)
	if !strings.Contains(r.Outcome, "answered 503") || !strings.Contains(r.Outcome, "nothing was rolled back") {
		t.Errorf("R2 outcome = %q", r.Outcome)
	}
	if h.exec.total() != 2 {
		t.Errorf("executions = %d, want the two deploys and no rollback", h.exec.total())
	}
	if got := h.kinds("R3"); len(got) != 0 {
		t.Errorf("R3 exists: %v", got)
	}
	if got := h.say("UDEV1", "status api"); !strings.Contains(got, "last deploy R2 deployed, then FAILED its verification") {
		t.Errorf("status = %q, want R2's failed verification", got)
	}
	if got := h.deployments("api"); len(got) != 2 || got[0].Verification != "failed" || !got[0].Succeeded || got[1].Verification != "passed" {
		t.Errorf("deployments = %+v, want R2 succeeded with its verification failed, R1 passed", got)
	}
}

func (h *harness) deployments(target string) []cs.Deployment {
	h.t.Helper()
	var hist []cs.Deployment
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		hist, err = tx.Deployments(target, 0)
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return hist
}

func TestBot_VerificationCancelledByNewerDeploy(t *testing.T) {
	p, s := &fakeProber{status: 200}, &fakeSleeper{}
	h := verifyHarness(t, twoMinutes, p, s)
	held, _ := s.holdNext()
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: shaA, Pusher: "someone", Author: "someone"}); err != nil {
		t.Fatal(err)
	}
	<-held                                // R1 deployed, its verification waits between probes
	h.sayNow("UDEV1", "deploy api "+shaB) // R2 pending: does not cancel anything
	h.sayNow("UOPS1", "approve R2")       // approved: cancels R1's verification
	h.idle()
	h.wantState("R1", cs.StateSucceeded)
	h.wantState("R2", cs.StateSucceeded)
	cancelled := h.events("R1", cs.EventVerificationCancelled)
	if len(cancelled) != 1 || !strings.Contains(string(cancelled[0].Detail), "R2 (deploy) was approved") {
		t.Fatalf("R1 verification.cancelled = %+v, want one naming R2", cancelled)
	}
	// The verification held the target: R2 started only after it ended.
	started := h.events("R2", cs.EventExecutionStarted)
	if len(started) != 1 || started[0].Seq < cancelled[0].Seq {
		t.Errorf("R2 started at record %d, before R1's verification ended at %d", started[0].Seq, cancelled[0].Seq)
	}
	if got := h.countKind("R1", cs.EventVerificationFailed) + h.countKind("R1", cs.EventVerificationPassed); got != 0 {
		t.Errorf("R1 has %d passed/failed records, want none", got)
	}
	if got := h.countKind("R2", cs.EventVerificationPassed); got != 1 {
		t.Errorf("R2 verification.passed = %d, want 1", got)
	}
	if got := h.deployments("api"); len(got) != 2 || got[0].Verification != "passed" || got[1].Verification != "cancelled" {
		t.Errorf("deployments = %+v, want R2 passed, R1 cancelled", got)
	}
	if !strings.Contains(h.chat.AllText(), "R1: verification stopped at probe 1: R2 (deploy) was approved") {
		t.Errorf("thread does not say why R1's verification stopped:\n%s", h.chat.AllText())
	}
	verifyAudit(t, h.db)
}

func TestBot_VerificationSkipsDryRunsAndOtherActions(t *testing.T) {
	p := &fakeProber{status: 500}
	h := verifyHarness(t, twoMinutes, p, &fakeSleeper{}, func(c *harnessConfig) {
		next := c.config
		c.config = func(cfg *bot.Config) { next(cfg); cfg.DryRun = true }
	})
	h.push("org/api", "live", shaA, "someone")
	h.wantState("R1", cs.StateSucceeded)
	if p.count() != 0 || h.countKind("R1", cs.EventVerificationStarted) != 0 {
		t.Errorf("a dry run was verified: %d probes", p.count())
	}
}

func TestBot_VerificationWithoutProberFails(t *testing.T) {
	h := verifyHarness(t, twoMinutes, &fakeProber{}, &fakeSleeper{}, func(c *harnessConfig) {
		next := c.config
		c.config = func(cfg *bot.Config) { next(cfg); cfg.Prober = nil }
	})
	h.push("org/api", "live", shaA, "someone")
	r := h.wantState("R1", cs.StateFailed)
	if !strings.Contains(r.Outcome, "no prober is configured") || !strings.Contains(r.Outcome, "could not be rolled back") {
		t.Errorf("R1 outcome = %q", r.Outcome)
	}
}

func TestBot_VerificationNotRecordedIsSaid(t *testing.T) {
	for _, tc := range []struct {
		fail cs.EventKind
		want string
	}{
		{cs.EventVerificationStarted, "R1 was deployed but could not be verified"},
		{cs.EventVerificationFailed, "the verification of R1 could not be recorded"},
	} {
		t.Run(string(tc.fail), func(t *testing.T) {
			fs := &failingStore{failKinds: []cs.EventKind{tc.fail}}
			p := &fakeProber{status: 500}
			h := verifyHarness(t, twoMinutes, p, &fakeSleeper{}, func(c *harnessConfig) {
				c.wrap = func(s bot.Store) bot.Store { fs.Store = s; return fs }
			})
			h.push("org/api", "live", shaA, "someone")
			// Not recorded: the request stays as it was, nothing is rolled back.
			h.wantState("R1", cs.StateSucceeded)
			if !strings.Contains(h.chat.AllText(), tc.want) {
				t.Errorf("chat does not say %q:\n%s", tc.want, h.chat.AllText())
			}
			if h.exec.total() != 1 {
				t.Errorf("executions = %d, want 1", h.exec.total())
			}
		})
	}
}

func TestSystemClock_SleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (bot.SystemClock{}).Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep = %v, want context.Canceled", err)
	}
}

func TestBot_VerificationRollbackRefusedByALockSetByHand(t *testing.T) {
	p, s := &fakeProber{status: 200}, &fakeSleeper{}
	h := verifyHarness(t, twoMinutes, p, s)
	h.push("org/api", "live", shaA, "someone") // R1, verified
	held, release := s.holdNext()
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: shaB, Pusher: "someone", Author: "someone"}); err != nil {
		t.Fatal(err)
	}
	<-held // R2 deployed and being verified
	h.sayNow("UOPS1", "lock api hands off")
	p.set(500)
	close(release)
	h.idle()
	h.wantState("R2", cs.StateFailed)
	h.wantState("R3", cs.StateSucceeded) // the lock
	r := h.wantState("R4", cs.StateRefused)
	if r.Action.Kind != cs.ActionRollback || h.exec.count("R4") != 0 || !strings.Contains(r.Outcome, "hands off") {
		t.Errorf("R4 %s outcome %q, ran %d times; want a refused rollback", r.Action.Kind, r.Outcome, h.exec.count("R4"))
	}
	text := h.chat.AllText()
	if !strings.Contains(text, "R4, the bot's rollback of R2, was refused: ") || strings.Contains(text, "R4 rolls api back") {
		t.Errorf("chat does not say the rollback was refused:\n%s", text)
	}
}

func TestBot_VerificationCancelledWhenTheBotStops(t *testing.T) {
	p, s := &fakeProber{status: 200}, &fakeSleeper{}
	h := verifyHarness(t, twoMinutes, p, s)
	held, _ := s.holdNext()
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: shaA, Pusher: "someone", Author: "someone"}); err != nil {
		t.Fatal(err)
	}
	<-held
	h.bot.Close()
	h.wantState("R1", cs.StateSucceeded)
	evs := h.events("R1", cs.EventVerificationCancelled)
	if len(evs) != 1 || !strings.Contains(string(evs[0].Detail), `"reason":"the bot stopped"`) {
		t.Errorf("verification.cancelled = %+v, want one: the bot stopped", evs)
	}
	verifyAudit(t, h.db)
}

// A deploy cut off by a restart and followed on the target to its
// success is verified like any other.
func TestBot_VerificationAfterAFollowedDeploy(t *testing.T) {
	crashed := crashMidDeploy(t, nil)
	ex := &fakeResumer{res: bot.Result{Summary: "api runs reg/api@" + digest('3'), Image: "reg/api@" + digest('3')}}
	p := &fakeProber{status: 500}
	h := verifyHarness(t, twoMinutes, p, &fakeSleeper{}, func(c *harnessConfig) {
		c.path, c.exec, c.executor = crashed, &ex.fakeExec, ex
	})
	h.idle()
	r := h.wantState("R1", cs.StateFailed)
	if !strings.HasPrefix(r.Outcome, "verification failed at probe 1: "+healthURL+" answered 500") {
		t.Errorf("R1 outcome = %q, want its failed verification", r.Outcome)
	}
	if got := ex.followed(); !slices.Equal(got, []cs.RequestID{"R1"}) || p.count() != 1 {
		t.Errorf("followed %v, probes %d; want R1 followed, then probed once", got, p.count())
	}
}
