package e2e

// The harness of the end-to-end scenarios (TestE2E_…): the assembled
// `countersign serve`, built once per test binary run, started as a
// subprocess with a config file and driven only over its interfaces —
// signed GitHub deliveries, Slack HTTP mode, /audit/export and the CLI —
// against a local Slack (bot/slack/slacktest) and GitHub
// (bot/github/githubtest) that record everything the bot sends them, and
// against real peers (Docker Engine in swarm mode, a go-containerregistry
// registry on 127.0.0.1).
//
// A scenario looks like
//
//	reg := startRegistry(t)
//	s := newServe(t, serveOptions{
//		GitHub: githubtest.Options{Tarballs: …}, // the commits build: docker fetches
//		Config: func(p servePeers) string { return "services: …\npolicies: …" },
//	})
//	s.Push("org/web", "live", sha, "alice")
//	card := s.WaitMessage(t, hasButton(bot.ButtonApprove), time.Minute)
//	s.Click("U0OPS", bot.ButtonApprove, buttonValue(card, bot.ButtonApprove))
//	s.AuditVerify()
//
// newServe writes the part of the config every scenario needs (listen,
// db, audit token, Slack and GitHub pointing at the fakes, their
// secrets) and merges the scenario's YAML over it; it stops the bot at
// cleanup and logs its JSON log when the test failed. Kill9, Restart and
// Stop let scenarios stop and start the same bot on the same database;
// the fakes outlive restarts, so their fault injection (Down, Fail,
// RateLimit …) and records span them.
//
// The peers are small functions: startRegistry, pushWorkload,
// workloadRepo / repoTarball (a commit's tarball as GitHub serves it) in
// peers_registry_test.go, and createSwarmService, swarmState,
// waitConverged in peers_swarm_test.go.

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github/githubtest"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// Defaults of the harness.
const (
	// e2eChannel is the channel Slash commands come from unless
	// serveOptions.Channel says otherwise; scenarios use it as their
	// services' channel.
	e2eChannel = "C0E2EDEPLOY"
	// slashCommand is the bot's slash command (the config's default).
	slashCommand = "/cs"
	// e2ePusher is the GitHub login that pushes in Push: not the commit's
	// author, so that the author rule and the requester rule stay apart.
	e2ePusher = "e2e-pusher"
	// e2eLabel marks the swarm services and images the scenarios create;
	// its value is the creation time in Unix nanoseconds, by which
	// leftovers of interrupted runs are found.
	e2eLabel = "countersign.e2e"
	// pushFixture is the real push delivery Push starts from.
	pushFixture = "../bot/github/testdata/push-branch-created.json"
)

// runDirs are directories that outlive one test (the binaries built once
// per run); TestMain removes them.
var (
	runDirsMu sync.Mutex
	runDirs   []string
)

func TestMain(m *testing.M) {
	code := m.Run()
	runDirsMu.Lock()
	for _, d := range runDirs {
		os.RemoveAll(d)
	}
	runDirsMu.Unlock()
	os.Exit(code)
}

// runDir makes a directory that lasts until the test binary ends.
func runDir(t *testing.T, what string) string {
	t.Helper()
	d, err := os.MkdirTemp("", "cse2e-"+what+"-")
	if err != nil {
		t.Fatal(err)
	}
	runDirsMu.Lock()
	runDirs = append(runDirs, d)
	runDirsMu.Unlock()
	return d
}

// runOnce is a value built at most once per test binary run; a failure is
// reported to every later caller too.
type runOnce[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (o *runOnce[T]) get(t *testing.T, what string, build func() T) T {
	t.Helper()
	o.once.Do(func() {
		// build fails the test with t.Fatal: then err stays set.
		o.err = fmt.Errorf("%s failed in an earlier test of this run", what)
		start := time.Now()
		o.v = build()
		o.err = nil
		t.Logf("%-34s %5.1fs", what, time.Since(start).Seconds())
	})
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.v
}

var binaryOnce, workloadOnce runOnce[string]

// countersignBinary returns the static countersign binary (buildBinary's),
// built once per test binary run.
func countersignBinary(t *testing.T) string {
	t.Helper()
	return binaryOnce.get(t, "go build countersign", func() string { return buildBinary(t, runDir(t, "bin")) })
}

// workloadBinary returns testdata/app built static for the engine's
// Linux, once per run: the process of every workload image.
func workloadBinary(t *testing.T) []byte {
	t.Helper()
	path := workloadOnce.get(t, "go build testdata/app", func() string {
		out := filepath.Join(runDir(t, "app"), "app")
		goBuild(t, out, "./e2e/testdata/app", "..")
		return out
	})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// laps returns a function that logs how long each step took, and the
// total at cleanup.
func laps(t *testing.T) func(what string) {
	begin, step := time.Now(), time.Now()
	t.Cleanup(func() { t.Logf("%-34s %5.1fs", "total", time.Since(begin).Seconds()) })
	return func(what string) {
		t.Helper()
		t.Logf("%-34s %5.1fs", what, time.Since(step).Seconds())
		step = time.Now()
	}
}

// servePeers is what a scenario's config may refer to: the run's
// directory and the fakes newServe started.
type servePeers struct {
	Dir    string
	Slack  *slacktest.Server
	GitHub *githubtest.Server
}

// serveOptions shape a bot. Every field has a usable zero value.
type serveOptions struct {
	// Config returns YAML merged over the harness's base config
	// (mappings merge key by key, anything else replaces): services,
	// engines, groups, identities, policies, and any base key to change
	// (shutdown_grace, audit.channel, …).
	Config func(p servePeers) string
	// Slack and GitHub configure the fakes. Their tokens are set by the
	// harness when empty. githubtest copies Tarballs at start, so every
	// commit a build fetches must be here.
	Slack  slacktest.Options
	GitHub githubtest.Options
	// Channel is where Slash commands are typed (default e2eChannel).
	Channel string
	// Args are more arguments of serve (e.g. "--dry-run"); Env more
	// variables of its environment.
	Args, Env []string
}

// serveSecrets are the bot's secrets, all inline in its config. The
// harness fails the test if one of them reaches the bot's log.
type serveSecrets struct {
	AuditToken, BotToken, SigningSecret, WebhookSecret, GitHubToken string
}

func (s serveSecrets) all() []string {
	return []string{s.AuditToken, s.BotToken, s.SigningSecret, s.WebhookSecret, s.GitHubToken}
}

// serveRun is one bot: its files, its fakes and its process. Its methods
// are for the test's goroutine unless they say otherwise.
type serveRun struct {
	servePeers
	t       *testing.T
	Bin     string // the countersign binary
	Config  string // the config file
	DB      string // its database
	LogPath string // the bot's standard output and error, every start
	Token   string // a file holding the audit token, for the CLI
	Channel string
	Secrets serveSecrets

	args, env []string
	caFile    string
	seq       atomic.Int64

	mu     sync.Mutex
	url    string
	proc   *serveProc
	starts int
}

// serveProc is one start of the bot.
type serveProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	err  error         // cmd.Wait's answer, once done is closed
}

// newServe starts the fakes, writes the config and starts the bot, and
// returns when /healthz answers 200. At cleanup it stops the bot
// (SIGTERM), fails the test if a secret reached the bot's log, and logs
// the config and the log if the test failed.
func newServe(t *testing.T, o serveOptions) *serveRun {
	t.Helper()
	s := &serveRun{t: t, Bin: countersignBinary(t), Channel: o.Channel, args: o.Args, env: o.Env}
	s.Dir = t.TempDir()
	if s.Channel == "" {
		s.Channel = e2eChannel
	}
	s.Secrets = serveSecrets{
		AuditToken: "audit-" + randomHex(t, 16), BotToken: "xoxb-e2e-" + randomHex(t, 12),
		SigningSecret: randomHex(t, 16), WebhookSecret: randomHex(t, 16), GitHubToken: "ghp_" + randomHex(t, 18),
	}
	if o.Slack.BotToken == "" {
		o.Slack.BotToken = s.Secrets.BotToken
	}
	s.Secrets.BotToken = o.Slack.BotToken
	if o.GitHub.Token == "" && o.GitHub.AppID == 0 {
		o.GitHub.Token = s.Secrets.GitHubToken
	}
	s.Secrets.GitHubToken = o.GitHub.Token
	s.Slack = slacktest.New(o.Slack)
	t.Cleanup(s.Slack.Close)
	s.GitHub = githubtest.New(o.GitHub)
	t.Cleanup(s.GitHub.Close)

	s.Config, s.DB = filepath.Join(s.Dir, "countersign.yaml"), filepath.Join(s.Dir, "countersign.db")
	s.LogPath, s.Token = filepath.Join(s.Dir, "serve.log"), filepath.Join(s.Dir, "audit-token")
	s.caFile = filepath.Join(s.Dir, "slack-ca.pem")
	writeFile(t, s.caFile, certificatePEM(t, s.Slack.APIURL()))
	writeFile(t, s.Token, []byte(s.Secrets.AuditToken+"\n"))
	base := map[string]any{
		"listen":         "127.0.0.1:0",
		"db":             s.DB,
		"shutdown_grace": "15s",
		"audit":          map[string]any{"token": s.Secrets.AuditToken},
		"slack": map[string]any{"bot_token": s.Secrets.BotToken, "signing_secret": s.Secrets.SigningSecret,
			"api_url": s.Slack.APIURL()},
		"github": map[string]any{"webhook_secret": s.Secrets.WebhookSecret, "api_url": s.GitHub.URL()},
	}
	if o.GitHub.Token != "" {
		base["github"].(map[string]any)["token"] = o.GitHub.Token
	}
	if o.Config != nil {
		var overlay map[string]any
		if err := yaml.Unmarshal([]byte(o.Config(s.servePeers)), &overlay); err != nil {
			t.Fatalf("the scenario's config: %v", err)
		}
		mergeYAML(base, overlay)
	}
	cfg, err := yaml.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.Config, cfg)

	t.Cleanup(func() {
		if s.Running() {
			s.Stop()
		}
		b, _ := os.ReadFile(s.LogPath)
		for _, secret := range s.Secrets.all() {
			if secret != "" && bytes.Contains(b, []byte(secret)) {
				t.Errorf("a secret reached the bot's log (%s…)", secret[:min(len(secret), 6)])
			}
		}
		if t.Failed() {
			t.Logf("config %s:\n%s\nlog of countersign serve:\n%s", s.Config, cfg, b)
		}
	})
	s.start()
	return s
}

// TestE2EHarness_KillRestartStop checks the harness itself, without
// Docker: a slash command is answered only to its user and a delivery is
// taken; killed with SIGKILL the bot answers nothing; restarted, it is
// back on the same database (the delivery is known, the trail has grown
// and verifies); on SIGTERM it stops with exit 0.
func TestE2EHarness_KillRestartStop(t *testing.T) {
	s := newServe(t, serveOptions{})
	const user = "U0E2EUSER"
	if a := s.Slash(user, "help"); a.Status != http.StatusOK {
		t.Fatalf("/cs help: %s", a)
	}
	s.WaitReply(t, user, func(text string) bool { return strings.Contains(text, "deploy") }, 10*time.Second)
	if a := s.DeliverOnce("ping", "e2e-harness-ping", []byte(pingBody)); a.Status != http.StatusOK {
		t.Fatalf("ping: %s", a)
	}
	before, _ := s.AuditVerify()

	s.Kill9()
	if a := s.DeliverOnce("ping", "e2e-harness-ping-2", []byte(pingBody)); a.Err == nil {
		t.Errorf("a killed bot answered %s", a)
	}
	s.Restart()
	if a := s.Deliver("ping", "e2e-harness-ping", []byte(pingBody)); !strings.Contains(a.Body, "duplicate") {
		t.Errorf("redelivery after kill -9 and restart: %s, want a duplicate", a)
	}
	if after, _ := s.AuditVerify(); after <= before {
		t.Errorf("after the restart the trail has %d records, before %d", after, before)
	}
	s.Stop()
	if s.Running() || s.URL() != "" {
		t.Errorf("after Stop: running %v, URL %q", s.Running(), s.URL())
	}
}

// mergeYAML merges over into base: mappings key by key, anything else
// replaced.
func mergeYAML(base, over map[string]any) {
	for k, v := range over {
		if sub, ok := v.(map[string]any); ok {
			if into, ok := base[k].(map[string]any); ok {
				mergeYAML(into, sub)
				continue
			}
		}
		base[k] = v
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// certificatePEM returns the certificate the TLS server at rawURL shows:
// the bot trusts it through SSL_CERT_FILE, as it trusts a CA bundle.
func certificatePEM(t *testing.T, rawURL string) []byte {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("fake Slack: %v", err)
	}
	defer conn.Close()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: conn.ConnectionState().PeerCertificates[0].Raw})
}

// start starts the bot and waits until it serves.
func (s *serveRun) start() {
	t := s.t
	t.Helper()
	f, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	s.starts++
	args := append([]string{"serve", "--config", s.Config}, s.args...)
	fmt.Fprintf(f, "--- start %d: countersign %s\n", s.starts, strings.Join(args, " "))
	from, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.Bin, args...)
	cmd.Dir = s.Dir
	cmd.Env = append(append(os.Environ(), "SSL_CERT_FILE="+s.caFile), s.env...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Start()
	f.Close() // the child has its own copy
	if err != nil {
		t.Fatalf("start countersign serve: %v", err)
	}
	p := &serveProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.mu.Lock()
	s.proc, s.url = p, ""
	s.mu.Unlock()
	addr := s.waitReady(p, from)
	s.mu.Lock()
	s.url = "http://" + addr
	s.mu.Unlock()
}

// waitReady waits for the "serving" line of the log written from offset
// from, then for /healthz to answer 200, and returns the address.
func (s *serveRun) waitReady(p *serveProc, from int64) string {
	t := s.t
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	addr := ""
	for {
		select {
		case <-p.done:
			t.Fatalf("countersign serve exited at start: %v\n%s", p.err, s.logFrom(from))
		default:
		}
		if addr == "" {
			addr = servingAddr(s.logFrom(from))
		}
		if addr != "" {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return addr
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("countersign serve not healthy after 30s (addr %q)", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// servingAddr finds the address in the bot's "serving" log record.
func servingAddr(logText string) string {
	sc := bufio.NewScanner(strings.NewReader(logText))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "serving" {
			return rec.Addr
		}
	}
	return ""
}

func (s *serveRun) logFrom(from int64) string {
	b, _ := os.ReadFile(s.LogPath)
	if int64(len(b)) < from {
		return ""
	}
	return string(b[from:])
}

// Log returns everything the bot wrote, every start.
func (s *serveRun) Log() string {
	return s.logFrom(0)
}

// URL is the base URL of the running bot ("" while it is stopped); a
// restart may change its port. Safe for concurrent use.
func (s *serveRun) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Running reports whether the bot's process is running. Safe for
// concurrent use.
func (s *serveRun) Running() bool {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM and waits for the bot to exit (a minute at most,
// then SIGKILL); it fails the test unless the bot exits 0.
func (s *serveRun) Stop() {
	s.t.Helper()
	p := s.take()
	if p == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		<-p.done
		s.t.Errorf("countersign serve still ran a minute after SIGTERM; killed")
	}
	if p.err != nil {
		s.t.Errorf("countersign serve after SIGTERM: %v, want exit 0", p.err)
	}
}

// Kill9 kills the bot with SIGKILL and waits for it to be gone: nothing
// of it runs its shutdown.
func (s *serveRun) Kill9() {
	s.t.Helper()
	p := s.take()
	if p == nil {
		s.t.Fatal("Kill9: the bot is not running")
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Restart starts the bot again with the same config and database,
// stopping it first (SIGTERM) if it runs, and returns when it is healthy.
func (s *serveRun) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// take returns the process, if any, and forgets it.
func (s *serveRun) take() *serveProc {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	s.proc, s.url = nil, ""
	return p
}

// answer is the bot's answer to one request. Err is set when there was
// no answer (connection refused while the bot is down, a timeout).
type answer struct {
	Status int
	Body   string
	Err    error
}

func (a answer) String() string {
	if a.Err != nil {
		return a.Err.Error()
	}
	return fmt.Sprintf("%d %q", a.Status, strings.TrimSpace(a.Body))
}

var serveClient = &http.Client{Timeout: 30 * time.Second}

// post sends body to path of the running bot with header.
func (s *serveRun) post(path string, header http.Header, body []byte) answer {
	req, err := http.NewRequest(http.MethodPost, s.URL()+path, bytes.NewReader(body))
	if err != nil {
		return answer{Err: err}
	}
	maps.Copy(req.Header, header)
	resp, err := serveClient.Do(req)
	if err != nil {
		return answer{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, Body: string(b), Err: err}
}

// SlackPost posts form to path (/slack/commands, /slack/interactions)
// signed as Slack signs it, with the signing secret and the current
// time. Safe for concurrent use.
func (s *serveRun) SlackPost(path string, form url.Values) answer {
	body := []byte(form.Encode())
	h := slacktest.Sign(s.Secrets.SigningSecret, time.Now(), body)
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.post(path, h, body)
}

// next returns a number unique in the run, for trigger IDs, action
// timestamps and response URLs: the adapter drops a repeated trigger or
// action as a Slack retry.
func (s *serveRun) next() int64 { return s.seq.Add(1) }

// replyID names a response_url by the user it answers.
func replyID(user string, n int64) string { return fmt.Sprintf("%s#%d", user, n) }

// Slash is user typing `/cs TEXT` in the run's channel. Safe for
// concurrent use.
func (s *serveRun) Slash(user, text string) answer { return s.SlashIn(s.Channel, user, text) }

// SlashIn is user typing `/cs TEXT` in channel (a D… channel is a DM).
// Safe for concurrent use.
func (s *serveRun) SlashIn(channel, user, text string) answer {
	n := s.next()
	p := slacktest.SlashCommandPayload{
		Command: slashCommand, Text: text, UserID: user, UserName: strings.ToLower(user), ChannelID: channel,
		TriggerID: fmt.Sprintf("%d.%d.e2e", time.Now().Unix(), n), ResponseURL: s.Slack.ResponseURL(replyID(user, n)),
	}
	return s.SlackPost("/slack/commands", p.Form())
}

// button is an interactive element of a message the bot posted.
type button struct {
	BlockID, ActionID, Value, Text string
}

// buttonsOf returns the buttons in m's blocks.
func buttonsOf(m slacktest.Message) []button {
	var blocks []struct {
		BlockID   string            `json:"block_id"`
		Elements  []json.RawMessage `json:"elements"`
		Accessory json.RawMessage   `json:"accessory"`
	}
	if json.Unmarshal(m.Blocks, &blocks) != nil {
		return nil
	}
	var out []button
	for _, b := range blocks {
		for _, raw := range append(b.Elements, b.Accessory) {
			var el struct {
				Type     string `json:"type"`
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
				Text     struct{ Text string }
			}
			if json.Unmarshal(raw, &el) == nil && el.Type == "button" {
				out = append(out, button{BlockID: b.BlockID, ActionID: el.ActionID, Value: el.Value, Text: el.Text.Text})
			}
		}
	}
	return out
}

// buttonValue returns the value of m's button with action ID action, or "".
func buttonValue(m slacktest.Message, action string) string {
	for _, b := range buttonsOf(m) {
		if b.ActionID == action {
			return b.Value
		}
	}
	return ""
}

// hasButton is a WaitMessage predicate: a message with a button of
// action ID action.
func hasButton(action string) func(slacktest.Message) bool {
	return func(m slacktest.Message) bool { return buttonValue(m, action) != "" }
}

// Click is user clicking the button with action ID action and value on
// the message that carries it (its current version, else an earlier one
// from its history, as a client still showing it would). Safe for
// concurrent use.
func (s *serveRun) Click(user, action, value string) answer {
	for _, m := range s.Messages() {
		versions := append([]slacktest.Message{m}, m.History...)
		slices.Reverse(versions[1:]) // the newest earlier version first
		for _, v := range versions {
			for _, b := range buttonsOf(v) {
				if b.ActionID == action && b.Value == value {
					v.Channel, v.TS, v.ThreadTS = m.Channel, m.TS, m.ThreadTS
					return s.ClickOn(v, b, user)
				}
			}
		}
	}
	return answer{Err: fmt.Errorf("no message the bot posted has a %s button with value %q", action, value)}
}

// ClickOn is user clicking b on m, sent as Slack sends a block_actions
// interaction: the message's blocks, a fresh trigger and action_ts, and
// a response_url of the fake. Safe for concurrent use.
func (s *serveRun) ClickOn(m slacktest.Message, b button, user string) answer {
	n := s.next()
	p := slacktest.BlockActionPayload{
		UserID: user, UserName: strings.ToLower(user), ChannelID: m.Channel,
		MessageTS: m.TS, ThreadTS: m.ThreadTS, MessageText: m.Text, Blocks: m.Blocks,
		TriggerID:   fmt.Sprintf("%d.%d.e2e", time.Now().Unix(), n),
		ResponseURL: s.Slack.ResponseURL(replyID(user, n)),
		Actions: []slacktest.Action{{ActionID: b.ActionID, BlockID: b.BlockID, Value: b.Value, Text: b.Text,
			ActionTS: fmt.Sprintf("%d.%06d", time.Now().Unix(), n%1e6)}},
	}
	return s.SlackPost("/slack/interactions", p.Form())
}

// Approve is user clicking Approve with value (bot.ButtonValue of the
// request's buttons); the bot must answer 200.
func (s *serveRun) Approve(t testing.TB, user, value string) {
	t.Helper()
	if a := s.Click(user, bot.ButtonApprove, value); a.Status != http.StatusOK {
		t.Fatalf("%s's click on %s: %s", user, value, a)
	}
}

// NoExecution fails the test if request rid has started executing.
func (s *serveRun) NoExecution(t testing.TB, rid string) {
	t.Helper()
	for _, r := range s.Audit() {
		if r.Request == rid && strings.HasPrefix(r.Kind, "execution.") {
			t.Fatalf("%s: %s, want no execution yet", rid, r.Kind)
		}
	}
}

// Messages returns every message the bot posted (as it stands after its
// edits), channel by channel in the order the channels were first posted
// to. Safe for concurrent use.
func (s *serveRun) Messages() []slacktest.Message {
	var channels []string
	for _, c := range s.Slack.Calls() {
		if ch := c.Form.Get("channel"); c.Method == "chat.postMessage" && c.OK && !slices.Contains(channels, ch) {
			channels = append(channels, ch)
		}
	}
	var out []slacktest.Message
	for _, ch := range channels {
		out = append(out, s.Slack.Messages(ch)...)
	}
	return out
}

// WaitMessage waits for a message the bot posted (or edited into shape)
// for which pred holds, and returns it; after timeout it fails t with
// what the bot did post.
func (s *serveRun) WaitMessage(t testing.TB, pred func(slacktest.Message) bool, timeout time.Duration) slacktest.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := s.Messages()
		for _, m := range msgs {
			if pred(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, m := range msgs {
				fmt.Fprintf(&b, "  [%s %s thread %q] %s\n", m.Channel, m.TS, m.ThreadTS, m.Text)
			}
			t.Fatalf("no such message after %s; the bot posted:\n%s", timeout, b.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Replies returns the texts only user was shown: chat.postEphemeral to
// user and posts to response URLs of user's commands and clicks. Safe
// for concurrent use.
func (s *serveRun) Replies(user string) []string {
	var out []string
	for _, e := range s.Slack.Ephemerals() {
		if e.User == user {
			out = append(out, e.Text)
		}
	}
	for _, r := range s.Slack.Responses() {
		if u, _, _ := strings.Cut(r.ID, "#"); u == user && r.ResponseType != "in_channel" {
			out = append(out, r.Text)
		}
	}
	return out
}

// WaitReply waits for a reply only user sees (see Replies) for which
// pred holds, and returns its text; after timeout it fails t.
func (s *serveRun) WaitReply(t testing.TB, user string, pred func(text string) bool, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := s.Replies(user)
		for _, text := range got {
			if pred(text) {
				return text
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no such reply to %s after %s; %s was shown %q", user, timeout, user, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Deliver sends a GitHub delivery signed with the webhook secret
// (existing deliver: it retries while the bot cannot be reached, then
// fails the test; call it from the test's goroutine only).
func (s *serveRun) Deliver(event, id string, body []byte) answer {
	s.t.Helper()
	code, text := deliver(s.t, s.URL(), s.Secrets.WebhookSecret, event, id, body)
	return answer{Status: code, Body: text}
}

// DeliverOnce sends a GitHub delivery signed with the webhook secret,
// once, and returns what came back (Err while the bot cannot be
// reached). Unlike Deliver it is safe for concurrent use, for scenarios
// that send many deliveries at once or while the bot is down.
func (s *serveRun) DeliverOnce(event, id string, body []byte) answer {
	mac := hmac.New(sha256.New, []byte(s.Secrets.WebhookSecret))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-GitHub-Event", event)
	h.Set("X-GitHub-Delivery", id)
	h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	return s.post("/webhooks/github", h, body)
}

// pushEvent is what a push delivery says.
type pushEvent struct {
	Repo, Branch, SHA string
	Author            string // head_commit.author.username
	Pusher            string // pusher.name and sender.login (default e2ePusher)
	Message           string // the commit message (default "e2e: change")
}

// Push delivers a push of commit sha of repo to branch, authored by the
// GitHub login author and pushed by e2ePusher, as a fresh delivery.
func (s *serveRun) Push(repo, branch, sha, author string) answer {
	s.t.Helper()
	return s.Deliver("push", "e2e-"+randomHex(s.t, 8), pushBody(s.t, pushEvent{Repo: repo, Branch: branch, SHA: sha, Author: author}))
}

// pushBody is GitHub's push delivery pushFixture rewritten to say p.
func pushBody(t *testing.T, p pushEvent) []byte {
	t.Helper()
	if p.Pusher == "" {
		p.Pusher = e2ePusher
	}
	if p.Message == "" {
		p.Message = "e2e: change"
	}
	b, err := os.ReadFile(pushFixture)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", pushFixture, err)
	}
	owner, repoName, _ := strings.Cut(p.Repo, "/")
	obj := func(m map[string]any, key string) map[string]any {
		o, ok := m[key].(map[string]any)
		if !ok {
			t.Fatalf("%s has no object %s", pushFixture, key)
		}
		return o
	}
	before := randomHex(t, 20)
	ev["ref"], ev["before"], ev["after"], ev["created"] = "refs/heads/"+p.Branch, before, p.SHA, false
	ev["compare"] = fmt.Sprintf("https://github.com/%s/compare/%s...%s", p.Repo, before[:12], p.SHA[:12])
	r := obj(ev, "repository")
	r["name"], r["full_name"] = repoName, p.Repo
	r["html_url"], r["url"] = "https://github.com/"+p.Repo, "https://github.com/"+p.Repo
	obj(r, "owner")["login"], obj(r, "owner")["name"] = owner, owner
	obj(ev, "pusher")["name"], obj(ev, "pusher")["email"] = p.Pusher, p.Pusher+"@users.noreply.github.com"
	obj(ev, "sender")["login"] = p.Pusher
	hc := obj(ev, "head_commit")
	hc["id"], hc["tree_id"], hc["message"] = p.SHA, randomHex(t, 20), p.Message
	hc["url"] = "https://github.com/" + p.Repo + "/commit/" + p.SHA
	for _, who := range []string{"author", "committer"} {
		person := obj(hc, who)
		person["name"], person["username"], person["email"] = p.Author, p.Author, p.Author+"@users.noreply.github.com"
	}
	ev["commits"] = []any{hc}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// auditRecord is one record of `countersign audit export`, in the fixed
// schema the README documents (seq, time, kind, actor, request, action,
// target, detail, prev, hash).
type auditRecord struct {
	Seq     int             `json:"seq"`
	Time    time.Time       `json:"time"`
	Kind    string          `json:"kind"`
	Actor   string          `json:"actor"`
	Request string          `json:"request"`
	Action  string          `json:"action"`
	Target  string          `json:"target"`
	Detail  json.RawMessage `json:"detail"`
	Prev    string          `json:"prev"`
	Hash    string          `json:"hash"`
}

// countersign runs the binary with args and returns its standard output
// and error, and its exit code.
func (s *serveRun) countersign(args ...string) (string, int) {
	out, err := exec.Command(s.Bin, args...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		s.t.Fatalf("countersign %s: %v", strings.Join(args, " "), err)
	}
	return string(out), 0
}

var verifyOK = regexp.MustCompile(`OK: ([0-9]+) records, head ([0-9a-f]{64})`)

// AuditVerify runs `countersign audit verify --server URL --token-file F`
// against the running bot, fails the test unless it exits 0, and returns
// the record count and head hash it prints.
func (s *serveRun) AuditVerify() (count int, head string) {
	s.t.Helper()
	out, code := s.countersign("audit", "verify", "--server", s.URL(), "--token-file", s.Token)
	m := verifyOK.FindStringSubmatch(out)
	if code != 0 || m == nil {
		s.t.Fatalf("countersign audit verify --server: exit %d, want 0 and OK: N records, head H:\n%s", code, out)
	}
	count, _ = strconv.Atoi(m[1])
	return count, m[2]
}

// Audit returns the trail as `countersign audit export --server` writes
// it, failing the test unless it exits 0.
func (s *serveRun) Audit() []auditRecord {
	s.t.Helper()
	cmd := exec.Command(s.Bin, "audit", "export", "--server", s.URL(), "--token-file", s.Token)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s.t.Fatalf("countersign audit export --server: %v\n%s", err, stderr.String())
	}
	var recs []auditRecord
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r auditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			s.t.Fatalf("audit export line %d: %v: %s", i+1, err, line)
		}
		recs = append(recs, r)
	}
	return recs
}

// WaitAudit waits until the trail holds a record for which pred holds
// and returns it; after timeout it fails the test with the kinds it
// holds.
func (s *serveRun) WaitAudit(pred func(auditRecord) bool, timeout time.Duration) auditRecord {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		recs := s.Audit()
		for _, r := range recs {
			if pred(r) {
				return r
			}
		}
		if time.Now().After(deadline) {
			var kinds []string
			for _, r := range recs {
				kinds = append(kinds, fmt.Sprintf("%d:%s:%s:%s", r.Seq, r.Kind, r.Request, r.Actor))
			}
			s.t.Fatalf("no such audit record after %s; the trail holds %s", timeout, strings.Join(kinds, " "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
