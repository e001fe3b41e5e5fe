package bot_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/policies"
)

// fakeExec counts executions and can hold them or fail them.
type fakeExec struct {
	mu       sync.Mutex
	runs     map[cs.RequestID]int
	active   int
	maxAtOne int
	started  chan cs.RequestID // if set, receives each started request
	hold     chan struct{}     // if set, executions wait for it to close
	fail     error
}

func (e *fakeExec) Describe(_ context.Context, r cs.Request) (string, error) {
	return "test executor would " + r.Action.String(), nil
}

func (e *fakeExec) Execute(ctx context.Context, r cs.Request, progress func(string) error) (bot.Result, error) {
	e.mu.Lock()
	if e.runs == nil {
		e.runs = map[cs.RequestID]int{}
	}
	e.runs[r.ID]++
	e.active++
	if e.active > e.maxAtOne {
		e.maxAtOne = e.active
	}
	started, hold, fail := e.started, e.hold, e.fail
	e.mu.Unlock()
	defer func() { e.mu.Lock(); e.active--; e.mu.Unlock() }()
	if started != nil {
		started <- r.ID
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return bot.Result{}, ctx.Err()
		}
	}
	if err := progress("step one of " + string(r.ID)); err != nil {
		return bot.Result{}, err
	}
	if fail != nil {
		return bot.Result{}, fail
	}
	return bot.Result{Summary: "done " + r.Action.String(), Image: r.Action.Image}, nil
}

func (e *fakeExec) count(id cs.RequestID) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runs[id]
}

func (e *fakeExec) total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.runs {
		n += c
	}
	return n
}

// fakeImages resolves tags from a map.
type fakeImages map[string]string // "repo:tag" -> "repo@sha256:…"

func (f fakeImages) Resolve(_ context.Context, repo, tag string) (string, error) {
	if img, ok := f[repo+":"+tag]; ok {
		return img, nil
	}
	return "", fmt.Errorf("%s:%s: %w", repo, tag, cs.ErrNotFound)
}

func (f fakeImages) Wait(ctx context.Context, repo, tag string, _ time.Duration) (string, error) {
	img, err := f.Resolve(ctx, repo, tag)
	if err != nil {
		return "", fmt.Errorf("timed out waiting for %s:%s", repo, tag)
	}
	return img, nil
}

func (f fakeImages) Check(_ context.Context, ref string) error {
	for _, img := range f {
		if img == ref {
			return nil
		}
	}
	return fmt.Errorf("%s: %w", ref, cs.ErrNotFound)
}

func digest(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	shaC = "cccccccccccccccccccccccccccccccccccccccc"
)

// testPolicies is the policy set of the tests: www needs one owner and
// one of ops on push; everything else one of ops, api auto-deploys from
// live; locks need nobody.
func testPolicies(extraOps int) policies.Set {
	ops := []string{"UOPS1", "UOPS2", "UOPS3"}
	for i := 4; i <= extraOps; i++ {
		ops = append(ops, fmt.Sprintf("UOPS%d", i))
	}
	return policies.Set{
		Groups: map[string][]string{"ops": ops, "owners": {"UOWN1", "UOWN2"}, "devs": {"UDEV1"}},
		Policies: []policies.Policy{
			{Name: "www-on-push", Actions: []cs.ActionKind{cs.ActionDeploy}, Targets: []string{"www"}, Request: []string{"push"},
				Approve: []cs.Requirement{{Group: "owners", Count: 1}, {Group: "ops", Count: 1}}, Expires: policies.Duration(2 * time.Hour)},
			{Name: "production", Actions: []cs.ActionKind{cs.ActionDeploy, cs.ActionRollback, cs.ActionScale}, Targets: []string{"*"},
				Request: []string{"group:devs", "group:ops", "push"}, Auto: &policies.Auto{Branches: []string{"live"}},
				Approve: []cs.Requirement{{Group: "ops", Count: 1}}, Expires: policies.Duration(time.Hour),
				Scale: &policies.Limits{Min: 1, Max: 10}},
			{Name: "locks", Actions: []cs.ActionKind{cs.ActionLock, cs.ActionUnlock}, Targets: []string{"*"},
				Request: []string{"group:ops", "group:devs"}},
		},
	}
}

type harness struct {
	t      *testing.T
	ctx    context.Context
	bot    *bot.Bot
	db     *store.DB
	path   string
	chat   *bottest.Chat
	exec   *fakeExec
	clock  *bottest.Clock
	images fakeImages
}

type harnessOpt func(*harnessConfig)

type harnessConfig struct {
	executor     bot.Executor // default: exec
	chat         *bottest.Chat
	images       bot.Images // default: the harness's fakeImages
	reporter     bot.Reporter
	comparer     bot.Comparer
	compareWait  time.Duration
	dryRun       bool
	auditChannel string
	set          policies.Set
	path         string
	exec         *fakeExec
	wrap         func(bot.Store) bot.Store
	branches     bot.BranchReader
	clock        *bottest.Clock
	config       func(*bot.Config) // last changes to the bot's config
	drift        time.Duration     // Config.DriftInterval
	zones        []bot.Zone
}

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	hc := harnessConfig{chat: &bottest.Chat{}, set: testPolicies(3), path: filepath.Join(t.TempDir(), "test.db"), exec: &fakeExec{},
		clock: bottest.NewClock(time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC))} // a Wednesday
	for _, o := range opts {
		o(&hc)
	}
	engine, err := policies.New(hc.set)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ctx: context.Background(), path: hc.path, chat: hc.chat, exec: hc.exec, clock: hc.clock,
		images: fakeImages{
			"reg/www:live-" + shaA: "reg/www@" + digest('1'),
			"reg/www:live-" + shaB: "reg/www@" + digest('2'),
			"reg/api:" + shaA:      "reg/api@" + digest('3'),
			"reg/api:" + shaB:      "reg/api@" + digest('4'),
			"reg/api:" + shaC:      "reg/api@" + digest('5'),
		}}
	var ex bot.Executor = h.exec
	if hc.executor != nil {
		ex = hc.executor
	}
	tag := func(prefix string) func(sha, branch string) (string, error) {
		return func(sha, _ string) (string, error) { return prefix + sha, nil }
	}
	cfg := bot.Config{
		Policy:     engine,
		Identities: map[string]cs.Actor{"hannesm": "UOWN1", "talex5": "UOPS1"},
		Services: []bot.Service{
			{Name: "www", Kind: "albatross", Repo: "mirage/mirage-www", Branch: "master", Channel: "CDEPLOY", Image: "reg/www",
				Build: bot.Build{Mode: "wait", Tag: tag("live-"), Timeout: time.Second}, Executor: ex},
			{Name: "api", Kind: "swarm", Repo: "org/api", Branch: "live", Channel: "CDEPLOY", Image: "reg/api",
				Build: bot.Build{Mode: "wait", Tag: tag(""), Timeout: time.Second}, Executor: ex},
		},
		ConfigHash:    "testhash",
		DriftInterval: hc.drift,
		Zones:         hc.zones,
		AuditChannel:  hc.auditChannel,
		Reporter:      hc.reporter,
		Branches:      hc.branches,
		Comparer:      hc.comparer, CompareTimeout: hc.compareWait, DryRun: hc.dryRun,
	}
	var images bot.Images = h.images
	if hc.images != nil {
		images = hc.images
	}
	cfg.Clock = h.clock
	if hc.config != nil {
		hc.config(&cfg)
	}
	var wrap func(*store.DB) bot.Store
	if hc.wrap != nil {
		wrap = func(db *store.DB) bot.Store { return hc.wrap(db) }
	}
	w := bottest.NewWorld(t, bottest.Options{Config: cfg, Chat: h.chat, Images: images, Path: hc.path, Wrap: wrap})
	h.bot, h.db = w.Bot, w.DB
	return h
}

// say runs a command as user and waits for quiescence; it returns the
// ephemeral reply, if any.
func (h *harness) say(user cs.Actor, text string) string {
	h.t.Helper()
	n := len(h.chat.Ephemerals())
	h.bot.HandleCommand(h.ctx, bot.Caller{User: user, Channel: "CCHAT"}, text)
	h.idle()
	ephem := h.chat.Ephemerals()
	if len(ephem) == n {
		return ""
	}
	s, _ := strings.CutPrefix(ephem[len(ephem)-1], string(user)+": ")
	return s
}

// sayNow runs a command without waiting for the work it starts.
func (h *harness) sayNow(user cs.Actor, text string) {
	h.bot.HandleCommand(h.ctx, bot.Caller{User: user, Channel: "CCHAT"}, text)
}

func (h *harness) push(repo, branch, sha, login string) {
	h.t.Helper()
	if _, err := h.bot.HandlePush(h.ctx, bot.Push{Repo: repo, Branch: branch, SHA: sha, Pusher: login, Author: login, Title: "a change"}); err != nil {
		h.t.Fatal(err)
	}
	h.idle()
}

func (h *harness) idle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	if err := h.bot.Idle(ctx); err != nil {
		h.t.Fatalf("bot did not become idle: %v", err)
	}
}

func (h *harness) request(id cs.RequestID) cs.Request {
	h.t.Helper()
	return bottest.Request(h.t, h.db, id)
}

func (h *harness) wantState(id cs.RequestID, want cs.State) cs.Request {
	h.t.Helper()
	r := h.request(id)
	if r.State != want {
		h.t.Fatalf("%s state = %s (%s), want %s", id, r.State, r.Outcome, want)
	}
	return r
}

// kinds returns the kinds of the audit records about a request, in order.
func (h *harness) kinds(id cs.RequestID) []string {
	h.t.Helper()
	var evs []cs.Event
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		evs, err = tx.Events(bot.EventQuery{Request: id})
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Kind))
	}
	return out
}

func (h *harness) countKind(id cs.RequestID, kind cs.EventKind) int {
	n := 0
	for _, k := range h.kinds(id) {
		if k == string(kind) {
			n++
		}
	}
	return n
}

func verifyAudit(t *testing.T, db *store.DB) {
	t.Helper()
	if _, _, err := db.VerifyAudit(context.Background()); err != nil {
		t.Fatalf("audit verify: %v", err)
	}
}

var errBoom = errors.New("boom")

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
