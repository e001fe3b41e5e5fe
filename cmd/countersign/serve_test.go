package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot/slack/slacktest"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/bot/store/storetest"
	"github.com/countersign/countersign/cmd/countersign/config"
)

const (
	serveToken     = "audit-token-for-tests-0123456789"
	serveReadToken = "read-token-for-tests-0123456789"
)

// serveConfig writes a config that `serve` accepts: every secret it needs, inline.
func serveConfig(t *testing.T, dir string, slackURL string, extra string) string {
	t.Helper()
	cfg := `listen: 127.0.0.1:0
db: ` + filepath.Join(dir, "serve.db") + `
audit: {token: ` + serveToken + `}
slack: {bot_token: xoxb-test, signing_secret: slack-signing-secret-test, api_url: "SLACKURL"}
github: {webhook_secret: gh-webhook-secret-test, token: gh-token-test}
engines:
  local: {host: "unix:///var/run/docker.sock"}
services:
  - name: api
    kind: swarm
    repo: org/api
    branch: live
    channel: C0DEPLOYS
    image: registry.example.org/org/api
    build: {mode: wait, tag: "{{.SHA}}", timeout: 1m}
    engine: local
groups:
  ops: [U0OPS0001, U0OPS0002]
policies:
  - name: production
    actions: [deploy, rollback, scale]
    targets: ["*"]
    request: [group:ops, push]
    approve: [{group: ops, count: 1}]
` + extra
	path := filepath.Join(dir, "countersign.yaml")
	cfg = strings.ReplaceAll(cfg, "SLACKURL", slackURL)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// dryServer loads the config at path and starts a dry-run server on the
// fake Slack sl, closed when the test ends. Its log goes to the buffer
// returned, for the tests that look for secrets in it.
func dryServer(t *testing.T, path string, sl *slacktest.Server) (*server, *config.Config, *bytes.Buffer) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	srv, err := newServer(context.Background(), cfg, true, slog.New(slog.NewTextHandler(&logs, nil)), serveDeps{SlackHTTP: sl.HTTPClient(), SlackDialer: sl.Dialer()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, cfg, &logs
}

func startServer(t *testing.T) (url string, db string, stop func()) {
	t.Helper()
	return startServerWith(t, "", nil)
}

// startServerWith is startServer with extra appended to the config and
// then edit, if not nil, applied to the file's text.
func startServerWith(t *testing.T, extra string, edit func(string) string) (url string, db string, stop func()) {
	t.Helper()
	dir := t.TempDir()
	sl := slacktest.New(slacktest.Options{BotToken: "xoxb-test"})
	t.Cleanup(sl.Close)
	path := serveConfig(t, dir, sl.APIURL(), extra)
	if edit != nil {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(edit(string(b))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	srv, err := newServer(context.Background(), cfg, true, slog.New(slog.NewTextHandler(&logs, nil)), serveDeps{SlackHTTP: sl.HTTPClient(), SlackDialer: sl.Dialer()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not shut down")
		}
		for _, secret := range []string{serveToken, serveReadToken, "xoxb-test", "slack-signing-secret-test", "gh-webhook-secret-test", "gh-token-test"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("a secret reached the log: %s", secret)
			}
		}
	}
	return "http://" + ln.Addr().String(), cfg.DB, stop
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServe_HTTP(t *testing.T) {
	url, dbPath, stop := startServer(t)
	defer stop()

	if code, body := get(t, url+"/healthz", ""); code != 200 || !strings.HasPrefix(body, "ok\nslack: connected") {
		t.Errorf("healthz = %d %q", code, body)
	}
	if code, body := get(t, url+"/metrics", ""); code != 200 || !strings.Contains(body, `countersign_open_requests{state="pending"} 0`) || !strings.Contains(body, "go_goroutines") ||
		!strings.Contains(body, `countersign_slack_api_calls_total{method="auth.test",result="ok"} 1`) {
		t.Errorf("metrics = %d\n%s", code, body)
	}
	// GitHub deliveries: a signed ping is taken, an unsigned one refused.
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	for _, tc := range []struct {
		sign bool
		want int
	}{{true, 200}, {false, 401}} {
		req, _ := http.NewRequest("POST", url+"/webhooks/github", bytes.NewReader(ping))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "ping")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("ping-%v", tc.sign))
		if tc.sign {
			mac := hmac.New(sha256.New, []byte("gh-webhook-secret-test"))
			mac.Write(ping)
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("ping signed=%v: %d, want %d", tc.sign, resp.StatusCode, tc.want)
		}
	}
	// Slack HTTP mode is served and refuses what Slack did not sign.
	for _, path := range []string{"/slack/commands", "/slack/interactions"} {
		resp, err := http.Post(url+path, "application/x-www-form-urlencoded", strings.NewReader("command=%2Fcs&text=help&user_id=U0OPS0001"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("unsigned %s = %d, want 401", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/audit/export", "/backup"} {
		if code, _ := get(t, url+path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without token = %d, want 401", path, code)
		}
		if code, _ := get(t, url+path, "wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token = %d, want 401", path, code)
		}
	}
	// The scheme is case-insensitive (RFC 7235); unknown filters are refused.
	req, _ := http.NewRequest("GET", url+"/audit/export", nil)
	req.Header.Set("Authorization", "bearer "+serveToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("lower-case bearer: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	if code, body := get(t, url+"/audit/export?taget=www", serveToken); code != http.StatusBadRequest || !strings.Contains(body, `unknown query parameter "taget"`) {
		t.Errorf("unknown filter: %d %q", code, body)
	}
	code, body := get(t, url+"/audit/export", serveToken)
	if code != 200 || !strings.Contains(body, `"kind":"config.loaded"`) {
		t.Fatalf("export = %d %q", code, body)
	}
	if n, _, err := store.VerifyLines(strings.NewReader(body)); err != nil || n == 0 {
		t.Errorf("exported lines verify: %d, %v", n, err)
	}
	if code, body := get(t, url+"/audit/export?kind=config.loaded&limit=1", serveToken); code != 200 || strings.Count(body, "\n") != 1 {
		t.Errorf("filtered export = %d %q", code, body)
	}
	if code, body := get(t, url+"/audit/export?since=yesterday", serveToken); code != 400 || !strings.Contains(body, "since") {
		t.Errorf("bad filter = %d %q", code, body)
	}
	if code, _ := get(t, url+"/webhooks/github", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET webhook = %d", code)
	}

	// The CLI against the running bot: --db fails at once and names --server; --server works.
	env := map[string]string{"COUNTERSIGN_AUDIT_TOKEN": serveToken}
	start := time.Now()
	code, _, errOut := run(t, "", nil, "audit", "verify", "--db", dbPath)
	if code != exitFail || !strings.Contains(errOut, "--server") {
		t.Errorf("audit verify --db on a held file: %d %q", code, errOut)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("audit verify --db on a held file took %s", took)
	}
	code, out, errOut := run(t, "", env, "audit", "verify", "--server", url)
	if code != exitOK || !strings.HasPrefix(out, "OK: ") {
		t.Errorf("audit verify --server: %d %q %q", code, out, errOut)
	}
	if i := strings.Index(out, "anchor: "); i < 0 {
		t.Errorf("verify --server printed no anchor: %q", out)
	} else {
		a := strings.TrimSuffix(strings.TrimSpace(out[i+len("anchor: "):]), ")")
		if code, _, errOut := run(t, "", env, "audit", "verify", "--server", url, "--anchor", a); code != exitOK {
			t.Errorf("verify --server --anchor %s: %d %q", a, code, errOut)
		}
	}
	if code, out, _ := run(t, "", env, "audit", "list", "--server", url, "--kind", "config.loaded"); code != exitOK || !strings.Contains(out, "config.loaded") {
		t.Errorf("audit list --server: %d %q", code, out)
	}
	if code, _, errOut := run(t, "", nil, "audit", "verify", "--server", url); code != exitFail || !strings.Contains(errOut, "token") {
		t.Errorf("audit verify --server without token: %d %q", code, errOut)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if code, _, errOut := run(t, "", env, "backup", "--server", url, "--out", backup); code != exitOK {
		t.Fatalf("backup: %d %q", code, errOut)
	}
	if code, out, errOut := run(t, "", nil, "audit", "verify", "--db", backup); code != exitOK {
		t.Errorf("verify of the backup: %d %q %q", code, out, errOut)
	}
}

func TestServe_MissingSecretStopsStartup(t *testing.T) {
	dir := t.TempDir()
	path := serveConfig(t, dir, "https://slack.invalid/api/", "")
	b, _ := os.ReadFile(path)
	b = bytes.Replace(b, []byte("audit: {token: "+serveToken+"}\n"), nil, 1)
	os.WriteFile(path, b, 0o600)
	code, _, errOut := run(t, "", nil, "serve", "--config", path, "--dry-run")
	if code != exitFail || !strings.Contains(errOut, "audit.token") {
		t.Errorf("serve without audit.token: %d %q", code, errOut)
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := serveConfig(t, dir, "https://slack.invalid/api/", "")
	if code, out, errOut := run(t, "", nil, "config", "check", "--config", good, "--serve"); code != exitOK || !strings.Contains(out, "OK") {
		t.Errorf("good config: %d %q %q", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`listen: 127.0.0.1:8080
db: x.db
colour: blue
services:
  - name: "www; rm -rf /"
    kind: swarm
    channel: C0DEPLOYS
    image: r/x
    engine: nosuch
policies:
  - name: p
    actions: [deploi]
    targets: ["*"]
    request: [group:nobody]
`), 0o600)
	code, out, _ := run(t, "", nil, "config", "check", "--config", bad)
	if code != exitFail {
		t.Errorf("bad config: exit %d, want 1", code)
	}
	for _, want := range []string{"colour:", "services[0].name:", "services[0].engine:", "policies[0].actions[0]:", "policies[0].request[0]:"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check output lacks %q:\n%s", want, out)
		}
	}
	if code, _, _ := run(t, "", nil, "config", "check", "--config", filepath.Join(dir, "missing.yaml")); code != exitFail {
		t.Errorf("missing file: exit %d", code)
	}
}

// TestServe_SlackProblemsStopStartup: a token Slack refuses, or a bot not
// in a service's channel, stops serve with the fix named.
func TestServe_SlackProblemsStopStartup(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts slacktest.Options
		want string
	}{
		{"token refused", slacktest.Options{BotToken: "xoxb-other"}, "the bot token does not work"},
		{"not in channel", slacktest.Options{BotToken: "xoxb-test", Members: map[string]bool{"C0DEPLOYS": false}}, "/invite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sl := slacktest.New(tc.opts)
			defer sl.Close()
			cfg, err := config.Load(serveConfig(t, t.TempDir(), sl.APIURL(), ""))
			if err != nil {
				t.Fatal(err)
			}
			srv, err := newServer(context.Background(), cfg, true, slog.New(slog.DiscardHandler), serveDeps{SlackHTTP: sl.HTTPClient()})
			if err == nil {
				srv.Close()
				t.Fatal("serve started")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "xoxb-test") {
				t.Errorf("error %q, want it to say %q and not show the token", err, tc.want)
			}
		})
	}
}

// TestServe_PortInUseLeavesNoRecord: the port is bound before the bot
// starts, so a failed start writes nothing to the audit trail.
func TestServe_PortInUseLeavesNoRecord(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	path := serveConfig(t, dir, "https://slack.invalid/api/", "")
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte("listen: 127.0.0.1:0"), []byte("listen: "+ln.Addr().String()), 1), 0o600)
	code, _, errOut := run(t, "", nil, "serve", "--config", path, "--dry-run")
	if code != exitFail || !strings.Contains(errOut, "listen:") {
		t.Fatalf("serve on a busy port: %d %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "serve.db")); !os.IsNotExist(err) {
		t.Errorf("the database was opened (and config.loaded written) before the port was bound: %v", err)
	}
}

// TestServe_HealthzSaysTheDatabaseCannotWrite: on a full disk /healthz
// answered 200 ok while every write failed. It answers 503 and says why,
// and 200 again once the store writes.
func TestServe_HealthzSaysTheDatabaseCannotWrite(t *testing.T) {
	disk := storetest.SmallDisk(t, "4m")
	url, dbPath, stop := startServerWith(t, "", func(cfg string) string {
		return regexp.MustCompile(`(?m)^db: .*$`).ReplaceAllString(cfg, "db: "+filepath.Join(disk, "serve.db"))
	})
	defer stop()
	if filepath.Dir(dbPath) != disk {
		t.Fatalf("the database %s is not on the small disk", dbPath)
	}
	if code, body := get(t, url+"/healthz", ""); code != 200 {
		t.Fatalf("healthz before the disk filled = %d %q", code, body)
	}
	free := storetest.Fill(t, filepath.Join(disk, "filler"))
	if code, body := get(t, url+"/healthz", ""); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, "database: the database cannot write") || !strings.Contains(body, "no space left on device") {
		t.Errorf("healthz on a full disk = %d %q, want 503 saying the database cannot write and why", code, body)
	}
	// Deliveries are recorded until one needs a page the disk has not
	// got; once the disk has room, the next one is.
	failed := false
	for i := 0; i < 100 && !failed; i++ {
		failed = signedPing(t, url, fmt.Sprint("full-", i)) == http.StatusServiceUnavailable
	}
	if !failed {
		t.Fatal("100 deliveries were recorded on a full disk")
	}
	free()
	if code, body := get(t, url+"/healthz", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "the last commit failed") {
		t.Errorf("healthz once the disk has room, before a commit succeeded = %d %q", code, body)
	}
	if code := signedPing(t, url, "room"); code != http.StatusOK {
		t.Errorf("a delivery once the disk has room = %d, want 200", code)
	}
	if code, body := get(t, url+"/healthz", ""); code != 200 || !strings.HasPrefix(body, "ok\n") {
		t.Errorf("healthz once a commit succeeded = %d %q", code, body)
	}
}

// signedPing delivers a GitHub ping and returns the status code.
func signedPing(t *testing.T, url, delivery string) int {
	t.Helper()
	ping := fmt.Appendf(nil, `{"zen":%q,"hook_id":1}`, "Keep it logically awesome.")
	req, _ := http.NewRequest("POST", url+"/webhooks/github", bytes.NewReader(ping))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "ping")
	req.Header.Set("X-GitHub-Delivery", delivery)
	mac := hmac.New(sha256.New, []byte("gh-webhook-secret-test"))
	mac.Write(ping)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
