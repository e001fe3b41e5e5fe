package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/executors/dryrun"
	"github.com/countersign/countersign/policies"
	"github.com/countersign/countersign/web"
)

// Hostile text that people or GitHub may write: it must come out escaped.
const (
	hostileScript = `<script>alert("x")</script>`
	hostileImg    = `"><img src=x onerror=alert(1)>`
	hostile       = hostileScript + " " + hostileImg
)

const (
	auditToken  = "audit-token-0123456789abcdef"
	oncallToken = "oncall-token-0123456789abcdef"
	shaA        = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB        = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	shaC        = "cccccccccccccccccccccccccccccccccccccccc" // between shaA and shaB
)

func digest(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

// images resolves the two commits of www.
type images map[string]string

func (f images) Resolve(_ context.Context, repo, tag string) (string, error) {
	if img, ok := f[repo+":"+tag]; ok {
		return img, nil
	}
	return "", fmt.Errorf("%s:%s: %w", repo, tag, cs.ErrNotFound)
}
func (f images) Wait(ctx context.Context, repo, tag string, _ time.Duration) (string, error) {
	return f.Resolve(ctx, repo, tag)
}
func (f images) Check(context.Context, string) error { return nil }

// liveSwarm is the dry-run Swarm executor that can also say what runs,
// as the real one does (a stand-in for the engine's answer).
type liveSwarm struct {
	dryrun.Swarm
	status string
	err    error
	runs   bot.Live
	asked  atomic.Int32 // Status calls
}

func (l *liveSwarm) Status(context.Context, string) (string, error) {
	l.asked.Add(1)
	return l.status, l.err
}

// Sweeper makes it readable by drift sweeps: it reports l.runs (unset:
// what the bot deployed last, digest 1).
func (l *liveSwarm) Sweeper() bot.Sweeper { return l }

func (l *liveSwarm) Sweep(_ context.Context, targets []string) (map[string]bot.Live, error) {
	runs := l.runs
	if runs.Image == "" {
		runs = bot.Live{Image: "reg/www@" + digest('1'), Replicas: -1}
	}
	out := map[string]bot.Live{}
	for _, t := range targets {
		out[t] = runs
	}
	return out, nil
}

// site is a bot with a history, and its pages.
type site struct {
	t     *testing.T
	ctx   context.Context
	bot   *bot.Bot
	db    *store.DB
	clock *bottest.Clock // shared by the bot and the pages
	srv   *web.Server
	http  *httptest.Server
	swarm *liveSwarm
}

type siteOpt func(*web.Config)

// newSite builds the bot and drives it through a history: R1 (a push of
// www with a hostile commit title) approved and run, R2 (the next push)
// waiting for approval, api locked with a hostile reason.
func newSite(t *testing.T, opts ...siteOpt) *site {
	t.Helper()
	return newSiteAt(t, time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), opts...)
}

// newSiteAt is newSite with its clock starting at start. A site that a
// real browser visits starts at the real time: the browser keeps its
// own clock, and a fixed date would meet it (a cookie, a "3 min ago").
func newSiteAt(t *testing.T, start time.Time, opts ...siteOpt) *site {
	t.Helper()
	return newSiteWith(t, start, nil, opts...)
}

// newSiteWith is newSiteAt with last changes to the bot's config (nil: none).
func newSiteWith(t *testing.T, start time.Time, botOpt func(*bot.Config, *site), opts ...siteOpt) *site {
	t.Helper()
	s := &site{t: t, ctx: context.Background(), clock: bottest.NewClock(start),
		swarm: &liveSwarm{Swarm: dryrun.Swarm{Service: "www_web", Engine: "prod"}, status: "3/3 tasks running reg/www@" + digest('1')}}
	engine, err := policies.New(policies.Set{
		Groups: map[string][]string{"ops": {"UOPS1", "UOPS2"}, "devs": {"UDEV1"}},
		Policies: []policies.Policy{
			{Name: "production", Actions: []cs.ActionKind{cs.ActionDeploy, cs.ActionRollback, cs.ActionScale}, Targets: []string{"*"},
				Request: []string{"group:devs", "group:ops", "push"}, Approve: []cs.Requirement{{Group: "ops", Count: 1}},
				Expires: policies.Duration(time.Hour)},
			{Name: "locks", Actions: []cs.ActionKind{cs.ActionLock, cs.ActionUnlock}, Targets: []string{"*"}, Request: []string{"group:ops"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tag := func(sha, _ string) (string, error) { return "live-" + sha, nil }
	bc := bot.Config{
		Policy: engine,
		Services: []bot.Service{
			{Name: "www", Kind: "swarm", Repo: "mirage/mirage-www", Branch: "live", Channel: "CDEPLOY", Image: "reg/www",
				Where: "engine", Place: "prod", Build: bot.Build{Mode: "wait", Tag: tag, Timeout: time.Second}, Executor: s.swarm},
			{Name: "api", Kind: "albatross", Channel: "CDEPLOY", Image: "reg/api", Where: "host", Place: "a1",
				Executor: &dryrun.Albatross{Unikernel: "api", Host: "a1"}},
		},
		Zones:      []bot.Zone{{Name: "example.org.", Executor: &dryrun.DNS{Zone: "example.org."}}},
		Clock:      s.clock,
		ConfigHash: "testhash",
		Comparer: dryrun.History{"mirage/mirage-www": {{SHA: shaA}, {SHA: shaC, Title: hostile, Login: "mallory"},
			{SHA: shaB, Title: "second change", Name: "Eve Unmapped"}}},
	}
	if botOpt != nil {
		botOpt(&bc, s)
	}
	world := bottest.NewWorld(t, bottest.Options{Config: bc,
		Images: images{"reg/www:live-" + shaA: "reg/www@" + digest('1'), "reg/www:live-" + shaB: "reg/www@" + digest('2')}})
	s.bot, s.db = world.Bot, world.DB
	cfg := web.Config{
		Source: s.bot, Chain: s.db, Tokens: []web.Token{{Name: "audit", Value: auditToken}, {Name: "oncall", Value: oncallToken}},
		SessionKey: []byte(strings.Repeat("k", 32)), Now: s.clock.Now, Logger: slog.New(slog.NewTextHandler(testLog{t}, nil)),
		ThreadURL: func(ref cs.MessageRef) string {
			return "https://team.slack.com/archives/" + ref.Channel + "/p" + strings.ReplaceAll(ref.TS, ".", "")
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	s.srv, err = web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.http = httptest.NewServer(s.srv.Handler())
	t.Cleanup(func() {
		s.http.Close()
		s.srv.Close()
	})

	s.push(shaA, hostile)
	s.say("UOPS1", "approve R1")
	s.clock.Advance(time.Minute)
	s.push(shaB, "second change")
	s.say("UOPS1", "lock api "+hostile)
	return s
}

func (s *site) push(sha, title string) {
	s.t.Helper()
	if _, err := s.bot.HandlePush(s.ctx, bot.Push{Repo: "mirage/mirage-www", Branch: "live", SHA: sha, Pusher: "mallory", Author: "mallory", Title: title}); err != nil {
		s.t.Fatal(err)
	}
	s.idle()
}

func (s *site) say(user cs.Actor, text string) {
	s.bot.HandleCommand(s.ctx, bot.Caller{User: user, Channel: "CCHAT"}, text)
	s.idle()
}

func (s *site) idle() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if err := s.bot.Idle(ctx); err != nil {
		s.t.Fatal(err)
	}
}

// get fetches path with the given headers, not following redirects.
func (s *site) get(path string, header ...string) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest("GET", s.http.URL+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return s.do(req)
}

// page fetches path as the oncall token, wanting status.
func (s *site) page(path string, status int) string {
	s.t.Helper()
	res, body := s.get(path, "Authorization", "Bearer "+oncallToken)
	if res.StatusCode != status {
		s.t.Fatalf("GET %s = %d, want %d:\n%s", path, res.StatusCode, status, body)
	}
	return body
}

func (s *site) do(req *http.Request) (*http.Response, string) {
	s.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return res, string(b)
}

// login posts the form and returns the response.
func (s *site) login(token, next string, header ...string) (*http.Response, string) {
	s.t.Helper()
	return s.do(s.loginRequest(token, next, header...))
}

// loginRequest is the form's POST with the given headers.
func (s *site) loginRequest(token, next string, header ...string) *http.Request {
	s.t.Helper()
	form := url.Values{"token": {token}, "next": {next}}
	req, err := http.NewRequest("POST", s.http.URL+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// events returns the audit records of kind.
func (s *site) events(kind cs.EventKind) []cs.Event {
	s.t.Helper()
	evs, err := s.bot.Events(s.ctx, bot.EventQuery{Kind: kind})
	if err != nil {
		s.t.Fatal(err)
	}
	return evs
}

// testLog sends the pages' log to the test's.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (s *site) request(id cs.RequestID) cs.Request {
	s.t.Helper()
	v, _, err := s.bot.RequestDetail(s.ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return v.Request
}
