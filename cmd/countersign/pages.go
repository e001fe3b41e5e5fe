package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/cmd/countersign/config"
	"github.com/countersign/countersign/web"
)

// webPaths are the patterns the web pages register (web.Server.Register),
// answered with a 404 that says why when the pages are not built.
var webPaths = []string{"GET /{$}", "GET /requests/{id}", "GET /services/{name}", "GET /audit",
	"GET /login", "POST /login", "POST /logout", "GET /static/"}

// newGuard is the one limit on wrong secrets of the pages, GET
// /audit/export and GET /backup, believing X-Forwarded-For from
// web.trusted_proxies and web.proxy's addresses.
func newGuard(cfg *config.Config, b *bot.Bot, log *slog.Logger) *web.Guard {
	trusted := cfg.Web.TrustedProxies
	if p := cfg.Web.Proxy; p != nil {
		trusted = append(slices.Clip(trusted), p.Trusted...)
	}
	return web.NewGuard(web.GuardConfig{Refuse: b.RefuseWeb, Trusted: trusted, Logger: log})
}

// newWeb builds the web pages, or returns nil when nobody could sign in
// to them: no audit.token, no web.read_tokens and no web.proxy.
func newWeb(cfg *config.Config, b *bot.Bot, db *store.DB, guard *web.Guard, threadURL func(cs.MessageRef) string, log *slog.Logger) (*web.Server, error) {
	wc := web.Config{
		Source: b, Chain: db, Tokens: readTokens(cfg), Guard: guard,
		SessionKey: []byte(cfg.Web.SessionKey.Reveal()), SessionTTL: cfg.Web.SessionTTL,
		SecureCookie: strings.HasPrefix(cfg.PublicURL, "https://"), ThreadURL: threadURL, Logger: log,
	}
	if p := cfg.Web.Proxy; p != nil {
		wc.Proxy = &web.Proxy{Header: p.UserHeader, Trusted: p.Trusted}
	}
	if len(wc.Tokens) == 0 && wc.Proxy == nil {
		log.Warn("web pages off: no audit.token, web.read_tokens or web.proxy, so nobody could sign in")
		return nil, nil
	}
	srv, err := web.New(wc)
	if err != nil {
		return nil, fmt.Errorf("web pages: %w", err)
	}
	return srv, nil
}

// readTokens are the web pages' read tokens: audit.token, named "audit",
// then web.read_tokens.
func readTokens(cfg *config.Config) []web.Token {
	var ts []web.Token
	if !cfg.Audit.Token.IsZero() {
		ts = append(ts, web.Token{Name: config.AuditTokenName, Value: cfg.Audit.Token.Reveal()})
	}
	for _, t := range cfg.Web.ReadTokens {
		ts = append(ts, web.Token{Name: t.Name, Value: t.Token.Reveal()})
	}
	return ts
}

// registerWeb adds the pages to mux, or when srv is nil a 404 at each of
// their paths that says how to turn them on.
func registerWeb(mux *http.ServeMux, srv *web.Server) {
	if srv != nil {
		srv.Register(mux)
		return
	}
	for _, p := range webPaths {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "the web pages are not enabled here: nobody could sign in (give audit.token or web.read_tokens, or a trusted web.proxy)", http.StatusNotFound)
		})
	}
}

// demoPages is the status page of `countersign demo`: the web pages alone
// (no Slack or GitHub endpoints) on 127.0.0.1, with a read token made for
// the run.
type demoPages struct {
	ln    net.Listener
	URL   string // http://127.0.0.1:PORT/
	Token string
}

// demoPagesAddr is where the demo's pages go when the port is free;
// otherwise any free port.
const demoPagesAddr = "127.0.0.1:8080"

// listenDemoPages binds the demo's pages and makes their token. Close it
// if start is never called.
func listenDemoPages() (*demoPages, error) {
	ln, err := net.Listen("tcp", demoPagesAddr)
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("listen for the status page: %w", err)
		}
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		ln.Close()
		return nil, fmt.Errorf("make the status page's token: %w", err)
	}
	return &demoPages{ln: ln, URL: "http://" + ln.Addr().String() + "/", Token: base64.RawURLEncoding.EncodeToString(raw)}, nil
}

// Close releases the port of pages that were never started.
func (p *demoPages) Close() { p.ln.Close() }

// start serves the pages over b and db until the returned stop is called.
func (p *demoPages) start(b *bot.Bot, db *store.DB, log *slog.Logger) (stop func(), err error) {
	ws, err := web.New(web.Config{Source: b, Chain: db, Tokens: []web.Token{{Name: "demo", Value: p.Token}}, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	srv := &http.Server{Handler: ws.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(p.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("status page", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
		ws.Close()
	}, nil
}
