// Package web serves the read-only status and audit pages: what runs
// where, what is pending, who decided what. It reads through the bot's
// queries and never changes anything; the only records it causes are the
// audit of sign-ins.
package web

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Source is what the pages read. *bot.Bot implements it.
type Source interface {
	Overview(ctx context.Context) (bot.Overview, error)
	LiveStatus(ctx context.Context, service string) (string, error)
	RequestDetail(ctx context.Context, id cs.RequestID) (bot.RequestView, []cs.Event, error)
	ServiceHistory(ctx context.Context, name string) (bot.ServiceHistory, error)
	Events(ctx context.Context, q bot.EventQuery) ([]cs.Event, error)
	Targets() []string
	CommitURL(service, sha string) string
	Thread(ctx context.Context, r cs.Request) (cs.MessageRef, bool)
	Anchor(ctx context.Context) (string, error)
	// RefuseWeb and WebSignedIn audit sign-ins.
	RefuseWeb(ctx context.Context, reason, remote string) error
	WebSignedIn(ctx context.Context, who, remote string) error
	// RulesView is the policies in force and a proposal waiting.
	RulesView(ctx context.Context) (bot.RulesView, error)
}

// Chain verifies the whole audit chain. bot/store's DB implements it.
type Chain interface {
	VerifyAudit(ctx context.Context) (count uint64, head string, err error)
}

// Token is a read token. Name says whose it is; it is what the audit
// trail and the page show, never the value.
type Token struct {
	Name  string
	Value string
}

// Proxy is a trusted authenticating proxy (oauth2-proxy and the like):
// requests from one of its addresses that carry Header are signed in as
// the user it names. The header from any other address is refused.
type Proxy struct {
	Header  string // e.g. X-Forwarded-User
	Trusted []netip.Prefix
}

// Config is what the pages need. Source and at least one Token or a
// Proxy are required.
type Config struct {
	Source Source
	// Chain, if set, is verified in the background (at start and every
	// VerifyEvery, default 10 minutes) and its state shown on /audit.
	Chain       Chain
	VerifyEvery time.Duration
	Tokens      []Token
	Proxy       *Proxy
	// Guard limits wrong secrets per client address and audits them;
	// share one with the other handlers that check a secret. Nil: the
	// pages' own, trusting Proxy's addresses for X-Forwarded-For.
	Guard *Guard
	// SessionKey signs session cookies (32 bytes or more). Empty: a
	// random key, so that sessions end when the bot restarts.
	SessionKey []byte
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL time.Duration
	// SecureCookie marks the cookie Secure: set it when the page is
	// served over https (public_url).
	SecureCookie bool
	// ThreadURL links a chat message (a Slack permalink); nil: no link.
	ThreadURL func(cs.MessageRef) string
	// Refresh is how often an open page reloads its content (default 10 s).
	Refresh time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server serves the pages. Create it with New; Close stops its
// background verification.
type Server struct {
	cfg    Config
	log    *slog.Logger
	pages  *pages
	auth   *authenticator
	guard  *Guard
	chain  *chainState
	live   *liveCache
	rows   *rowCache
	static http.Handler

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{} // a page saw records not yet verified
}

// New checks cfg and returns a server; it starts verifying the chain in
// the background when cfg.Chain is set.
func New(cfg Config) (*Server, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := cfg.fillDefaults(); err != nil {
		return nil, err
	}
	p, err := parsePages(cfg.Source.CommitURL)
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, log: cfg.Logger, pages: p,
		auth:   newAuthenticator(cfg),
		guard:  cfg.Guard,
		chain:  &chainState{},
		live:   &liveCache{entries: map[string]liveEntry{}},
		rows:   &rowCache{},
		static: http.StripPrefix("/static/", http.FileServerFS(sub)),
		ctx:    ctx, cancel: cancel, kick: make(chan struct{}, 1),
	}
	if cfg.Chain != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.verifyLoop()
		}()
	}
	return s, nil
}

// check refuses a config with which nobody could sign in safely.
func (cfg *Config) check() error {
	if cfg.Source == nil {
		return errors.New("web: no source")
	}
	if len(cfg.Tokens) == 0 && cfg.Proxy == nil {
		return errors.New("web: no read token and no trusted proxy: nobody could sign in")
	}
	if err := CheckTokens(cfg.Tokens); err != nil {
		return err
	}
	if cfg.Proxy != nil && (cfg.Proxy.Header == "" || len(cfg.Proxy.Trusted) == 0) {
		return errors.New("web: a trusted proxy needs a header and at least one address")
	}
	return nil
}

// CheckTokens says why ts cannot be read tokens, or nil: each needs a
// name and a value of 16 characters or more.
func CheckTokens(ts []Token) error {
	for _, t := range ts {
		if t.Name == "" || len(t.Value) < 16 {
			return fmt.Errorf("web: read token %q: want a name and a value of 16 characters or more", t.Name)
		}
	}
	return nil
}

// fillDefaults fills in what cfg leaves out, with a random session key
// when none is given; a given one must be long enough.
func (cfg *Config) fillDefaults() error {
	if len(cfg.SessionKey) == 0 {
		cfg.SessionKey = make([]byte, 32)
		rand.Read(cfg.SessionKey)
	} else if len(cfg.SessionKey) < 32 {
		return errors.New("web: the session key must be 32 bytes or more")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 10 * time.Second
	}
	if cfg.VerifyEvery <= 0 {
		cfg.VerifyEvery = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Guard == nil {
		gc := GuardConfig{Refuse: cfg.Source.RefuseWeb, Now: cfg.Now, Logger: cfg.Logger}
		if cfg.Proxy != nil {
			gc.Trusted = cfg.Proxy.Trusted
		}
		cfg.Guard = NewGuard(gc)
	}
	return nil
}

// Close stops the background verification and waits for it.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// Register adds the pages to mux: GET /, /requests/{id}, /services/{name},
// /audit, GET|POST /login, POST /logout and /static/.
func (s *Server) Register(mux *http.ServeMux) {
	mux.Handle("GET /static/", secure(s.static, false))
	mux.Handle("GET /login", secure(http.HandlerFunc(s.loginForm), true))
	mux.Handle("POST /login", secure(s.sameOrigin(http.HandlerFunc(s.login)), true))
	mux.Handle("POST /logout", secure(s.sameOrigin(http.HandlerFunc(s.logout)), true))
	mux.Handle("GET /{$}", s.page(s.overview))
	mux.Handle("GET /requests/{id}", s.page(s.request))
	mux.Handle("GET /services/{name}", s.page(s.service))
	mux.Handle("GET /audit", s.page(s.audit))
	mux.Handle("GET /policies", s.page(s.policies))
}

// Handler returns a handler serving only the pages.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	return mux
}

// Authorized reports whether r carries a read token (bearer or session
// cookie) or comes from the trusted proxy, and as whom. Other handlers
// (the audit export) use it to accept what the pages accept.
func (s *Server) Authorized(r *http.Request) (who string, ok bool) {
	id, err := s.auth.identify(r)
	return id, err == nil
}

// secure sets the headers every response carries: a strict
// Content-Security-Policy (no inline script or style), no sniffing, no
// framing, no referrer; pages are not cached.
func secure(next http.Handler, noStore bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if noStore {
			h.Set("Cache-Control", "no-store")
		} else {
			h.Set("Cache-Control", "max-age=300")
		}
		next.ServeHTTP(w, r)
	})
}
