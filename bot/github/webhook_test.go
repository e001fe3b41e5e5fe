package github_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/policies"
)

const (
	hookSecret = "It's a Secret to Everybody"
	hookRepo   = "Codertocat/Hello-World" // the fixtures' repository
	hookSHA    = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
	hookChan   = "C0DEPLOY"
)

// hookFixture reads a recorded delivery from testdata.
func hookFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hookSign returns the X-Hub-Signature-256 value of body.
func hookSign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// hookRequest is a delivery as GitHub sends it, correctly signed.
func hookRequest(target, event, id string, body []byte) *http.Request {
	if target == "" {
		target = "http://countersign.test"
	}
	r, err := http.NewRequest(http.MethodPost, target+"/webhooks/github", bytes.NewReader(body))
	if err != nil {
		panic(err) // a constant method and a test URL
	}
	r.RemoteAddr = "192.0.2.1:4711" // as the server would set it
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "GitHub-Hookshot/044aadd")
	if event != "" {
		r.Header.Set("X-GitHub-Event", event)
	}
	if id != "" {
		r.Header.Set("X-GitHub-Delivery", id)
	}
	r.Header.Set("X-Hub-Signature-256", hookSign(hookSecret, body))
	return r
}

// hookServe runs one request through h in process.
func hookServe(h http.Handler, r *http.Request) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code, rec.Body.String()
}

// hookCall is one audit call the fake intake received.
type hookCall struct {
	D      bot.Delivery
	Reason string
}

// hookIntake is a hand-written Intake that records its calls and
// deduplicates delivery IDs as the bot does.
type hookIntake struct {
	mu       sync.Mutex
	services []string // what HandlePush says follows every push
	err      error    // every call fails with it
	seen     map[string]bool
	pushes   []bot.Push
	ignored  []hookCall
	refused  []hookCall
}

func (f *hookIntake) dup(id string) bool {
	if id == "" {
		return false
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	d := f.seen[id]
	f.seen[id] = true
	return d
}

func (f *hookIntake) HandlePush(_ context.Context, p bot.Push) (bot.PushResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return bot.PushResult{}, f.err
	}
	if f.dup(p.Delivery) {
		return bot.PushResult{Duplicate: true}, nil
	}
	f.pushes = append(f.pushes, p)
	res := bot.PushResult{Services: f.services}
	if len(res.Services) == 0 {
		res.Ignored = fmt.Sprintf("no service follows %s of %s", p.Branch, p.Repo)
	}
	return res, nil
}

func (f *hookIntake) WebhookIgnored(_ context.Context, d bot.Delivery, reason string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, f.err
	}
	if f.dup(d.ID) {
		return true, nil
	}
	f.ignored = append(f.ignored, hookCall{d, reason})
	return false, nil
}

func (f *hookIntake) WebhookRefused(_ context.Context, d bot.Delivery, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refused = append(f.refused, hookCall{d, reason})
	return f.err
}

func hookNew(t testing.TB, in github.Intake, opts github.WebhookOptions) *github.Webhook {
	t.Helper()
	h, err := github.NewWebhook(hookSecret, in, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// hookImages has an image for every tag.
type hookImages struct{}

func (hookImages) Resolve(_ context.Context, repo, tag string) (string, error) {
	sum := sha256.Sum256([]byte(repo + ":" + tag))
	return repo + "@sha256:" + hex.EncodeToString(sum[:]), nil
}
func (i hookImages) Wait(ctx context.Context, repo, tag string, _ time.Duration) (string, error) {
	return i.Resolve(ctx, repo, tag)
}
func (hookImages) Check(context.Context, string) error { return nil }

// hookExec is an executor that is never reached: every push deploy
// waits for approval.
type hookExec struct{}

func (hookExec) Describe(_ context.Context, r cs.Request) (string, error) {
	return "would set " + r.Action.Target + " to " + r.Action.Image, nil
}
func (hookExec) Execute(_ context.Context, r cs.Request, _ func(string) error) (bot.Result, error) {
	return bot.Result{}, errors.New("hookExec: not expected to run")
}

// hookService is a service that follows repo's branch and waits for the
// commit's image.
func hookService(name, repo, branch string) bot.Service {
	return bot.Service{Name: name, Kind: "swarm", Repo: repo, Branch: branch, Channel: hookChan,
		Image: "registry.example.org/" + name, Executor: hookExec{},
		Build: bot.Build{Mode: "wait", Timeout: time.Second, Tag: func(sha, _ string) (string, error) { return sha, nil }}}
}

// hookWorld is the real bot and store behind the real handler on a
// loopback server. restart reopens it all on the same database file.
type hookWorld struct {
	t        testing.TB
	ctx      context.Context
	path     string
	sync     bool
	services []bot.Service
	chat     *bottest.Chat
	log      *bytes.Buffer
	// configure, if set, changes the bot's config before each start.
	configure func(*bot.Config)

	world *bottest.World
	db    *store.DB
	bot   *bot.Bot
	hook  *github.Webhook
	srv   *httptest.Server
	open  bool
}

func hookNewWorld(t testing.TB, services ...bot.Service) *hookWorld {
	return hookNewWorldSync(t, false, services...)
}

// hookNewWorldSync is hookNewWorld with fsync on commits when sync is set.
func hookNewWorldSync(t testing.TB, sync bool, services ...bot.Service) *hookWorld {
	t.Helper()
	w := &hookWorld{t: t, ctx: context.Background(), path: filepath.Join(t.TempDir(), "cs.db"), sync: sync,
		services: services, chat: &bottest.Chat{}, log: &bytes.Buffer{}}
	w.start()
	t.Cleanup(w.stop)
	return w
}

func (w *hookWorld) start() {
	w.t.Helper()
	engine, err := policies.New(policies.Set{
		Groups: map[string][]string{"ops": {"U0OPS1"}},
		Policies: []policies.Policy{{Name: "push", Actions: []cs.ActionKind{cs.ActionDeploy}, Targets: []string{"*"},
			Request: []string{"push"}, Approve: []cs.Requirement{{Group: "ops", Count: 1}}}},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	cfg := bot.Config{Policy: engine, Services: w.services, ConfigHash: "hooktest"}
	if w.configure != nil {
		w.configure(&cfg)
	}
	w.world = bottest.NewWorld(w.t, bottest.Options{Config: cfg, Chat: w.chat, Images: hookImages{}, Path: w.path, Sync: w.sync})
	w.db, w.bot = w.world.DB, w.world.Bot
	w.hook = hookNew(w.t, w.bot, github.WebhookOptions{Logger: slog.New(slog.NewJSONHandler(w.log, nil))})
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/github", w.hook)
	w.srv = httptest.NewServer(mux)
	w.open = true
}

func (w *hookWorld) stop() {
	if !w.open {
		return
	}
	w.open = false
	w.srv.Close()
	w.world.Stop()
}

func (w *hookWorld) restart() {
	w.t.Helper()
	w.idle()
	w.stop()
	w.start()
}

func (w *hookWorld) idle() {
	w.t.Helper()
	w.world.Idle()
}

// deliver posts r (made with hookRequest(w.srv.URL, …)) over loopback.
func (w *hookWorld) deliver(r *http.Request) (int, string) {
	w.t.Helper()
	res, err := w.srv.Client().Do(r)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// hookRecord is an audit record with its detail decoded.
type hookRecord struct {
	cs.Event
	D   map[string]any
	Raw string
}

func (w *hookWorld) events(kind cs.EventKind) []hookRecord {
	w.t.Helper()
	var evs []cs.Event
	if err := w.db.View(w.ctx, func(tx bot.ReadTx) error {
		var err error
		evs, err = tx.Events(bot.EventQuery{Kind: kind})
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
	out := make([]hookRecord, len(evs))
	for i, e := range evs {
		out[i] = hookRecord{Event: e, Raw: string(e.Detail)}
		if err := json.Unmarshal(e.Detail, &out[i].D); err != nil {
			w.t.Fatalf("record %d detail: %v", e.Seq, err)
		}
	}
	return out
}

func (w *hookWorld) requests() []cs.Request {
	w.t.Helper()
	var rs []cs.Request
	if err := w.db.View(w.ctx, func(tx bot.ReadTx) error {
		var err error
		rs, err = tx.OpenRequests("")
		return err
	}); err != nil {
		w.t.Fatal(err)
	}
	return rs
}

func TestNewWebhook_NoSecret(t *testing.T) {
	_, err := github.NewWebhook("", &hookIntake{}, github.WebhookOptions{})
	if !errors.Is(err, github.ErrNoSecret) {
		t.Fatalf("NewWebhook with no secret: err = %v, want ErrNoSecret", err)
	}
	// A Webhook not made by NewWebhook verifies nothing and says so.
	code, _ := hookServe(&github.Webhook{}, hookRequest("", "ping", "d1", hookFixture(t, "ping.json")))
	if code != http.StatusUnauthorized {
		t.Fatalf("zero Webhook: status %d, want 401", code)
	}
}

// TestWebhook_Signatures sends each kind of signature through the real
// bot: only the correct one is accepted, and each refusal is audited
// with the delivery ID and nothing of the body.
func TestWebhook_Signatures(t *testing.T) {
	w := hookNewWorld(t, hookService("www", hookRepo, "master"))
	body := hookFixture(t, "ping.json")
	other := hookFixture(t, "push-tag-deleted.json")
	good := hookSign(hookSecret, body)
	sha1mac := hmac.New(sha1.New, []byte(hookSecret))
	sha1mac.Write(body)
	sha1sig := "sha1=" + hex.EncodeToString(sha1mac.Sum(nil))
	for i, tc := range []struct {
		name   string
		set    func(h http.Header)
		reason string // "" accepted
	}{
		{"correct", func(http.Header) {}, ""},
		{"correct beside sha1", func(h http.Header) { h.Set("X-Hub-Signature", sha1sig) }, ""},
		{"wrong secret", func(h http.Header) { h.Set("X-Hub-Signature-256", hookSign("not the secret", body)) }, "bad signature"},
		{"unsigned", func(h http.Header) { h.Del("X-Hub-Signature-256") }, "unsigned"},
		{"sha1 only", func(h http.Header) { h.Del("X-Hub-Signature-256"); h.Set("X-Hub-Signature", sha1sig) }, "sha1 only"},
		{"sha1 beside a wrong sha256", func(h http.Header) {
			h.Set("X-Hub-Signature", sha1sig)
			h.Set("X-Hub-Signature-256", hookSign("x", body))
		}, "bad signature"},
		{"no sha256= prefix", func(h http.Header) { h.Set("X-Hub-Signature-256", strings.TrimPrefix(good, "sha256=")) }, "bad signature"},
		{"sha1= prefix on the sha256 header", func(h http.Header) { h.Set("X-Hub-Signature-256", "sha1="+strings.TrimPrefix(good, "sha256=")) }, "bad signature"},
		{"not hex", func(h http.Header) { h.Set("X-Hub-Signature-256", "sha256="+strings.Repeat("zz", 32)) }, "bad signature"},
		{"short", func(h http.Header) { h.Set("X-Hub-Signature-256", good[:len(good)-2]) }, "bad signature"},
		{"empty value", func(h http.Header) { h.Set("X-Hub-Signature-256", "sha256=") }, "bad signature"},
		{"for another body", func(h http.Header) { h.Set("X-Hub-Signature-256", hookSign(hookSecret, other)) }, "bad signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("sig-%02d", i)
			before := len(w.events(cs.EventWebhookRefused))
			r := hookRequest(w.srv.URL, "ping", id, body)
			tc.set(r.Header)
			code, text := w.deliver(r)
			refused := w.events(cs.EventWebhookRefused)
			if tc.reason == "" {
				if code != http.StatusOK || text != "ignored: ping\n" {
					t.Fatalf("got %d %q, want 200 ignored: ping", code, text)
				}
				if len(refused) != before {
					t.Fatalf("an accepted delivery was audited as refused: %v", refused[before:])
				}
				return
			}
			if code != http.StatusUnauthorized {
				t.Fatalf("status %d (%q), want 401", code, text)
			}
			if text != "unauthorized\n" {
				t.Errorf("body %q, want only unauthorized", text)
			}
			if len(refused) != before+1 {
				t.Fatalf("%d webhook.refused records, want %d", len(refused), before+1)
			}
			got := refused[len(refused)-1]
			if got.D["delivery"] != id || got.D["reason"] != tc.reason || got.D["event"] != "ping" || got.Actor != cs.ActorBot {
				t.Errorf("record %s %s, want delivery %s, reason %q, actor %s", got.Actor, got.Raw, id, tc.reason, cs.ActorBot)
			}
			if remote, _ := got.D["remote"].(string); !strings.HasPrefix(remote, "127.0.0.1:") {
				t.Errorf("remote = %v, want the loopback caller", got.D["remote"])
			}
			for _, leak := range []string{"dilutes", "Octocoders", "Hello-World", "smee.io", strings.TrimPrefix(good, "sha256=")} {
				if strings.Contains(got.Raw, leak) {
					t.Errorf("refused record carries %q from the body or signature: %s", leak, got.Raw)
				}
			}
		})
	}
	// Only the two accepted pings were received.
	if got := len(w.events(cs.EventWebhookReceived)); got != 2 {
		t.Errorf("%d webhook.received records, want 2", got)
	}
	if strings.Contains(w.log.String(), hookSecret) || strings.Contains(w.log.String(), "dilutes") {
		t.Errorf("the log carries the secret or the body:\n%s", w.log)
	}
}

// TestWebhook_Oversized: a body over 25 MiB is refused with 413 whether
// its length is declared or not, and the next delivery still works.
func TestWebhook_Oversized(t *testing.T) {
	w := hookNewWorld(t, hookService("www", hookRepo, "master"))
	big := bytes.Repeat([]byte(" "), 26<<20)
	copy(big, `{"zen":"huge"}`)
	for _, tc := range []struct {
		name    string
		chunked bool
	}{{"declared length", false}, {"chunked", true}} {
		t.Run(tc.name, func(t *testing.T) {
			id := "big-" + strings.ReplaceAll(tc.name, " ", "-")
			r := hookRequest(w.srv.URL, "ping", id, big)
			if tc.chunked {
				r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(big)))
				r.ContentLength = -1
				r.GetBody = nil
			}
			code, text := w.deliver(r)
			if code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d (%q), want 413", code, text)
			}
			refused := w.events(cs.EventWebhookRefused)
			got := refused[len(refused)-1]
			if got.D["reason"] != "oversized" || got.D["delivery"] != id {
				t.Errorf("record %s, want reason oversized for %s", got.Raw, id)
			}
			code, text = w.deliver(hookRequest(w.srv.URL, "ping", id+"-then", hookFixture(t, "ping.json")))
			if code != http.StatusOK {
				t.Fatalf("delivery after the oversized one: %d %q", code, text)
			}
		})
	}
}

// TestWebhook_Fixtures pushes GitHub's recorded deliveries through the
// real handler and bot.
func TestWebhook_Fixtures(t *testing.T) {
	followed := []bot.Service{hookService("www", hookRepo, "master"), hookService("next", hookRepo, "master")}
	unfollowed := []bot.Service{hookService("www", hookRepo, "live"), hookService("api", "Codertocat/other", "master")}
	for _, tc := range []struct {
		file, event string
		services    []bot.Service
		text        string
		ignored     string   // the ignored reason audited
		threads     []string // push threads started
		author      string
	}{
		{file: "ping.json", event: "ping", services: followed, text: "ignored: ping", ignored: "ping"},
		{file: "push-branch-created.json", event: "push", services: followed, text: "ok: deploy threads for www, next",
			threads: []string{"next", "www"}, author: "Codertocat"},
		{file: "push-branch-created.json", event: "push", services: unfollowed,
			text: "ignored: no service follows master of " + hookRepo, ignored: "no service follows master of " + hookRepo},
		// Only the committer lacks a username here: the author has one.
		{file: "push-no-username-committer.json", event: "push", services: followed[:1], text: "ok: deploy threads for www",
			threads: []string{"www"}, author: "Codertocat"},
		{file: "push-tag-deleted.json", event: "push", services: followed, text: "ignored: tag push", ignored: "tag push"},
		{file: "push-tag-deleted-with-installation.json", event: "push", services: followed, text: "ignored: tag push", ignored: "tag push"},
	} {
		name := strings.TrimSuffix(tc.file, ".json")
		if len(tc.services) > 0 && tc.services[0].Branch == "live" {
			name += "/unfollowed"
		}
		t.Run(name, func(t *testing.T) {
			w := hookNewWorld(t, tc.services...)
			id := "72d3162e-cc78-11e3-81ab-4c9367dc0958"
			code, text := w.deliver(hookRequest(w.srv.URL, tc.event, id, hookFixture(t, tc.file)))
			if code != http.StatusOK || text != tc.text+"\n" {
				t.Fatalf("got %d %q, want 200 %q", code, text, tc.text)
			}
			w.idle()
			recv := w.events(cs.EventWebhookReceived)
			var reasons []string
			withID := 0
			for _, e := range recv {
				if r, ok := e.D["ignored"].(string); ok {
					reasons = append(reasons, r)
				}
				if e.D["delivery"] == id {
					withID++
				}
			}
			if withID != 1 {
				t.Errorf("%d webhook.received records name delivery %s, want 1: %v", withID, id, recv)
			}
			if tc.ignored == "" && len(reasons) != 0 || tc.ignored != "" && (len(reasons) != 1 || reasons[0] != tc.ignored) {
				t.Errorf("ignored reasons %q, want %q", reasons, tc.ignored)
			}
			if got := w.chat.Threads(); strings.Join(got, ",") != strings.Join(tc.threads, ",") {
				t.Errorf("threads %v, want %v", got, tc.threads)
			}
			rs := w.requests()
			if len(rs) != len(tc.threads) {
				t.Fatalf("%d requests, want %d", len(rs), len(tc.threads))
			}
			for _, r := range rs {
				if r.Action.Commit != hookSHA || r.Action.Branch != "master" || r.Requester != cs.GitHubActor("Codertocat") ||
					r.AuthorLogin != tc.author || r.CommitTitle != "Initial commit" || r.Source != cs.SourcePush {
					t.Errorf("request %s: %+v", r.ID, r)
				}
			}
		})
	}
}

// TestWebhook_Push checks the bot.Push made from recorded and generated
// deliveries, and the reasons for ignoring the others.
func TestWebhook_Push(t *testing.T) {
	const sha = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
	zeros := strings.Repeat("0", 40)
	gen := func(ref, after string, deleted bool, head map[string]any, pusher string) []byte {
		p := map[string]any{"ref": ref, "before": zeros, "after": after, "deleted": deleted, "created": false,
			"repository": map[string]any{"full_name": "mirage/mirage-www", "name": "mirage-www"},
			"sender":     map[string]any{"login": "hannesm"}, "head_commit": head}
		if pusher != "" {
			p["pusher"] = map[string]any{"name": pusher, "email": pusher + "@example.org"}
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	head := func(id, msg string, author map[string]any) map[string]any {
		return map[string]any{"id": id, "message": msg, "url": "https://github.com/mirage/mirage-www/commit/" + id,
			"author": author, "committer": map[string]any{"name": "GitHub", "username": "web-flow"}}
	}
	alice := map[string]any{"name": "Alice", "email": "alice@example.org", "username": "alice"}
	noLogin := map[string]any{"name": "Alice", "email": "alice@example.org"}
	fixturePush := bot.Push{Repo: hookRepo, Branch: "master", SHA: hookSHA, Pusher: "Codertocat", Author: "Codertocat",
		Title: "Initial commit", URL: "https://github.com/Codertocat/Hello-World/commit/" + hookSHA, Delivery: "d1", Before: zeros}
	// www is the push the generated deliveries make, changed by mod.
	www := func(mod func(p *bot.Push)) *bot.Push {
		p := bot.Push{Repo: "mirage/mirage-www", Branch: "live", SHA: sha, Pusher: "talex5", Author: "alice",
			Title: "Fix the thing", URL: "https://github.com/mirage/mirage-www/commit/" + sha, Delivery: "d1", Before: zeros}
		if mod != nil {
			mod(&p)
		}
		return &p
	}
	sha256ID := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name    string
		body    []byte
		code    int
		push    *bot.Push // nil: not handed over
		ignored string
	}{
		{name: "fixture branch created", body: hookFixture(t, "push-branch-created.json"), code: 200, push: &fixturePush},
		{name: "fixture committer without username", body: hookFixture(t, "push-no-username-committer.json"), code: 200, push: &fixturePush},
		{name: "branch push", code: 200, push: www(nil),
			body: gen("refs/heads/live", sha, false, head(sha, "Fix the thing\r\n\nThe long story.", alice), "talex5")},
		{name: "author without username", code: 200, push: www(func(p *bot.Push) { p.Author = "" }),
			body: gen("refs/heads/live", sha, false, head(sha, "Fix the thing", noLogin), "talex5")},
		{name: "no pusher: the sender", code: 200, push: www(func(p *bot.Push) { p.Pusher = "hannesm" }),
			body: gen("refs/heads/live", sha, false, head(sha, "Fix the thing", alice), "")},
		{name: "sha-256 repository", code: 200, push: www(func(p *bot.Push) { p.SHA, p.URL = sha256ID, "https://github.com/mirage/mirage-www/commit/"+sha256ID }),
			body: gen("refs/heads/live", sha256ID, false, head(sha256ID, "Fix the thing", alice), "talex5")},
		{name: "branch deleted", code: 200, ignored: "branch deleted", body: gen("refs/heads/live", zeros, true, nil, "talex5")},
		{name: "after all zeros", code: 200, ignored: "branch deleted", body: gen("refs/heads/live", zeros, false, nil, "talex5")},
		{name: "no head commit", code: 200, ignored: "no head commit", body: gen("refs/heads/live", sha, false, nil, "talex5")},
		{name: "tag push", code: 200, ignored: "tag push", body: gen("refs/tags/v4.2.0", sha, false, head(sha, "Release", alice), "talex5")},
		{name: "tag deleted", code: 200, ignored: "tag push", body: hookFixture(t, "push-tag-deleted.json")},
		{name: "not a branch", code: 200, ignored: "ref refs/pull/7/head is not a branch", body: gen("refs/pull/7/head", sha, false, head(sha, "x", alice), "talex5")},
		{name: "head commit id not a hash", code: 400, ignored: "malformed payload", body: gen("refs/heads/live", sha, false, head("HEAD; rm -rf /", "x", alice), "talex5")},
		{name: "before not a hash", code: 400, ignored: "malformed payload",
			body: []byte(strings.Replace(string(gen("refs/heads/live", sha, false, head(sha, "x", alice), "talex5")), `"before":"`+zeros, `"before":"HEAD; rm -rf /`, 1))},
		{name: "no repository", code: 400, ignored: "malformed payload", body: []byte(`{"ref":"refs/heads/live","head_commit":{"id":"` + sha + `"}}`)},
		{name: "not JSON", code: 400, ignored: "malformed payload", body: []byte(`{"ref": "refs/heads/live",`)},
		{name: "wrong types", code: 400, ignored: "malformed payload", body: []byte(`{"ref": 42}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &hookIntake{services: []string{"www"}}
			code, text := hookServe(hookNew(t, in, github.WebhookOptions{}), hookRequest("", "push", "d1", tc.body))
			if code != tc.code {
				t.Fatalf("status %d (%q), want %d", code, text, tc.code)
			}
			if tc.push != nil {
				want := *tc.push
				want.Payload = strings.TrimPrefix(hookSign(hookSecret, tc.body), "sha256=") // the verified MAC
				if len(in.pushes) != 1 || in.pushes[0] != want {
					t.Fatalf("pushes\n got %+v\nwant %+v", in.pushes, want)
				}
				if text != "ok: deploy threads for www\n" {
					t.Errorf("text %q", text)
				}
				return
			}
			if len(in.pushes) != 0 {
				t.Errorf("handed over %+v, want nothing", in.pushes)
			}
			if len(in.ignored) != 1 || in.ignored[0].Reason != tc.ignored || in.ignored[0].D.ID != "d1" || in.ignored[0].D.Event != "push" {
				t.Fatalf("ignored %+v, want %q for d1", in.ignored, tc.ignored)
			}
			if text != "ignored: "+tc.ignored+"\n" {
				t.Errorf("text %q", text)
			}
		})
	}
}

// TestWebhook_Unfollowed: with no service following the branch, the
// reason is audited beside the push record, not swallowed as a
// duplicate of it.
func TestWebhook_Unfollowed(t *testing.T) {
	in := &hookIntake{}
	code, text := hookServe(hookNew(t, in, github.WebhookOptions{}), hookRequest("", "push", "d1", hookFixture(t, "push-branch-created.json")))
	want := "no service follows master of " + hookRepo
	if code != 200 || text != "ignored: "+want+"\n" {
		t.Fatalf("got %d %q", code, text)
	}
	if len(in.pushes) != 1 || len(in.ignored) != 0 {
		t.Fatalf("pushes %+v, ignored %+v: the push's own record holds the reason", in.pushes, in.ignored)
	}
}

// TestWebhook_Events: deliveries of other kinds are acknowledged and
// audited as ignored.
func TestWebhook_Events(t *testing.T) {
	issue := []byte(`{"action":"opened","issue":{"number":1},"repository":{"full_name":"mirage/mirage-www"},"sender":{"login":"hannesm"}}`)
	for _, tc := range []struct {
		name, event string
		body        []byte
		code        int
		ignored     string
		repo        string
	}{
		{"ping", "ping", hookFixture(t, "ping.json"), 200, "ping", "Octocoders/Hello-World"},
		{"issues", "issues", issue, 200, "event issues not handled", "mirage/mirage-www"},
		{"unknown to go-github", "some_future_event", issue, 200, "event some_future_event not handled", "mirage/mirage-www"},
		{"no event header", "", issue, 200, "no event type", ""},
		{"malformed issues", "issues", []byte("{"), 400, "malformed payload", ""},
		{"malformed ping", "ping", []byte("[1,2"), 400, "malformed payload", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &hookIntake{}
			code, text := hookServe(hookNew(t, in, github.WebhookOptions{}), hookRequest("", tc.event, "d1", tc.body))
			if code != tc.code || text != "ignored: "+tc.ignored+"\n" {
				t.Fatalf("got %d %q, want %d ignored: %s", code, text, tc.code, tc.ignored)
			}
			if len(in.ignored) != 1 || in.ignored[0].Reason != tc.ignored || in.ignored[0].D.Repo != tc.repo {
				t.Fatalf("ignored %+v", in.ignored)
			}
		})
	}
}

// TestWebhook_Duplicate: a redelivery is acknowledged and does nothing,
// also after the bot restarts on the same database; the same ref update
// under another delivery ID is a replay.
func TestWebhook_Duplicate(t *testing.T) {
	w := hookNewWorld(t, hookService("www", hookRepo, "master"), hookService("next", hookRepo, "master"))
	push, ping := hookFixture(t, "push-branch-created.json"), hookFixture(t, "ping.json")
	send := func(event, id string, body []byte, want string) {
		t.Helper()
		code, text := w.deliver(hookRequest(w.srv.URL, event, id, body))
		if code != http.StatusOK || text != want+"\n" {
			t.Fatalf("%s %s: got %d %q, want 200 %q", event, id, code, text, want)
		}
	}
	send("push", "push-1", push, "ok: deploy threads for www, next")
	send("ping", "ping-1", ping, "ignored: ping")
	w.idle()
	received, threads, requests := len(w.events(cs.EventWebhookReceived)), w.chat.Threads(), len(w.requests())
	if received != 2 || len(threads) != 2 || requests != 2 {
		t.Fatalf("after the first deliveries: %d received, threads %v, %d requests", received, threads, requests)
	}
	check := func(when string) {
		t.Helper()
		send("push", "push-1", push, "duplicate delivery")
		send("ping", "ping-1", ping, "duplicate delivery")
		w.idle()
		if got := len(w.events(cs.EventWebhookReceived)); got != received {
			t.Errorf("%s: %d webhook.received records, want %d", when, got, received)
		}
		if got := w.chat.Threads(); len(got) != len(threads) {
			t.Errorf("%s: threads %v, want %v", when, got, threads)
		}
		if got := len(w.requests()); got != requests {
			t.Errorf("%s: %d requests, want %d", when, got, requests)
		}
	}
	check("redelivered")
	w.restart()
	check("redelivered after a restart")
	// The same delivery under a new delivery ID (the header is not
	// signed) is a replay: counted, nothing done.
	send("push", "push-2", push, "ignored: the payload of delivery push-1 again under another delivery ID (1 times so far; a replay, or a second webhook): nothing done")
	// The same ref update in another payload (a second webhook's, say)
	// is a repeat all the same: audited, nothing done.
	send("push", "push-2b", append(bytes.Clone(push), '\n'), "ignored: a repeat of the push of 6113728 over 0000000 already received under another delivery ID (a replay, or a second webhook): nothing done")
	if got := len(w.requests()); got != requests {
		t.Errorf("after a replay: %d requests, want %d", got, requests)
	}
	// The same commit pushed over another head (a force-push back) is a
	// new push.
	again := bytes.Replace(push, []byte(`"before": "0000000000000000000000000000000000000000"`), []byte(`"before": "`+strings.Repeat("e", 40)+`"`), 1)
	send("push", "push-3", again, "ok: deploy threads for www, next")
}

// TestWebhook_NoDeliveryID: GitHub always sends one, but a delivery
// without it is still handled (and cannot be deduplicated).
func TestWebhook_NoDeliveryID(t *testing.T) {
	in := &hookIntake{services: []string{"www"}}
	var log bytes.Buffer
	h := hookNew(t, in, github.WebhookOptions{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	for range 2 {
		if code, text := hookServe(h, hookRequest("", "push", "", hookFixture(t, "push-branch-created.json"))); code != 200 {
			t.Fatalf("got %d %q", code, text)
		}
	}
	if len(in.pushes) != 2 || in.pushes[0].Delivery != "" {
		t.Fatalf("pushes %+v", in.pushes)
	}
	if !strings.Contains(log.String(), "X-GitHub-Delivery") {
		t.Errorf("no warning logged:\n%s", log.String())
	}
}

// TestWebhook_StoreFailure: when the delivery cannot be recorded GitHub
// is told to come back (503).
func TestWebhook_StoreFailure(t *testing.T) {
	in := &hookIntake{err: errors.New("could not write the audit trail; nothing was done")}
	h := hookNew(t, in, github.WebhookOptions{})
	for _, tc := range []struct{ event, file string }{{"push", "push-branch-created.json"}, {"ping", "ping.json"}, {"push", "push-tag-deleted.json"}} {
		code, text := hookServe(h, hookRequest("", tc.event, "d-"+tc.file, hookFixture(t, tc.file)))
		if code != http.StatusServiceUnavailable {
			t.Errorf("%s: got %d %q, want 503", tc.file, code, text)
		}
	}
	// The same with the real store, closed under the bot.
	w := hookNewWorld(t, hookService("www", hookRepo, "master"))
	w.db.Close()
	if code, text := w.deliver(hookRequest(w.srv.URL, "push", "d1", hookFixture(t, "push-branch-created.json"))); code != http.StatusServiceUnavailable {
		t.Errorf("closed store: got %d %q, want 503", code, text)
	}
	w.srv.Close()
	w.bot.Close()
	w.open = false
}

// TestWebhook_RefusalRateLimit: a flood of forged deliveries writes at
// most 20 records a minute; the next record counts the rest.
func TestWebhook_RefusalRateLimit(t *testing.T) {
	in := &hookIntake{}
	now := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	h := hookNew(t, in, github.WebhookOptions{Now: func() time.Time { return now }})
	forge := func(n int) {
		for i := range n {
			r := hookRequest("", "push", fmt.Sprintf("forged-%d", i), []byte(`{"ref":"refs/heads/live"}`))
			r.Header.Set("X-Hub-Signature-256", hookSign("guess", []byte("x")))
			if code, _ := hookServe(h, r); code != http.StatusUnauthorized {
				t.Fatalf("forged delivery: %d, want 401", code)
			}
		}
	}
	forge(25)
	if len(in.refused) != 20 {
		t.Fatalf("%d refusals audited in a minute, want 20", len(in.refused))
	}
	now = now.Add(time.Minute)
	forge(1)
	if len(in.refused) != 21 {
		t.Fatalf("%d refusals audited, want 21", len(in.refused))
	}
	if got, want := in.refused[20].Reason, "bad signature; 5 more refused before, not audited"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	if len(in.pushes)+len(in.ignored) != 0 {
		t.Errorf("forged deliveries reached the bot: %+v %+v", in.pushes, in.ignored)
	}
}

// TestWebhook_Headers: unsigned headers are clipped before they reach
// the audit trail and the store.
func TestWebhook_Headers(t *testing.T) {
	in := &hookIntake{}
	h := hookNew(t, in, github.WebhookOptions{})
	r := hookRequest("", "ping", strings.Repeat("d", 10000), hookFixture(t, "ping.json"))
	r.Header.Del("X-Hub-Signature-256")
	hookServe(h, r)
	hookServe(h, hookRequest("", strings.Repeat("e", 10000), strings.Repeat("d", 10000), hookFixture(t, "ping.json")))
	if len(in.refused) != 1 || len(in.refused[0].D.ID) > 128 || len(in.ignored) != 1 || len(in.ignored[0].D.ID) > 128 || len(in.ignored[0].D.Event) > 128 {
		t.Fatalf("refused %d, ignored %d: headers not clipped", len(in.refused), len(in.ignored))
	}
}

// TestWebhook_FormEncoded: a webhook set to
// application/x-www-form-urlencoded is verified over the raw body and
// read from its payload field.
func TestWebhook_FormEncoded(t *testing.T) {
	in := &hookIntake{services: []string{"www"}}
	body := []byte("payload=" + url.QueryEscape(string(hookFixture(t, "push-branch-created.json"))))
	r := hookRequest("", "push", "d1", body)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if code, text := hookServe(hookNew(t, in, github.WebhookOptions{}), r); code != 200 {
		t.Fatalf("got %d %q", code, text)
	}
	if len(in.pushes) != 1 || in.pushes[0].SHA != hookSHA {
		t.Fatalf("pushes %+v", in.pushes)
	}
}

func TestWebhook_Method(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/webhooks/github", nil)
	if code, _ := hookServe(hookNew(t, &hookIntake{}, github.WebhookOptions{}), r); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d, want 405", code)
	}
}
