package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/policies"
)

// checkHarness is a harness whose service api checks pull requests, with
// the given changes to it, reporting to rep.
func checkHarness(t *testing.T, rep *fakeReporter, edit func(*bot.Service), opts ...harnessOpt) *harness {
	t.Helper()
	opts = append(opts, func(c *harnessConfig) {
		c.reporter = rep
		c.config = func(cfg *bot.Config) {
			cfg.PublicURL = "https://cs.example.org/"
			for i := range cfg.Services {
				if cfg.Services[i].Name == "api" {
					cfg.Services[i].Checks.PullRequests = true
					if edit != nil {
						edit(&cfg.Services[i])
					}
				}
			}
		}
	})
	return newHarness(t, opts...)
}

func pullRequest(number int, action, sha string) bot.PullRequest {
	return bot.PullRequest{Repo: "org/api", Number: number, Action: action, SHA: sha, HeadRepo: "org/api",
		HeadBranch: "feature", Sender: "dev", Title: "a change", Delivery: fmt.Sprintf("%s-%d-%s", action, number, sha)}
}

func (h *harness) pullRequest(pr bot.PullRequest) bot.CheckResult {
	h.t.Helper()
	res, err := h.bot.HandlePullRequest(h.ctx, pr)
	if err != nil {
		h.t.Fatal(err)
	}
	h.idle()
	return res
}

// statuses are the commit statuses of context ctx reported, as
// "SHA7 STATE: DESCRIPTION".
func (f *fakeReporter) statuses(ctx string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.reports {
		if r.Status != nil && r.Status.Context == ctx {
			out = append(out, r.SHA[:7]+" "+string(r.Status.State)+": "+r.Status.Description)
		}
	}
	return out
}

// checkEvents are the audit records of kind check.*, as
// "KIND TARGET #N SHA7 [reason]".
func (h *harness) checkEvents() []string {
	h.t.Helper()
	var evs []cs.Event
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		evs, err = tx.Events(bot.EventQuery{})
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if !strings.HasPrefix(string(e.Kind), "check.") {
			continue
		}
		var d struct {
			PR     int    `json:"pull_request"`
			SHA    string `json:"sha"`
			Reason string `json:"reason"`
			Image  string `json:"image"`
		}
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			h.t.Fatal(err)
		}
		line := string(e.Kind) + " " + e.Target + " #" + strconv.Itoa(d.PR) + " " + d.SHA[:7]
		if d.Reason != "" {
			line += " " + d.Reason
		}
		if d.Image != "" {
			line += " " + d.Image
		}
		out = append(out, line)
	}
	return out
}

func TestCheck_OpenedIsPendingThenSuccessOnTheHead(t *testing.T) {
	rep := &fakeReporter{}
	h := checkHarness(t, rep, nil)
	res := h.pullRequest(pullRequest(7, "opened", shaA))
	if strings.Join(res.Services, ",") != "api" || res.Ignored != "" {
		t.Errorf("result %+v", res)
	}
	got := strings.Join(rep.statuses("countersign/deployability: api"), "\n")
	want := "aaaaaaa pending: getting the image and checking it can be deployed\n" +
		"aaaaaaa success: deployable: reg/api@" + digest('3')
	if got != want {
		t.Errorf("statuses:\n got %s\nwant %s", got, want)
	}
	rep.mu.Lock()
	for _, r := range rep.reports {
		if r.Deployment != nil || r.DeploymentStatus != nil || r.Repo != "org/api" || r.SHA != shaA {
			t.Errorf("report %+v", r)
		}
		if r.Status != nil && r.Status.State == "success" && r.Status.TargetURL != "https://cs.example.org/audit?kind=check.succeeded&target=api" {
			t.Errorf("target URL %q", r.Status.TargetURL)
		}
	}
	rep.mu.Unlock()
	if h.exists("R1") {
		t.Error("a check made a request")
	}
	if text := h.chat.AllText(); text != "" {
		t.Errorf("a check posted in chat: %q", text)
	}
	if got, want := strings.Join(h.checkEvents(), "\n"), "check.started api #7 aaaaaaa\ncheck.succeeded api #7 aaaaaaa reg/api@"+digest('3'); got != want {
		t.Errorf("audit:\n got %s\nwant %s", got, want)
	}
	verifyAudit(t, h.db)
}

func TestCheck_RedeliveryAndOtherReposAreNotChecked(t *testing.T) {
	rep := &fakeReporter{}
	h := checkHarness(t, rep, nil)
	pr := pullRequest(7, "opened", shaA)
	h.pullRequest(pr)
	if res := h.pullRequest(pr); !res.Duplicate {
		t.Errorf("redelivery: %+v", res)
	}
	other := pr
	other.Repo, other.HeadRepo, other.Delivery = "mirage/mirage-www", "mirage/mirage-www", "d-www"
	if res := h.pullRequest(other); res.Ignored == "" || len(res.Services) != 0 {
		t.Errorf("a repository whose service does not check pull requests: %+v", res)
	}
	if got := len(rep.statuses("countersign/deployability: api")); got != 2 {
		t.Errorf("%d statuses, want the first delivery's 2", got)
	}
	if got := len(rep.statuses("countersign/deployability: www")); got != 0 {
		t.Errorf("www, whose pull requests are not checked, got %d statuses", got)
	}
}

func TestCheck_SynchronizeSupersedesTheOlderHead(t *testing.T) {
	rep := &fakeReporter{}
	images := newGatedImages()
	h := checkHarness(t, rep, nil, func(c *harnessConfig) { c.images = images })
	if _, err := h.bot.HandlePullRequest(h.ctx, pullRequest(7, "opened", shaA)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first wait", func() bool { return images.waitCount() == 1 })
	if _, err := h.bot.HandlePullRequest(h.ctx, pullRequest(7, "synchronize", shaB)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second wait", func() bool { return images.waitCount() == 2 })
	images.release("reg/api", shaB, "reg/api@"+digest('4'))
	h.idle()
	got := strings.Join(h.checkEvents(), "\n")
	want := "check.started api #7 aaaaaaa\ncheck.started api #7 bbbbbbb\n" +
		"check.failed api #7 aaaaaaa not checked: superseded by a newer head: bbbbbbb\n" +
		"check.succeeded api #7 bbbbbbb reg/api@" + digest('4')
	if got != want {
		// The order of the last two depends on scheduling only if the
		// older check were not cancelled at once.
		t.Errorf("audit:\n got %s\nwant %s", got, want)
	}
	statuses := strings.Join(rep.statuses("countersign/deployability: api"), "\n")
	if !strings.Contains(statuses, "aaaaaaa failure: not checked: superseded by a newer head: bbbbbbb") ||
		!strings.Contains(statuses, "bbbbbbb success: deployable: reg/api@"+digest('4')) {
		t.Errorf("statuses:\n%s", statuses)
	}
}

func TestCheck_ForksAreNotBuiltUnlessAllowed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		forks bool
		want  string
	}{
		{"off by default", false, "aaaaaaa failure: not checked: pull request from a fork"},
		{"pull_requests_from_forks", true, "aaaaaaa pending: getting the image and checking it can be deployed\naaaaaaa success: deployable: reg/api@" + digest('3')},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &fakeReporter{}
			b := &fakeBuilder{}
			h := checkHarness(t, rep, func(s *bot.Service) {
				s.Checks.Forks = tc.forks
				s.Build = bot.Build{Mode: "docker", Builder: b}
			})
			pr := pullRequest(9, "opened", shaA)
			pr.HeadRepo = "stranger/api"
			h.pullRequest(pr)
			if got := strings.Join(rep.statuses("countersign/deployability: api"), "\n"); got != tc.want {
				t.Errorf("statuses:\n got %s\nwant %s", got, tc.want)
			}
			if n := len(b.specs()); n != map[bool]int{false: 0, true: 1}[tc.forks] {
				t.Errorf("%d builds", n)
			}
		})
	}
}

func TestCheck_FailingBuildIsAFailureWithTheReason(t *testing.T) {
	rep := &fakeReporter{}
	b := &fakeBuilder{err: errors.New("step 2/3 RUN false: exit code 1\n#5 ERROR: process did not complete")}
	h := checkHarness(t, rep, func(s *bot.Service) { s.Build = bot.Build{Mode: "docker", Builder: b} })
	h.pullRequest(pullRequest(7, "opened", shaA))
	got := rep.statuses("countersign/deployability: api")
	if len(got) != 2 || got[1] != "aaaaaaa failure: build failed: step 2/3 RUN false: exit code 1" {
		t.Errorf("statuses: %q", got)
	}
	evs := h.checkEvents()
	if len(evs) != 2 || !strings.Contains(evs[1], "check.failed api #7 aaaaaaa build failed: step 2/3 RUN false: exit code 1\n#5 ERROR") {
		t.Errorf("audit: %q", evs)
	}
	if specs := b.specs(); len(specs) != 1 || specs[0].Tag != "pr-7" || specs[0].SHA != shaA || specs[0].Repo != "org/api" {
		t.Errorf("builds %+v: want the head under the pull request's tag", specs)
	}
}

func TestCheck_ImageTheExecutorRefusesIsAFailure(t *testing.T) {
	rep := &fakeReporter{}
	ex := &checkingExec{}
	h := checkHarness(t, rep, nil, func(c *harnessConfig) { c.executor = ex; c.exec = &ex.fakeExec })
	h.pullRequest(pullRequest(7, "opened", shaA))
	got := rep.statuses("countersign/deployability: api")
	if len(got) != 2 || !strings.HasPrefix(got[1], "aaaaaaa failure: image reg/api@") || !strings.Contains(got[1], "no unikernel.hvt") && !strings.HasSuffix(got[1], "…") {
		t.Errorf("statuses: %q", got)
	}
	for _, s := range got {
		if n := len([]rune(s)) - len("aaaaaaa failure: "); n > 140 {
			t.Errorf("description of %d characters", n)
		}
	}
}

func TestCheck_ResultPostedOnlyInThePullRequestsChannel(t *testing.T) {
	rep := &fakeReporter{}
	h := checkHarness(t, rep, func(s *bot.Service) { s.Checks.Channel = "CPRS" })
	h.pullRequest(pullRequest(7, "opened", shaA))
	if len(h.chat.Posts()) != 1 || h.chat.Posts()[0].Channel != "CPRS" || !strings.Contains(string(h.chat.Posts()[0].Text), "pull request #7") {
		t.Errorf("posts %+v", h.chat.Posts())
	}
}

// A deploy's build does not wait for the checks building on its engine.
func TestCheck_DeployBuildDoesNotQueueBehindChecks(t *testing.T) {
	rep := &fakeReporter{}
	b := &fakeBuilder{hold: "pr-", gate: make(chan struct{})}
	h := checkHarness(t, rep, func(s *bot.Service) { s.Build = bot.Build{Mode: "docker", Builder: b, Engine: "e1"} })
	for n := 1; n <= 3; n++ {
		if _, err := h.bot.HandlePullRequest(h.ctx, pullRequest(n, "opened", shaA)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a check build", func() bool { return len(b.specs()) == 1 })
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: shaB, Pusher: "p", Author: "p"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deploy request", func() bool { return h.exists("R1") })
	if n := len(b.specs()); n != 2 {
		t.Errorf("%d builds started, want one check (one slot on the engine) and the deploy's", n)
	}
	close(b.gate)
	h.idle()
	if n := len(b.specs()); n != 4 {
		t.Errorf("%d builds, want all three checks and the deploy", n)
	}
}

func TestPush_ReportsDeployabilityFromTheImageCheck(t *testing.T) {
	rep := &fakeReporter{}
	h := newHarness(t, func(c *harnessConfig) { c.reporter = rep })
	h.push("org/api", "live", shaA, "p")
	h.push("org/api", "live", "dddddddddddddddddddddddddddddddddddddddd", "p")
	got := strings.Join(rep.statuses("countersign/deployability: api"), "\n")
	want := "aaaaaaa pending: getting the image\naaaaaaa success: deployable: reg/api@" + digest('3') + "\n" +
		"ddddddd pending: getting the image\nddddddd failure: no image for ddddddd: timed out waiting for reg/api:dddddddddddddddddddddddddddddddddddddddd"
	if got != want {
		t.Errorf("statuses:\n got %s\nwant %s", got, want)
	}
}

// An image whose reference does not fit in a status is named by its digest.
func TestCheck_LongImageNamesTheDigest(t *testing.T) {
	rep := &fakeReporter{}
	long := "registry.example.org/" + strings.Repeat("deep/", 20) + "api@" + digest('7')
	h := checkHarness(t, rep, func(s *bot.Service) { s.Build = bot.Build{Mode: "docker", Builder: &fakeBuilder{image: long}} })
	h.pullRequest(pullRequest(7, "opened", shaA))
	got := rep.statuses("countersign/deployability: api")
	if len(got) != 2 || got[1] != "aaaaaaa success: deployable: "+digest('7') {
		t.Errorf("statuses: %q", got)
	}
	if evs := h.checkEvents(); len(evs) != 2 || !strings.HasSuffix(evs[1], long) {
		t.Errorf("audit: %q (want the whole image)", evs)
	}
}

// A push superseded while getting its image says so in its status
// rather than staying pending.
func TestPush_SupersededIsNotChecked(t *testing.T) {
	rep := &fakeReporter{}
	images := newGatedImages()
	h := newHarness(t, func(c *harnessConfig) { c.reporter = rep; c.images = images })
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: shaA, Pusher: "p", Author: "p"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first wait", func() bool { return images.waitCount() == 1 })
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: "org/api", Branch: "live", SHA: shaB, Pusher: "p", Author: "p"}); err != nil {
		t.Fatal(err)
	}
	images.release("reg/api", shaB, "reg/api@"+digest('4'))
	h.idle()
	got := strings.Join(rep.statuses("countersign/deployability: api"), "\n")
	if !strings.Contains(got, "aaaaaaa failure: not checked: superseded by a newer push") || !strings.Contains(got, "bbbbbbb success: deployable: reg/api@"+digest('4')) {
		t.Errorf("statuses:\n%s", got)
	}
}

// build: wait checks wait under the service's own tag template, rendered
// with the pull request's branch.
func TestCheck_WaitRendersTheTagWithTheHeadBranch(t *testing.T) {
	rep := &fakeReporter{}
	var branches []string
	h := checkHarness(t, rep, func(s *bot.Service) {
		s.Build.Tag = func(sha, branch string) (string, error) {
			branches = append(branches, branch)
			return sha, nil
		}
	})
	h.pullRequest(pullRequest(7, "opened", shaA))
	if strings.Join(branches, ",") != "feature" {
		t.Errorf("tag rendered with branches %q, want the head's", branches)
	}
	if got := rep.statuses("countersign/deployability: api"); len(got) != 2 || got[1] != "aaaaaaa success: deployable: reg/api@"+digest('3') {
		t.Errorf("statuses %q", got)
	}
}

func TestCheck_ServiceThatCannotGetAnImage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build bot.Build
		want  string
	}{
		{"no build", bot.Build{}, "service api has no build configured"},
		{"docker without a builder", bot.Build{Mode: "docker"}, "service api builds with docker but no builder is configured"},
		{"wait without a tag", bot.Build{Mode: "wait"}, "no registry access configured to wait for the image"},
		{"tag fails", bot.Build{Mode: "wait", Tag: func(string, string) (string, error) { return "", errBoom }}, "image tag: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &fakeReporter{}
			h := checkHarness(t, rep, func(s *bot.Service) { s.Build = tc.build })
			h.pullRequest(pullRequest(7, "opened", shaA))
			if got := rep.statuses("countersign/deployability: api"); len(got) != 2 || got[1] != "aaaaaaa failure: "+tc.want {
				t.Errorf("statuses %q, want failure: %s", got, tc.want)
			}
		})
	}
}

func TestCheck_RefusedWhileShuttingDown(t *testing.T) {
	rep := &fakeReporter{}
	h := checkHarness(t, rep, nil)
	if err := h.bot.Drain(h.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.bot.HandlePullRequest(h.ctx, pullRequest(7, "opened", shaA)); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Errorf("HandlePullRequest while draining = %v", err)
	}
	if h.checkEvents() != nil {
		t.Errorf("audited: %q", h.checkEvents())
	}
}

// fakeBuilder records builds and fails with err; builds whose tag starts
// with hold wait for gate.
type fakeBuilder struct {
	mu     sync.Mutex
	err    error
	hold   string
	gate   chan struct{}
	image  string // what builds return (default reg/api@…)
	builds []bot.BuildSpec
}

func (f *fakeBuilder) Build(ctx context.Context, spec bot.BuildSpec, _ func(string)) (bot.Built, error) {
	f.mu.Lock()
	f.builds = append(f.builds, spec)
	f.mu.Unlock()
	if f.hold != "" && strings.HasPrefix(spec.Tag, f.hold) {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return bot.Built{}, ctx.Err()
		}
	}
	if f.err != nil {
		return bot.Built{}, f.err
	}
	if f.image != "" {
		return bot.Built{Image: f.image}, nil
	}
	return bot.Built{Image: "reg/api@" + digest('3')}, nil
}

func (f *fakeBuilder) specs() []bot.BuildSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bot.BuildSpec(nil), f.builds...)
}

// A check the bot's restart cut off is taken up again (only the newest
// head of each pull request, only unfinished ones), so that its status
// does not stay pending.
func TestCheck_RestartResumesUnfinishedChecks(t *testing.T) {
	rep := &fakeReporter{}
	images := newGatedImages()
	images.release("reg/api", shaC, "reg/api@"+digest('5'))
	h := checkHarness(t, rep, nil, func(c *harnessConfig) { c.images = images })
	h.pullRequest(pullRequest(8, "opened", shaC)) // finished before the restart
	if _, err := h.bot.HandlePullRequest(h.ctx, pullRequest(7, "opened", shaA)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first wait", func() bool { return images.waitCount() == 2 })
	if _, err := h.bot.HandlePullRequest(h.ctx, pullRequest(7, "synchronize", shaB)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second wait", func() bool { return images.waitCount() == 3 })
	waitFor(t, "the superseded check's record", func() bool { return len(h.checkEvents()) == 5 })
	h.bot.Close() // the wait for shaB is cut off
	h.db.Close()

	rep2 := &fakeReporter{}
	images2 := newGatedImages()
	images2.release("reg/api", shaB, "reg/api@"+digest('4'))
	h2 := checkHarness(t, rep2, nil, func(c *harnessConfig) { c.path = h.path; c.images = images2 })
	h2.idle()
	got := strings.Join(rep2.statuses("countersign/deployability: api"), "\n")
	want := "bbbbbbb pending: getting the image and checking it can be deployed\nbbbbbbb success: deployable: reg/api@" + digest('4')
	if got != want {
		t.Errorf("statuses after the restart:\n got %s\nwant %s", got, want)
	}
	evs := h2.checkEvents()
	if last := evs[len(evs)-1]; last != "check.succeeded api #7 bbbbbbb reg/api@"+digest('4') {
		t.Errorf("audit: %q", evs)
	}
	verifyAudit(t, h2.db)
}

// eventsFail is a store whose reads of the audit trail fail.
type eventsFail struct{ bot.Store }

type eventsFailTx struct{ bot.ReadTx }

func (eventsFailTx) Events(bot.EventQuery) ([]cs.Event, error) { return nil, errBoom }

func (s eventsFail) View(ctx context.Context, fn func(bot.ReadTx) error) error {
	return s.Store.View(ctx, func(tx bot.ReadTx) error { return fn(eventsFailTx{tx}) })
}

func TestCheck_StartFailsWhenChecksCannotBeRead(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "cs.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	engine, _ := policies.New(testPolicies(0))
	b := bot.New(bot.Config{Policy: engine, Services: []bot.Service{{Name: "api", Repo: "org/api", Checks: bot.Checks{PullRequests: true}}}},
		eventsFail{db}, &bottest.Chat{}, fakeImages{}, nil)
	defer b.Close()
	if err := b.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "resume checks: checks of api: boom") {
		t.Errorf("Start = %v", err)
	}
}
