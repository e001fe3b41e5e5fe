package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// sessionCookie is the name of the signed session cookie.
const sessionCookie = "countersign_session"

var (
	errNoCredentials = errors.New("not signed in")
	errBadToken      = errors.New("the token is not a read token")
	errBadSession    = errors.New("the session cookie is invalid or has expired")
	errUntrustedUser = errors.New("a user header from an address that is not a trusted proxy")
)

// authenticator decides who a request is: a bearer read token, a signed
// session cookie, or a user named by the trusted proxy.
type authenticator struct {
	// tokens are the read tokens in force: SetTokens replaces them.
	tokens atomic.Pointer[[]Token]
	proxy  *Proxy
	key    []byte
	ttl    time.Duration
	secure bool
	now    func() time.Time
}

func newAuthenticator(cfg Config) *authenticator {
	a := &authenticator{
		proxy: cfg.Proxy, key: cfg.SessionKey, ttl: cfg.SessionTTL,
		secure: cfg.SecureCookie, now: cfg.Now,
	}
	a.setTokens(cfg.Tokens)
	return a
}

func (a *authenticator) setTokens(ts []Token) {
	ts = slices.Clone(ts)
	a.tokens.Store(&ts)
}

// SetTokens replaces the read tokens (a config reload): a token no
// longer listed is refused at once, and so are the sessions it opened.
// A token too short is refused whole and the tokens in force stay; no
// tokens at all is allowed (nobody signs in with a token).
func (s *Server) SetTokens(ts []Token) error {
	if err := CheckTokens(ts); err != nil {
		return err
	}
	s.auth.setTokens(ts)
	return nil
}

// identify returns who r is, or why it is nobody: errNoCredentials when
// it carries nothing, the other errors when what it carries is wrong.
func (a *authenticator) identify(r *http.Request) (string, error) {
	if a.proxy != nil && r.Header.Get(a.proxy.Header) != "" {
		if !a.fromProxy(r) {
			return "", errUntrustedUser
		}
		return "proxy:" + r.Header.Get(a.proxy.Header), nil
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return "", errBadToken
		}
		t, ok := a.token(strings.TrimSpace(token))
		if !ok {
			return "", errBadToken
		}
		return "token:" + t.Name, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", errNoCredentials
	}
	name, ok := a.session(c.Value)
	if !ok {
		return "", errBadSession
	}
	return "token:" + name, nil
}

// token finds the read token with this value, comparing each in
// constant time.
func (a *authenticator) token(value string) (Token, bool) {
	var found Token
	ok := false
	for _, t := range *a.tokens.Load() {
		if subtle.ConstantTimeCompare([]byte(value), []byte(t.Value)) == 1 {
			found, ok = t, true
		}
	}
	return found, ok && value != ""
}

func (a *authenticator) fromProxy(r *http.Request) bool {
	ip, ok := remoteIP(r)
	return ok && isTrusted(ip, a.proxy.Trusted)
}

// A session cookie is "NAME|EXPIRY|TOKENTAG" (base64url) "." its HMAC.
// TOKENTAG is a hash of the token's value, so that changing a token's
// value in config ends the sessions it opened; a removed token's name
// no longer resolves.
func (a *authenticator) newSession(t Token) (value string, expires time.Time) {
	expires = a.now().Add(a.ttl).Truncate(time.Second)
	payload := fmt.Sprintf("%s|%d|%s", t.Name, expires.Unix(), tokenTag(t))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + a.sign(payload), expires
}

func (a *authenticator) session(value string) (name string, ok bool) {
	enc, mac, found := strings.Cut(value, ".")
	if !found {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || !hmac.Equal([]byte(mac), []byte(a.sign(string(raw)))) {
		return "", false
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !a.now().Before(time.Unix(exp, 0)) {
		return "", false
	}
	for _, t := range *a.tokens.Load() {
		if t.Name == parts[0] && hmac.Equal([]byte(tokenTag(t)), []byte(parts[2])) {
			return t.Name, true
		}
	}
	return "", false
}

func (a *authenticator) sign(payload string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func tokenTag(t Token) string {
	sum := sha256.Sum256([]byte("countersign read token\x00" + t.Value))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// cookie sets the session cookie. Max-Age (the seconds left by the
// server's clock) goes beside Expires: a browser prefers it, so a browser
// whose clock differs from the server's still keeps the cookie for
// exactly as long as the server accepts it. An empty value clears it.
func (a *authenticator) cookie(value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: a.secure,
		SameSite: http.SameSiteStrictMode, Expires: expires,
	}
	left := int(expires.Sub(a.now()) / time.Second)
	if value == "" || left <= 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = left
	}
	return c
}

// safeNext keeps a post-login redirect on this site: a path, never
// "//host" or a full URL.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return u.RequestURI()
}

// loginForm shows the sign-in form.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, err := s.auth.identify(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.renderLogin(w, http.StatusOK, safeNext(r.URL.Query().Get("next")), "")
}

func (s *Server) renderLogin(w http.ResponseWriter, status int, next, problem string) {
	s.render(w, status, "login", loginPage{
		Next: next, Problem: problem, Proxy: s.cfg.Proxy != nil,
		Tokens: len(*s.auth.tokens.Load()) > 0,
	}, "")
}

type loginPage struct {
	Next, Problem string
	Proxy, Tokens bool
}

// login checks the form's token and sets the session cookie. A wrong
// token counts against the client's address (Guard); the right one is
// never refused.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.renderLogin(w, http.StatusBadRequest, "/", "The form could not be read.")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	t, ok := s.auth.token(strings.TrimSpace(r.PostForm.Get("token")))
	if !ok {
		if s.guard.Refused(r, "sign-in with a wrong token") {
			w.Header().Set("Retry-After", RetryAfter)
			s.renderLogin(w, http.StatusTooManyRequests, next, "Too many wrong tokens from your address: wait a minute and try again.")
			return
		}
		s.renderLogin(w, http.StatusUnauthorized, next, "That is not a read token.")
		return
	}
	if err := s.cfg.Source.WebSignedIn(r.Context(), t.Name, s.guard.Client(r)); err != nil {
		// A sign-in that cannot be audited does not happen.
		s.log.Error("audit a web sign-in", "err", err)
		s.renderLogin(w, http.StatusServiceUnavailable, next, "The sign-in could not be recorded in the audit trail; try again later.")
		return
	}
	value, expires := s.auth.newSession(t)
	http.SetCookie(w, s.auth.cookie(value, expires))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout clears the session cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, s.auth.cookie("", time.Unix(0, 0)))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// page wraps a page handler: signed in, or sent to the login form (a
// browser) or answered 401 (a script that sent a wrong token).
func (s *Server) page(h func(w http.ResponseWriter, r *http.Request, who string)) http.Handler {
	return secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, err := s.auth.identify(r)
		switch {
		case err == nil:
			h(w, r, who)
		case errors.Is(err, errNoCredentials), errors.Is(err, errBadSession):
			if errors.Is(err, errBadSession) {
				http.SetCookie(w, s.auth.cookie("", time.Unix(0, 0)))
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		default:
			if s.guard.Refused(r, err.Error()) {
				w.Header().Set("Retry-After", RetryAfter)
				http.Error(w, "too many wrong tokens from your address: wait a minute", http.StatusTooManyRequests)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="countersign"`)
			http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
		}
	}), true)
}
