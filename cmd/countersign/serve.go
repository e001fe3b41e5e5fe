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
	"strconv"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/cmd/countersign/config"
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
	cfg, err := config.Options{CheckFiles: true}.Load(*path)
	if err == nil {
		err = cfg.CheckServe() // a missing secret stops start-up
	}
	if err != nil {
		return m.failf("%v", err)
	}
	srv, err := newServer(ctx, cfg, *dryRun, log)
	if err != nil {
		return m.failf("%v", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		srv.Close()
		return m.failf("listen: %v", err)
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
	execs *executors
	http  *http.Server
	log   *slog.Logger
}

// newServer opens the database and starts the bot. Close undoes it.
func newServer(ctx context.Context, cfg *config.Config, dryRun bool, log *slog.Logger) (*server, error) {
	mode := modeReal
	if dryRun {
		mode = modeDryRun
	}
	bc, execs, err := botConfig(ctx, cfg, mode, log)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(cfg.DB, store.Options{Logger: log})
	if err != nil {
		execs.Close()
		return nil, err
	}
	s := &server{cfg: cfg, db: db, execs: execs, log: log}
	s.bot = bot.New(bc, db, logChat{log}, resolver(cfg, log), log)
	if err := s.bot.Start(ctx); err != nil {
		db.Close()
		execs.Close()
		return nil, err
	}
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
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
		s.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = s.http.Shutdown(sctx)
		cancel()
	}
	s.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close stops the bot, closes the engine connections and the database.
func (s *server) Close() {
	s.bot.Close()
	if err := s.execs.Close(); err != nil {
		s.log.Error("close executors", "err", err)
	}
	if err := s.db.Close(); err != nil {
		s.log.Error("close database", "err", err)
	}
}

func (s *server) routes() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{db: s.db})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /audit/export", s.requireToken(http.HandlerFunc(s.auditExport)))
	mux.Handle("GET /backup", s.requireToken(http.HandlerFunc(s.backup)))
	notYet := func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not implemented in this version of countersign", http.StatusNotImplemented)
	}
	mux.HandleFunc("POST /webhooks/github", notYet)
	mux.HandleFunc("POST /slack/commands", notYet)
	mux.HandleFunc("POST /slack/interactions", notYet)
	return mux
}

// healthz answers 200 when the database answers.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	err := s.db.View(r.Context(), func(tx bot.ReadTx) error {
		_, err := tx.Locks()
		return err
	})
	if err != nil {
		http.Error(w, "database: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// requireToken lets through only requests bearing audit.token.
func (s *server) requireToken(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.cfg.Audit.Token.Reveal())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if s.cfg.Audit.Token.IsZero() || subtle.ConstantTimeCompare(got, want) != 1 {
			s.log.Warn("audit endpoint refused", "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="countersign"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <audit.token>", http.StatusUnauthorized)
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
		if _, err := s.db.ExportAudit(r.Context(), w); err != nil {
			s.log.Error("audit export", "err", err)
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

func eventQuery(r *http.Request) (bot.EventQuery, bool, error) {
	v := r.URL.Query()
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
	if _, err := s.db.Backup(r.Context(), w); err != nil {
		s.log.Error("backup", "err", err)
	}
}

// logChat is the chat of `serve` until a Slack adapter is configured: it
// writes what would be posted to the log.
type logChat struct{ log *slog.Logger }

func (c logChat) Post(_ context.Context, m bot.Message) (cs.MessageRef, error) {
	ts := strconv.FormatInt(time.Now().UnixNano(), 10)
	c.log.Info("chat post", "channel", m.Channel, "thread", m.Thread.TS, "ts", ts, "text", string(m.Text))
	return cs.MessageRef{Channel: m.Channel, TS: ts}, nil
}

func (c logChat) Update(_ context.Context, ref cs.MessageRef, m bot.Message) error {
	c.log.Info("chat update", "channel", ref.Channel, "ts", ref.TS, "text", string(m.Text))
	return nil
}

func (c logChat) Ephemeral(_ context.Context, to bot.Caller, m bot.Message) error {
	c.log.Info("chat ephemeral", "channel", to.Channel, "user", to.User, "text", string(m.Text))
	return nil
}

// storeCollector exports gauges read from the store at scrape time.
type storeCollector struct{ db *store.DB }

var (
	openDesc  = prometheus.NewDesc("countersign_open_requests", "Open requests by state.", []string{"state"}, nil)
	locksDesc = prometheus.NewDesc("countersign_locks", "Targets currently locked.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- openDesc; ch <- locksDesc }

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[cs.State]int{cs.StatePending: 0, cs.StateApproved: 0, cs.StateExecuting: 0}
	var locks int
	err := c.db.View(context.Background(), func(tx bot.ReadTx) error {
		open, err := tx.OpenRequests("")
		if err != nil {
			return err
		}
		for _, r := range open {
			counts[r.State]++
		}
		l, err := tx.Locks()
		locks = len(l)
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
}
