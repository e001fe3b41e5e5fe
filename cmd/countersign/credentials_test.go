package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
	"github.com/countersign/countersign/bot/slack"
	"github.com/countersign/countersign/bot/slack/slacktest"
	"github.com/countersign/countersign/cmd/countersign/config"
)

// TestServe_ReloadSwapsCredentials drives the real loader and server: a
// stricter config with a new webhook secret, audit.token and read token
// applies them at once (the old ones are refused, nothing is named as
// needing a restart, no secret reaches the log or the trail); a looser
// config's new audit.token is refused while it waits for approval.
func TestServe_ReloadSwapsCredentials(t *testing.T) {
	dir := t.TempDir()
	sl := slacktest.New(slacktest.Options{BotToken: "xoxb-test"})
	t.Cleanup(sl.Close)
	const oldRead, newGitHub = "read-token-before-the-reload", "gh-token-after-the-reload"
	gh := githubtest.New(githubtest.Options{Token: newGitHub})
	t.Cleanup(gh.Close)
	path := serveConfig(t, dir, sl.APIURL(), rulesPolicy+"web: {read_tokens: [{name: oncall, token: "+oldRead+"}]}\n")
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	original = []byte(strings.Replace(string(original), "token: gh-token-test}", "token: gh-token-test, api_url: \""+gh.URL()+"\"}", 1))
	if err := os.WriteFile(path, original, 0o600); err != nil {
		t.Fatal(err)
	}
	status := bot.Report{Repo: "org/api", SHA: strings.Repeat("a", 40), Status: &bot.CommitStatus{Context: "countersign/api", State: "success"}}
	srv, cfg, logs := dryServer(t, path, sl)
	h := srv.http.Handler
	get := func(path, token string) int {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	body := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	deliver := func(secret, id string) int {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/github", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-GitHub-Event", "ping")
		r.Header.Set("X-GitHub-Delivery", id)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	slash := func(secret string) int {
		form := slacktest.SlashCommandPayload{Command: "/cs", Text: "help", UserID: "U0OPS0001", ChannelID: "C0DEPLOYS", TriggerID: "t1"}.Form()
		body := []byte(form.Encode())
		r := httptest.NewRequest(http.MethodPost, "/slack/commands", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range slacktest.Sign(secret, time.Now(), body) {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if slash("slack-signing-secret-test") != 200 {
		t.Fatal("before the reload, the first Slack signing secret is refused")
	}
	if _, err := srv.creds.github.Report(context.Background(), status); err == nil {
		t.Fatal("the fake GitHub took the first token: the test cannot tell the tokens apart")
	}
	if get("/audit/export", serveToken) != 200 || get("/outbox/aside", oldRead) != 200 || deliver("gh-webhook-secret-test", "d1") != 200 {
		t.Fatal("before the reload, the first credentials are refused")
	}

	const newAudit, newRead, newHook, newSlack = "audit-token-after-the-reload-0123", "read-token-after-the-reload", "gh-webhook-secret-after", "slack-signing-secret-after"
	stricter := strings.NewReplacer("group: ops, count: 1", "group: ops, count: 2", serveToken, newAudit, oldRead, newRead,
		"webhook_secret: gh-webhook-secret-test", "webhook_secret: "+newHook,
		"token: gh-token-test", "token: "+newGitHub, "signing_secret: slack-signing-secret-test", "signing_secret: "+newSlack).Replace(string(original))
	if err := os.WriteFile(path, []byte(stricter), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := srv.bot.ReloadFile(context.Background(), cs.ActorBot, nil)
	if err != nil || !out.Applied || out.Restart != nil {
		t.Fatalf("stricter reload with new secrets: %+v %v; want applied, no restart needed", out, err)
	}
	for _, tc := range []struct {
		name string
		code int
		want int
	}{
		{"old audit.token, /audit/export", get("/audit/export", serveToken), 401},
		{"old read token, /outbox/aside", get("/outbox/aside", oldRead), 401},
		{"old read token, pages", get("/", oldRead), 401},
		{"new audit.token, /audit/export", get("/audit/export", newAudit), 200},
		{"new read token, /outbox/aside", get("/outbox/aside", newRead), 200},
		{"delivery signed with the old secret", deliver("gh-webhook-secret-test", "d2"), 401},
		{"delivery signed with the new secret", deliver(newHook, "d3"), 200},
		{"slash command signed with the old secret", slash("slack-signing-secret-test"), 401},
		{"slash command signed with the new secret", slash(newSlack), 200},
	} {
		if tc.code != tc.want {
			t.Errorf("%s after the reload: %d, want %d", tc.name, tc.code, tc.want)
		}
	}

	if _, err := srv.creds.github.Report(context.Background(), status); err != nil {
		t.Errorf("a report after the reload: %v, want it sent with the new GitHub token", err)
	}
	if st := gh.Statuses(); len(st) != 1 || st[0].Credential != newGitHub {
		t.Errorf("statuses %+v, want one sent with the new GitHub token", st)
	}

	loaded := lastLoaded(t, srv)
	if got, want := loaded["secrets_changed"], []any{"audit.token", "web.read_tokens", "github.webhook_secret", "github.token", "slack.signing_secret"}; !reflect.DeepEqual(got, want) {
		t.Errorf("config.loaded secrets_changed = %v, want %v", got, want)
	}

	const looserAudit = "audit-token-of-the-looser-config-0"
	looser := strings.Replace(stricter, "group: ops, count: 2", "group: ops, count: 1", 1)
	looser = strings.Replace(looser, newAudit, looserAudit, 1)
	if err := os.WriteFile(path, []byte(looser), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = srv.bot.ReloadFile(context.Background(), cs.ActorBot, nil)
	if err != nil || out.Applied || out.Request.State != cs.StatePending {
		t.Fatalf("looser reload: %+v %v; want it pending", out, err)
	}
	if get("/audit/export", looserAudit) != 401 || get("/audit/export", newAudit) != 200 {
		t.Error("a looser config's audit.token works before the config is approved")
	}

	// Tokens the pages refuse (config check would have): nothing is
	// swapped, and the log says so without the token.
	short := *cfg
	short.Audit.Token = cs.NewSecret("audit-token-never-in-force-01234")
	short.Web.ReadTokens = []config.ReadToken{{Name: "short", Token: cs.NewSecret("shorty")}}
	srv.creds.swap(&short)
	if !strings.Contains(logs.String(), "the credentials were not replaced") || strings.Contains(logs.String(), "shorty") {
		t.Errorf("a refused swap is not logged, or logs the token:\n%s", logs.String())
	}
	if get("/audit/export", newAudit) != 200 || get("/outbox/aside", newRead) != 200 || deliver(newHook, "d4") != 200 {
		t.Error("a refused swap changed the credentials in force")
	}

	evs, err := srv.db.ListAudit(context.Background(), bot.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{newAudit, newRead, newHook, looserAudit, oldRead, newGitHub, newSlack} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds the secret %s", secret)
		}
		for _, e := range evs {
			if bytes.Contains(e.Detail, []byte(secret)) {
				t.Errorf("%s holds the secret %s", e.Kind, secret)
			}
		}
	}
}

// TestCredentials_Swappable: with its door open a credential is swapped
// and not named for a restart; with the door closed at start (no
// webhook, no pages) adding it needs a restart.
func TestCredentials_Swappable(t *testing.T) {
	running := &config.Config{Audit: config.Audit{Token: cs.NewSecret("a")}, GitHub: config.GitHub{WebhookSecret: cs.NewSecret("w")}}
	next := &config.Config{Audit: config.Audit{Token: cs.NewSecret("b")}, GitHub: config.GitHub{WebhookSecret: cs.NewSecret("v")},
		Web: config.Web{ReadTokens: []config.ReadToken{{Name: "n", Token: cs.NewSecret("t")}}}}
	closed := &credentials{}
	// (doors open: see TestServe_ReloadSwapsCredentials)
	if got := closed.restartNeeded(running, next); !reflect.DeepEqual(got, []string{"audit", "web", "github"}) {
		t.Errorf("doors closed: restart needed for %q, want audit, web, github", got)
	}

	// A GitHub client with a token swaps another token, not an App.
	gh, err := github.NewClient(github.Auth{Token: "ghp_running"}, github.Options{})
	if err != nil {
		t.Fatal(err)
	}
	open := &credentials{github: gh}
	withToken := &config.Config{GitHub: config.GitHub{Token: cs.NewSecret("ghp_running")}}
	for _, tc := range []struct {
		name string
		gh   config.GitHub
		want []string
	}{
		{"another token", config.GitHub{Token: cs.NewSecret("ghp_next")}, nil},
		{"an App", config.GitHub{AppID: 1, InstallationID: 2, PrivateKey: cs.NewSecret("pem")}, []string{"github"}},
		{"none", config.GitHub{}, []string{"github"}},
	} {
		next := &config.Config{GitHub: tc.gh}
		if got := open.restartNeeded(withToken, next); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("GitHub token to %s: restart needed for %q, want %q", tc.name, got, tc.want)
		}
	}

	// Slack: the bot token is swapped; in HTTP mode the signing secret
	// too; Socket Mode's app token takes a restart.
	sl := &credentials{slack: &slack.Client{}, adapter: &slack.Adapter{}}
	httpMode := &config.Config{Slack: config.Slack{BotToken: cs.NewSecret("xoxb-1"), SigningSecret: cs.NewSecret("s1")}}
	socket := &config.Config{Slack: config.Slack{BotToken: cs.NewSecret("xoxb-1"), AppToken: cs.NewSecret("xapp-1"), SigningSecret: cs.NewSecret("s1")}}
	for _, tc := range []struct {
		name          string
		running, next *config.Config
		want          []string
	}{
		{"HTTP mode, new bot token and signing secret", httpMode,
			&config.Config{Slack: config.Slack{BotToken: cs.NewSecret("xoxb-2"), SigningSecret: cs.NewSecret("s2")}}, nil},
		{"Socket Mode, new bot token", socket,
			&config.Config{Slack: config.Slack{BotToken: cs.NewSecret("xoxb-2"), AppToken: cs.NewSecret("xapp-1"), SigningSecret: cs.NewSecret("s1")}}, nil},
		{"Socket Mode, new app token", socket,
			&config.Config{Slack: config.Slack{BotToken: cs.NewSecret("xoxb-1"), AppToken: cs.NewSecret("xapp-2"), SigningSecret: cs.NewSecret("s1")}}, []string{"slack"}},
		{"HTTP mode to Socket Mode", httpMode, socket, []string{"slack"}},
	} {
		if got := sl.restartNeeded(tc.running, tc.next); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: restart needed for %q, want %q", tc.name, got, tc.want)
		}
	}
}

// lastLoaded is the detail of the last config.loaded record.
func lastLoaded(t *testing.T, srv *server) map[string]any {
	t.Helper()
	evs, err := srv.db.ListAudit(context.Background(), bot.EventQuery{Kind: cs.EventConfigLoaded})
	if err != nil || len(evs) == 0 {
		t.Fatalf("config.loaded records: %v %v", evs, err)
	}
	var d map[string]any
	if err := json.Unmarshal(evs[len(evs)-1].Detail, &d); err != nil {
		t.Fatal(err)
	}
	return d
}
