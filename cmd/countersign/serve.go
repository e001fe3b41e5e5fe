package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/slack"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/cmd/countersign/config"
	"github.com/countersign/countersign/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serve runs `countersign serve --config FILE [--dry-run]` until SIGTERM.
func (m *Main) serve(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	path := fs.String("config", "", "config file (required)")
	dryRun := fs.Bool("dry-run", false, "executors describe what they would do instead of doing it")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *path == "" {
		fmt.Fprintln(m.Stderr, "usage: countersign serve --config FILE [--dry-run]")
		return exitUsage
	}
	log := slog.New(slog.NewJSONHandler(m.Stderr, nil))
	// SIGHUP's default action would end the bot while it starts; once it
	// serves, SIGHUP reloads the config (watchHangup).
	signal.Ignore(syscall.SIGHUP)
	cfg, err := loadConfig(ctx, config.Options{CheckFiles: true}, *path)
	if err == nil {
		err = cfg.CheckServe() // a missing secret stops start-up
	}
	if err != nil {
		return m.failf("%v", err)
	}
	for _, w := range cfg.Warnings {
		log.Warn("config", "warning", w.String())
	}
	// Bind first: a port in use must fail before config.loaded is audited.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return m.failf("listen: %v", err)
	}
	srv, err := newServer(ctx, cfg, *dryRun, log, serveDeps{})
	if err != nil {
		ln.Close()
		return m.failf("%v", err)
	}
	log.Info("serving", "addr", ln.Addr().String(), "dry_run", *dryRun, "config", cfg.Path, "config_hash", cfg.Hash)
	if err := srv.Serve(ctx, ln); err != nil {
		return m.failf("%v", err)
	}
	return exitOK
}

// server is the running bot with its HTTP interface.
type server struct {
	cfg   *config.Config
	db    *store.DB
	bot   *bot.Bot
	slack *slack.Adapter
	// webhook takes GitHub deliveries; nil without github.webhook_secret.
	webhook *github.Webhook
	// web serves the read-only pages; nil when nobody could sign in (no
	// read token, no trusted proxy).
	web *web.Server
	// guard limits and audits wrong secrets, on the pages and here.
	guard *web.Guard
	execs *executors
	http  *http.Server
	reg   *prometheus.Registry
	log   *slog.Logger
	// poll is how often the bot reads branch heads (0: never).
	poll  time.Duration
	loops sync.WaitGroup
	stop  context.CancelFunc
	// creds are the secrets a reload swaps (audit.token, …).
	creds *credentials
}

// serveDeps are what tests replace: how Slack is reached, and how long
// the start-up checks of Slack and GitHub may take (default
// startupCheckTimeout each).
type serveDeps struct {
	SlackHTTP    *http.Client
	SlackDialer  *websocket.Dialer
	CheckTimeout time.Duration
}

// startupCheckTimeout bounds each of the start-up checks, so that a
// stalled connection fails start-up instead of holding it forever.
const startupCheckTimeout = time.Minute

// newServer opens the database, checks the Slack app and starts the bot.
// Close undoes it.
func newServer(ctx context.Context, cfg *config.Config, dryRun bool, log *slog.Logger, deps serveDeps) (*server, error) {
	mode := modeReal
	if dryRun {
		mode = modeDryRun
	}
	bc, execs, err := botConfig(ctx, cfg, mode, log)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	client := slack.NewClient(cfg.Slack.BotToken.Reveal(), slack.Options{
		APIURL: cfg.Slack.APIURL, HTTPClient: deps.SlackHTTP, AppToken: cfg.Slack.AppToken.Reveal(),
		Logger: log, Metrics: slack.NewMetrics(reg),
	})
	if deps.CheckTimeout <= 0 {
		deps.CheckTimeout = startupCheckTimeout
	}
	checkSlack := slackCheck(client, deps.CheckTimeout)
	identity, err := checkPeers(ctx, cfg, mode, checkSlack, execs.github, deps.CheckTimeout, log)
	if err != nil {
		execs.Close()
		return nil, err
	}
	bc.Directory, bc.PublicURL, bc.AuditChannel = client, cfg.PublicURL, cfg.Audit.Channel
	useChannelIDs(&bc, identity)
	useReporter(&bc, execs.github, mode, log)
	usePoll(&bc, cfg, mode, execs.github, log)
	creds := newCredentials(cfg, log)
	creds.github, creds.slack, creds.team, creds.checkTimeout = execs.github, client, identity.TeamID, deps.CheckTimeout
	if err := useReload(&bc, cfg, mode, creds.checkSlack, execs, creds, log); err != nil {
		execs.Close()
		return nil, err
	}
	// A damaged file is refused here, before the bot trusts it.
	db, err := store.Open(cfg.DB, store.Options{Logger: log, CheckOnOpen: true})
	if err != nil {
		execs.Close()
		return nil, err
	}
	s := &server{cfg: cfg, db: db, execs: execs, log: log, reg: reg, poll: bc.Poll, creds: creds}
	s.bot = bot.New(bc, db, client, resolver(cfg, log), log)
	if err := s.openDoors(client, identity, deps, log); err != nil {
		db.Close()
		execs.Close()
		return nil, err
	}
	if err := s.bot.Start(ctx); err != nil {
		if s.web != nil {
			s.web.Close()
		}
		db.Close()
		execs.Close()
		return nil, err
	}
	s.startLoops()
	return s, nil
}

// slackCheck checks the Slack app against a config, within timeout: at
// start-up and for each config reload.
func slackCheck(client *slack.Client, timeout time.Duration) func(context.Context, *config.Config) (slack.Identity, error) {
	return func(ctx context.Context, cfg *config.Config) (slack.Identity, error) {
		checkCtx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return client.Check(checkCtx, configChannels(cfg), cfg.Slack.SocketMode())
	}
}

// checkPeers checks the Slack app, then GitHub, before anything starts;
// it returns who the bot is in Slack.
func checkPeers(ctx context.Context, cfg *config.Config, mode execMode, checkSlack func(context.Context, *config.Config) (slack.Identity, error),
	gh *github.Client, timeout time.Duration, log *slog.Logger) (slack.Identity, error) {
	identity, err := checkSlack(ctx, cfg)
	if err != nil {
		return identity, err
	}
	checkCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return identity, checkGitHub(checkCtx, gh, githubNeeds(cfg, mode), log)
}

// useReporter reports commit statuses and deployments to GitHub, except
// in a dry run or without GitHub credentials.
func useReporter(bc *bot.Config, gh *github.Client, mode execMode, log *slog.Logger) {
	switch {
	case gh == nil:
		log.Warn("no github.token or GitHub App configured: commit statuses and deployments are not reported to GitHub")
	case mode == modeReal:
		bc.Reporter = gh
	default:
		log.Info("dry run: commit statuses and deployments are not reported to GitHub")
	}
}

// useReload gives the bot the config file's text and, when there is one,
// a loader to reload it with.
func useReload(bc *bot.Config, cfg *config.Config, mode execMode, checkSlack func(context.Context, *config.Config) (slack.Identity, error),
	execs *executors, creds *credentials, log *slog.Logger) error {
	var err error
	if bc.ConfigText, err = configText(cfg); err != nil {
		return err
	}
	bc.ConfigShown = shownConfig(cfg)
	if bc.ConfigText != nil {
		bc.Loader = &loader{running: cfg, mode: mode, log: log, channels: checkSlack, execs: execs, creds: creds}
	}
	return nil
}

// openDoors makes the ways in: GitHub's webhook, the web pages and the
// Slack adapter. Nothing is served yet.
func (s *server) openDoors(client *slack.Client, identity slack.Identity, deps serveDeps, log *slog.Logger) error {
	cfg := s.cfg
	// One budget for every body not yet verified, whichever door it came in.
	bodies := &bot.BodyBudget{}
	var err error
	if !cfg.GitHub.WebhookSecret.IsZero() {
		if s.webhook, err = github.NewWebhook(cfg.GitHub.WebhookSecret.Reveal(), s.bot, github.WebhookOptions{Logger: log, Bodies: bodies}); err != nil {
			return err
		}
	}
	s.guard = newGuard(cfg, s.bot, log)
	if s.web, err = newWeb(cfg, s.bot, s.db, s.guard, identity.Permalink, log); err != nil {
		return err
	}
	s.creds.webhook, s.creds.web = s.webhook, s.web
	s.slack = slack.NewAdapter(client, s.bot, slack.Config{
		Command: cfg.Slack.Command, SigningSecret: cfg.Slack.SigningSecret.Reveal(), TeamID: identity.TeamID, Dialer: deps.SlackDialer,
		Bodies: bodies,
	})
	if !cfg.Slack.SocketMode() {
		s.creds.adapter = s.slack
	}
	return nil
}

// startLoops starts what runs until Close (the SIGHUP watch, Socket Mode)
// and makes the HTTP server, which Serve starts.
func (s *server) startLoops() {
	loopCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.watchHangup(loopCtx)
	if s.cfg.Slack.SocketMode() {
		s.loops.Add(1)
		go func() {
			defer s.loops.Done()
			s.slack.RunSocketMode(loopCtx)
		}()
	}
	// No WriteTimeout: GET /backup streams the whole database. Idle
	// keep-alive connections are closed, and slow request bodies cut off.
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
}

// configChannels are the channels the bot must be in: the audit channel
// and every service's and gate's.
func configChannels(cfg *config.Config) []string {
	channels := []string{cfg.Audit.Channel}
	for _, g := range cfg.Gates {
		channels = append(channels, g.Channel)
	}
	for _, svc := range cfg.Services {
		channels = append(channels, svc.Channel)
		if svc.PullRequestsChannel != "" {
			channels = append(channels, svc.PullRequestsChannel)
		}
	}
	return channels
}

// useChannelIDs puts the IDs Slack's check found in place of the channel
// names ("#deploys") of the config: Slack's methods take IDs.
func useChannelIDs(bc *bot.Config, id slack.Identity) {
	bc.AuditChannel = id.ChannelID(bc.AuditChannel)
	for i := range bc.Gates {
		bc.Gates[i].Channel = id.ChannelID(bc.Gates[i].Channel)
	}
	for i := range bc.Services {
		bc.Services[i].Channel = id.ChannelID(bc.Services[i].Channel)
		if c := bc.Services[i].Checks.Channel; c != "" {
			bc.Services[i].Checks.Channel = id.ChannelID(c)
		}
	}
}

// Serve serves HTTP on ln until ctx ends, then shuts down gracefully:
// stop accepting, finish requests in flight (10 s at most), stop the bot,
// close the database.
func (s *server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		s.log.Info("shutting down: finishing running executions", "grace", s.cfg.ShutdownGrace)
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = s.http.Shutdown(sctx)
		cancel()
		// New work is refused from here on; what runs may finish.
		dctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
		if derr := s.bot.Drain(dctx); derr != nil {
			s.log.Warn("shutdown grace period over; stopping what still runs (it shows as interrupted at the next start)", "err", derr)
		}
		cancel()
	}
	s.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close stops taking Slack work, stops the pages' background work and the
// bot, closes the engine connections and the database.
func (s *server) Close() {
	s.stop()
	s.slack.Close()
	s.loops.Wait()
	if s.web != nil {
		s.web.Close()
	}
	s.bot.Close()
	if err := s.execs.Close(); err != nil {
		s.log.Error("close executors", "err", err)
	}
	if err := s.db.Close(); err != nil {
		s.log.Error("close database", "err", err)
	}
}

func (s *server) routes() http.Handler {
	reg := s.reg
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{db: s.db}, &pollCollector{bot: s.bot}, driftCollector{drift: s.bot.Drift})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /healthz/github", s.requireReader(http.HandlerFunc(s.healthzGitHub)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /audit/export", s.requireReader(http.HandlerFunc(s.auditExport)))
	mux.Handle("GET /outbox/aside", s.requireReader(http.HandlerFunc(s.outboxAside)))
	mux.Handle("GET /backup", s.requireToken(http.HandlerFunc(s.backup)))
	registerWeb(mux, s.web)
	if s.webhook != nil {
		mux.Handle("POST /webhooks/github", s.webhook)
	} else {
		mux.HandleFunc("POST /webhooks/github", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "GitHub webhooks are not configured here (github.webhook_secret)", http.StatusNotFound)
		})
	}
	mux.Handle("POST /slack/commands", s.slack.Commands())
	mux.Handle("POST /slack/interactions", s.slack.Interactions())
	return mux
}

// healthz answers 200 when the database answers and writes, and says
// whether Slack is connected. Slack being down does not make the bot
// unhealthy: its outbox keeps every message until Slack is back, and
// restarting the bot would not bring Slack back. A database that cannot
// write (a full disk) does: nothing can be approved, run or audited. An
// entry the outbox set aside in the last asideAlarm makes it "degraded",
// still 200: it needs a look, not a restart; after that the count is
// still shown.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	var aside int
	var newest time.Time
	err := s.db.View(r.Context(), func(tx bot.ReadTx) error {
		if _, err := tx.Locks(); err != nil {
			return err
		}
		var err error
		aside, newest, err = tx.AsideSummary()
		return err
	})
	if err == nil {
		err = s.db.CanWrite()
	}
	if err != nil {
		http.Error(w, "database: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	state, slackState := "ok", "slack: connected"
	if !s.slack.Connected() {
		slackState = "slack: not connected (messages wait in the outbox)"
	}
	if aside > 0 && time.Since(newest) < asideAlarm {
		state = "degraded"
	}
	fmt.Fprintf(w, "%s\n%s\n", state, slackState)
	if aside > 0 {
		fmt.Fprintf(w, "outbox: %d Slack messages or GitHub reports never got through and were set aside, the last at %s (countersign outbox list)\n",
			aside, newest.UTC().Format(time.RFC3339))
	}
	pollSummary(w, s.poll, s.bot.PollStatus())
}

// asideAlarm is how long /healthz says degraded after the outbox last
// set an entry aside: nobody can mark the list read while the bot runs,
// and a state that never clears would soon be ignored.
const asideAlarm = 24 * time.Hour

// requireToken lets through only requests bearing audit.token.
func (s *server) requireToken(next http.Handler) http.Handler {
	return s.require(next, false)
}

// requireReader lets through what the web pages let in (a read token as
// bearer, a session cookie, the trusted proxy) and audit.token.
func (s *server) requireReader(next http.Handler) http.Handler {
	return s.require(next, true)
}

func (s *server) require(next http.Handler, readers bool) http.Handler {
	hint := "unauthorized: send Authorization: Bearer <audit.token>"
	if readers {
		hint = "unauthorized: send Authorization: Bearer <audit.token or a read token>, or sign in at /login"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		want := s.creds.auditToken()
		ok := !want.IsZero() && strings.EqualFold(scheme, "Bearer") &&
			subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(want.Reveal())) == 1
		if !ok && readers && s.web != nil {
			_, ok = s.web.Authorized(r)
		}
		if !ok {
			// Counted and audited as on the pages; the right token, checked
			// above, is never refused.
			reason := "a wrong token for " + r.URL.Path
			if r.Header.Get("Authorization") == "" {
				reason = "no token for " + r.URL.Path
			}
			if s.guard.Refused(r, reason) {
				w.Header().Set("Retry-After", web.RetryAfter)
				http.Error(w, "too many wrong tokens from your address: wait a minute", http.StatusTooManyRequests)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="countersign"`)
			http.Error(w, hint, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// auditExport streams the audit trail as JSON Lines; with query
// parameters (target, actor, kind, request, since, until, limit) only the
// matching records.
func (s *server) auditExport(w http.ResponseWriter, r *http.Request) {
	q, filtered, err := eventQuery(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	if !filtered {
		if n, err := s.db.ExportAudit(r.Context(), w); err != nil {
			s.log.Error("audit export", "err", err)
			if n == 0 {
				http.Error(w, "audit export failed: the database file is damaged or unreadable (see the log)", http.StatusInternalServerError)
				return
			}
			// Part of the trail went out: cut the stream, so that no
			// reader takes a short trail for the whole one.
			panic(http.ErrAbortHandler)
		}
		return
	}
	evs, err := s.db.ListAudit(r.Context(), q)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, e := range evs {
		line, err := eventLine(e)
		if err != nil {
			s.log.Error("audit export", "err", err)
			return
		}
		w.Write(append(line, '\n'))
	}
}

// eventLine re-creates a stored record's canonical line.
func eventLine(e cs.Event) ([]byte, error) {
	hash := e.Hash
	line, err := e.Seal(e.Seq, e.Prev)
	if err != nil {
		return nil, err
	}
	if e.Hash != hash {
		return nil, fmt.Errorf("record %d does not re-encode to its hash", e.Seq)
	}
	return line, nil
}

// exportParams are the query parameters of GET /audit/export.
var exportParams = map[string]bool{"target": true, "actor": true, "kind": true, "request": true, "since": true, "until": true, "limit": true}

func eventQuery(r *http.Request) (bot.EventQuery, bool, error) {
	v := r.URL.Query()
	for k := range v {
		if !exportParams[k] {
			return bot.EventQuery{}, false, fmt.Errorf("unknown query parameter %q (want target, actor, kind, request, since, until, limit)", k)
		}
	}
	q := bot.EventQuery{Target: v.Get("target"), Actor: cs.Actor(v.Get("actor")), Kind: cs.EventKind(v.Get("kind")), Request: cs.RequestID(v.Get("request"))}
	var err error
	for _, p := range []struct {
		key string
		t   *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(p.key); s != "" {
			if *p.t, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return q, false, fmt.Errorf("%s: want an RFC 3339 time", p.key)
			}
		}
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 0 {
			return q, false, errors.New("limit: want a whole number")
		}
	}
	return q, len(v) > 0, nil
}

// backup streams a consistent copy of the database.
func (s *server) backup(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="countersign.db"`)
	if n, err := s.db.Backup(r.Context(), w); err != nil {
		s.log.Error("backup", "err", err)
		if n == 0 {
			http.Error(w, "backup failed (see the log)", http.StatusInternalServerError)
			return
		}
		panic(http.ErrAbortHandler) // a cut-off copy must not look complete
	}
}

// storeCollector exports gauges read from the store at scrape time.
type storeCollector struct{ db *store.DB }

var (
	openDesc  = prometheus.NewDesc("countersign_open_requests", "Open requests by state.", []string{"state"}, nil)
	locksDesc = prometheus.NewDesc("countersign_locks", "Targets currently locked.", nil, nil)
	asideDesc = prometheus.NewDesc("countersign_outbox_set_aside",
		"Slack messages and GitHub reports the outbox gave up on (refused for good, or failing for longer than outbox_give_up), kept aside: see countersign outbox list.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- openDesc
	ch <- locksDesc
	ch <- asideDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[cs.State]int{cs.StatePending: 0, cs.StateApproved: 0, cs.StateExecuting: 0}
	var locks, aside int
	err := c.db.View(context.Background(), func(tx bot.ReadTx) error {
		open, err := tx.OpenRequests("")
		if err != nil {
			return err
		}
		for _, r := range open {
			counts[r.State]++
		}
		l, err := tx.Locks()
		if err != nil {
			return err
		}
		locks = len(l)
		aside, _, err = tx.AsideSummary()
		return err
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(openDesc, err)
		return
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(n), strings.ToLower(string(st)))
	}
	ch <- prometheus.MustNewConstMetric(locksDesc, prometheus.GaugeValue, float64(locks))
	ch <- prometheus.MustNewConstMetric(asideDesc, prometheus.GaugeValue, float64(aside))
}
