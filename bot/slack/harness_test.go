package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/slack"
	"github.com/countersign/countersign/bot/slack/slacktest"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/policies"
)

const (
	botToken      = "xoxb-flow-test"
	appToken      = "xapp-flow-test"
	signingSecret = "flow-signing-secret"
	deployChannel = "C0DEPLOYS"
	devChannel    = "C0DEV"
)

// slowExec is a stand-in executor for the adapter tests (the real ones
// are tested against their peers): it reports steps and can be slowed.
type slowExec struct {
	mu    sync.Mutex
	runs  map[cs.RequestID]int
	delay time.Duration
}

func (e *slowExec) Describe(_ context.Context, r cs.Request) (string, error) {
	return "would set www to " + r.Action.Image, nil
}

func (e *slowExec) Execute(ctx context.Context, r cs.Request, progress func(string) error) (bot.Result, error) {
	e.mu.Lock()
	e.runs[r.ID]++
	d := e.delay
	e.mu.Unlock()
	for i := 1; i <= 3; i++ {
		if err := progress(fmt.Sprintf("tasks running new image %d/3", i)); err != nil {
			return bot.Result{}, err
		}
	}
	select {
	case <-ctx.Done():
		return bot.Result{}, ctx.Err()
	case <-time.After(d):
	}
	return bot.Result{Summary: "www runs " + r.Action.Image, Image: r.Action.Image}, nil
}

func (e *slowExec) total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.runs {
		n += c
	}
	return n
}

var callerDev = bot.Caller{User: "U0DEV1", Channel: devChannel}

func (e *slowExec) count(id cs.RequestID) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runs[id]
}

// images accepts every digest.
type images struct{}

func (images) Resolve(context.Context, string, string) (string, error) { return "", cs.ErrNotFound }
func (images) Wait(context.Context, string, string, time.Duration) (string, error) {
	return "", cs.ErrNotFound
}
func (images) Check(context.Context, string) error { return nil }

// world is a bot with its store, the fake Slack and the adapter.
type world struct {
	t       testing.TB
	ctx     context.Context
	slack   *slacktest.Server
	client  *slack.Client
	adapter *slack.Adapter
	bot     *bot.Bot
	db      *store.DB
	exec    *slowExec
	http    *httptest.Server
	now     time.Time
}

func newWorld(t testing.TB, socket bool) *world { return newWorldWith(t, socket, 0) }

// newWorldWith adds n services slow0… that deploy without approval, for
// keeping executions busy in the benchmarks.
func newWorldWith(t testing.TB, socket bool, n int) *world { return newWorldTuned(t, socket, n, nil) }

// newWorldTuned is newWorldWith with the Slack client's options changed
// by tune, if not nil.
func newWorldTuned(t testing.TB, socket bool, n int, tune func(*slack.Options)) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), exec: &slowExec{runs: map[cs.RequestID]int{}}}
	w.slack = slacktest.New(slacktest.Options{BotToken: botToken, AppToken: appToken,
		Usergroups: map[string][]string{"S0OWNERS": {"U0OWN1", "U0OWN2"}}, PingInterval: 200 * time.Millisecond})
	t.Cleanup(w.slack.Close)
	opt := slack.Options{APIURL: w.slack.APIURL(), HTTPClient: w.slack.HTTPClient(), ChannelBurst: 1000, ChannelInterval: time.Millisecond}
	if socket {
		opt.AppToken = appToken
	}
	if tune != nil {
		tune(&opt)
	}
	w.client = slack.NewClient(botToken, opt)
	id, cerr := w.client.Check(w.ctx, []string{deployChannel}, socket)
	if cerr != nil {
		t.Fatal(cerr)
	}
	engine, err := policies.New(policies.Set{
		Groups: map[string][]string{"devs": {"U0DEV1"}, "ops": {"U0OPS1", "U0OPS2"}, "owners": {"usergroup:S0OWNERS"}},
		Policies: []policies.Policy{{Name: "production", Actions: []cs.ActionKind{cs.ActionDeploy, cs.ActionRollback},
			Targets: []string{"www"}, Request: []string{"group:devs"},
			Approve: []cs.Requirement{{Group: "ops", Count: 1}, {Group: "owners", Count: 1}}},
			{Name: "load", Actions: []cs.ActionKind{cs.ActionDeploy}, Targets: []string{"slow*"}, Request: []string{"group:devs"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := bot.Config{Policy: engine, Directory: w.client, PublicURL: "https://deploy.example.org",
		Services: []bot.Service{{Name: "www", Kind: "swarm", Repo: "mirage/mirage-www", Channel: deployChannel,
			Image: "registry.example.org/www", Executor: w.exec}}}
	for i := range n {
		cfg.Services = append(cfg.Services, bot.Service{Name: fmt.Sprintf("slow%d", i), Kind: "swarm", Channel: deployChannel,
			Image: "registry.example.org/slow", Executor: w.exec})
	}
	bw := bottest.NewWorld(t, bottest.Options{Config: cfg, Chat: w.client, Images: images{}})
	w.bot, w.db = bw.Bot, bw.DB
	w.now = time.Now()
	w.adapter = slack.NewAdapter(w.client, w.bot, slack.Config{Command: "/cs", SigningSecret: signingSecret, TeamID: id.TeamID,
		Dialer: w.slack.Dialer(), Now: func() time.Time { return w.now }})
	mux := http.NewServeMux()
	mux.Handle("POST /slack/commands", w.adapter.Commands())
	mux.Handle("POST /slack/interactions", w.adapter.Interactions())
	w.http = httptest.NewServer(mux)
	if socket {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.adapter.RunSocketMode(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		wctx, wcancel := context.WithTimeout(w.ctx, 10*time.Second)
		defer wcancel()
		if err := w.slack.WaitConnected(wctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		w.http.Close()
		w.adapter.Close()
	})
	return w
}

// eventually polls cond for up to 10 s.
func (w *world) eventually(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// idle waits for the bot to finish its work and deliver its messages.
func (w *world) idle() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, 20*time.Second)
	defer cancel()
	if err := w.adapter.Idle(ctx); err != nil {
		w.t.Fatalf("adapter not idle: %v", err)
	}
	if err := w.bot.Idle(ctx); err != nil {
		w.t.Fatalf("bot not idle: %v", err)
	}
}

// post sends a signed HTTP-mode request and returns the status and body.
func (w *world) post(path string, form url.Values, sign func(h http.Header, body []byte)) (int, string, time.Duration) {
	w.t.Helper()
	body := []byte(form.Encode())
	req, _ := http.NewRequest("POST", w.http.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sign != nil {
		sign(req.Header, body)
	}
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, b.String(), time.Since(start)
}

func (w *world) signed(h http.Header, body []byte) {
	for k, v := range slacktest.Sign(signingSecret, w.now, body) {
		h[k] = v
	}
}

// requestCard finds the message of request id and its button value.
func (w *world) requestCard(id cs.RequestID) (slacktest.Message, string, bool) {
	for _, m := range w.slack.Messages(deployChannel) {
		if strings.HasPrefix(m.Text, string(id)+" ·") {
			return m, buttonValue(m.Blocks), true
		}
	}
	return slacktest.Message{}, "", false
}

var valuePattern = regexp.MustCompile(`"value":\s*"(R[0-9]+:[0-9a-f]{64})"`)

func buttonValue(blocks json.RawMessage) string {
	if m := valuePattern.FindSubmatch(blocks); m != nil {
		return string(m[1])
	}
	return ""
}

// events returns the audit records of kind.
func (w *world) events(kind cs.EventKind) []cs.Event {
	w.t.Helper()
	var evs []cs.Event
	if err := w.db.View(w.ctx, func(tx bot.ReadTx) error {
		var err error
		evs, err = tx.Events(bot.EventQuery{Kind: kind})
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
	return evs
}

func (w *world) request(id cs.RequestID) cs.Request {
	w.t.Helper()
	return bottest.Request(w.t, w.db, id)
}

func (w *world) lastEphemeral(user string) string {
	eph := w.slack.Ephemerals()
	for i := len(eph) - 1; i >= 0; i-- {
		if eph[i].User == user {
			return eph[i].Text
		}
	}
	return ""
}

func digest(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

// unjson undoes encoding/json's HTML escapes, to read blocks as Slack does.
func unjson(raw json.RawMessage) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(raw))
}
