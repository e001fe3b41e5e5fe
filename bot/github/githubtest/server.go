// Package githubtest is a test fake of GitHub's REST API: a local HTTP
// server that speaks enough of it (commit statuses, deployments,
// deployment statuses, repository tarballs, branch heads, comparisons of
// two commits, answers to custom deployment protection rules and GitHub
// App installation tokens) for go-github and
// ghinstallation, and so our GitHub adapter, to talk to it unchanged. It
// is for tests only: it keeps everything in memory and knows no commits
// but those it is told of (SetBranch, AddCommits) and what it is sent.
//
// It looks like GitHub Enterprise Server: the API lives under /api/v3/
// ([Server.URL]) and archives under /_codeload/ on the same host, because
// go-github treats every base URL but api.github.com as Enterprise. Set
// [Options.CodeloadElsewhere] to serve archives from a second host, as
// github.com does from codeload.github.com.
//
// It checks what GitHub checks and a little more, so that a client that
// gets a detail wrong fails its test: credentials on every API call,
// App JWTs (RS256, iss, iat, exp), states and description lengths,
// required_contexts (a deployment without it answers 409, as GitHub does
// when the commit's other statuses are not all green), credentials
// leaking to the codeload host (answered 400), and the primary rate
// limit, which conditional requests answered 304 do not spend.
//
// Every method of [Server] is safe for concurrent use.
package githubtest

import (
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// apiPrefix is where the API lives on the server, as on GitHub Enterprise.
const apiPrefix = "/api/v3"

// docsURL is the documentation_url GitHub puts in most error bodies.
const docsURL = "https://docs.github.com/rest"

// Options configure a Server. Every field has a usable zero value, but a
// server with neither Token nor an App answers 401 to every API call.
type Options struct {
	// Token is a personal access (or other) token the API accepts as
	// "Authorization: token X" or "Bearer X". It is a classic token with
	// Scopes, or a fine-grained one when FineGrained is set.
	Token string
	// Scopes are the classic Token's scopes (nil: [DefaultScopes]), sent
	// in X-OAuth-Scopes and checked as GitHub does (see [Repo]).
	Scopes []string
	// FineGrained makes Token a fine-grained token with these repository
	// permissions ("contents": "read", "statuses": "write", …; metadata
	// is always readable); it gets no X-OAuth-Scopes.
	FineGrained map[string]string
	// AppPermissions are the installation's permissions, returned with
	// its tokens and checked (nil: [DefaultAppPermissions]).
	AppPermissions map[string]string
	// Repos are the repositories that exist, by owner/name; nil means
	// every one exists, private, with default branch main.
	Repos map[string]Repo
	// AppID, InstallationID and AppPublicKey describe the one GitHub App
	// installation the server knows: POST
	// /app/installations/{InstallationID}/access_tokens with a JWT signed
	// by the App's private key (iss = AppID) returns an installation token
	// the API then accepts.
	AppID          int64
	InstallationID int64
	AppPublicKey   *rsa.PublicKey
	// TokenLifetime is how long installation tokens last. Default one
	// hour, as on GitHub.
	TokenLifetime time.Duration
	// Tarballs are the archives GET /repos/{owner}/{repo}/tarball/{sha}
	// serves, keyed "owner/repo@sha". New copies the map.
	Tarballs map[string][]byte
	// CodeloadElsewhere serves archives from a second server (another
	// host:port), as github.com does from codeload.github.com, instead
	// of from /_codeload/ on the API server.
	CodeloadElsewhere bool
	// TarballDirect answers GET /repos/{o}/{r}/tarball/{sha} with 200 and
	// the archive itself instead of a 302 to a download link, as GitHub
	// has been seen to for App installation tokens (go-github issue 3171).
	TarballDirect bool
	// RateLimit is the primary rate limit per hour (default
	// DefaultRateLimit). Every /repos/ answer carries X-RateLimit-*
	// headers and, unless it is a 304, counts; past the limit the API
	// answers 403 (go-github: *github.RateLimitError).
	RateLimit int
}

// Request is one request the server answered.
type Request struct {
	Method string
	// Path is the URL path without the /api/v3 prefix: "/repos/o/r/…",
	// "/app/installations/…", "/_codeload/…" (on either host).
	Path   string
	Status int
}

// Server is the fake. Create it with New and Close it when done.
type Server struct {
	opts      Options
	api       *httptest.Server
	codeload  *httptest.Server // == api unless Options.CodeloadElsewhere
	closing   chan struct{}    // closed by Close: releases Hang
	closeOnce sync.Once

	mu                 sync.Mutex
	down               bool
	faults             []*fault
	accepted           int
	stall              chan struct{} // non-nil: archives stop halfway until closed
	nextID             int64
	tokens             map[string]time.Time // installation token → expiry
	issued             []string
	links              map[string]archiveLink // codeload token → archive
	requests           []Request
	rate               Rate
	branches           map[string]Commit // "owner/repo" in lower case, NUL, branch
	statuses           []Status
	deployments        []Deployment
	deploymentStatuses []DeploymentStatus
	histories          map[string]*history // by lower-case owner/name (compare.go)
	gates              map[gateKey]bool    // waiting (true) or answered (gates.go)
	gateReviews        []GateReview
}

// fault is one queued injected failure.
type fault struct {
	prefix string
	left   int
	status int
	kind   faultKind
}

type faultKind int

const (
	faultPlain     faultKind = iota // {"message": StatusText}
	faultRateLimit                  // 403, X-RateLimit-Remaining: 0
	faultSecondary                  // 403, Retry-After, secondary-rate-limits docs
	faultHang                       // no answer until the client goes away
)

// New starts a Server on 127.0.0.1.
func New(opts Options) *Server {
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.Scopes == nil {
		opts.Scopes = DefaultScopes()
	}
	if opts.AppPermissions == nil {
		opts.AppPermissions = DefaultAppPermissions()
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = DefaultRateLimit
	}
	tarballs := make(map[string][]byte, len(opts.Tarballs))
	for k, v := range opts.Tarballs {
		tarballs[k] = slices.Clone(v)
	}
	opts.Tarballs = tarballs
	s := &Server{
		opts:    opts,
		rate:    Rate{Limit: opts.RateLimit},
		nextID:  1000,
		tokens:  make(map[string]time.Time),
		links:   make(map[string]archiveLink),
		closing: make(chan struct{}),
	}
	s.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, false)
	}))
	s.codeload = s.api
	if opts.CodeloadElsewhere {
		s.codeload = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.serve(w, r, true)
		}))
	}
	return s
}

// Close shuts the server (both hosts) down. Close releases a Stall and
// a Hang; closing twice is harmless.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.mu.Lock()
	if s.stall != nil {
		close(s.stall)
		s.stall = nil
	}
	s.mu.Unlock()
	s.api.Close()
	if s.codeload != s.api {
		s.codeload.Close()
	}
}

// URL returns the API base URL, ending in "/api/v3/", for go-github's
// WithEnterpriseURLs (or our Options.APIURL).
func (s *Server) URL() string { return s.api.URL + apiPrefix + "/" }

// Down makes every request, on both hosts, answer 503 until Up.
func (s *Server) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = true
}

// Up ends Down. Queued faults are kept.
func (s *Server) Up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = false
}

// Fail makes the next n requests whose path (as in [Request.Path]) starts
// with prefix answer status with GitHub's JSON error body
// ({"message": …, "documentation_url": …}; "Validation Failed" for 422).
// Faults are checked before authentication and queue in the order added.
func (s *Server) Fail(prefix string, n, status int) {
	s.addFault(&fault{prefix: prefix, left: n, status: status})
}

// RateLimit makes the next n requests under prefix answer 403 with
// X-RateLimit-Remaining: 0 and a reset a minute away, as GitHub does when
// the primary rate limit is spent (go-github: *github.RateLimitError).
func (s *Server) RateLimit(prefix string, n int) {
	s.addFault(&fault{prefix: prefix, left: n, status: http.StatusForbidden, kind: faultRateLimit})
}

// SecondaryRateLimit makes the next n requests under prefix answer 403
// with Retry-After: 60 and the secondary-rate-limits documentation URL
// (go-github: *github.AbuseRateLimitError).
func (s *Server) SecondaryRateLimit(prefix string, n int) {
	s.addFault(&fault{prefix: prefix, left: n, status: http.StatusForbidden, kind: faultSecondary})
}

// Hang makes the next n requests under prefix get no answer at all until
// the client gives up, as over a stalled connection.
func (s *Server) Hang(prefix string, n int) {
	s.addFault(&fault{prefix: prefix, left: n, status: http.StatusGatewayTimeout, kind: faultHang})
}

func (s *Server) addFault(f *fault) {
	if f.left <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// Accepted makes the next n deployment creations answer 202 Accepted
// without creating anything, as GitHub does when it merged the default
// branch into the ref first (go-github: *github.AcceptedError).
func (s *Server) Accepted(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted += n
}

// Stall makes archive downloads send the first half of the archive, then
// wait until resume is called (or the client goes away), so that a test
// can see a client stream rather than buffer. resume is idempotent.
func (s *Server) Stall() (resume func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.stall = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.stall == ch {
				s.stall = nil
			}
			s.mu.Unlock()
			close(ch)
		})
	}
}

// Requests returns every request answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Statuses returns the commit statuses created so far, in order.
func (s *Server) Statuses() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.statuses)
}

// Deployments returns the deployments created so far, in order.
func (s *Server) Deployments() []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deployments)
}

// DeploymentStatuses returns the deployment statuses created so far, in
// order.
func (s *Server) DeploymentStatuses() []DeploymentStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deploymentStatuses)
}

// IssuedTokens returns the installation tokens issued so far, in order.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

// serve answers one request on either host; foreign is true on the
// separate codeload host.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, foreign bool) {
	path := r.URL.Path
	if !foreign && strings.HasPrefix(path, apiPrefix+"/") {
		path = strings.TrimPrefix(path, apiPrefix)
	} else if !strings.HasPrefix(path, "/_codeload/") {
		path = "" // neither API nor codeload: 404 below
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: path, Status: rec.status})
		s.mu.Unlock()
	}()
	w = rec

	if s.injected(w, r, path) {
		return
	}
	switch {
	case path == "":
		notFound(w)
	case strings.HasPrefix(path, "/_codeload/"):
		s.serveCodeload(w, r, strings.TrimPrefix(path, "/_codeload/"), foreign)
	case strings.HasPrefix(path, "/app/"):
		s.serveApp(w, r, path)
	case strings.HasPrefix(path, "/repos/"):
		cred, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if w, ok = s.metered(w); ok {
			s.serveRepos(w, r, strings.TrimPrefix(path, "/repos/"), cred)
		}
	default:
		notFound(w)
	}
}

// injected answers r if the server is down or a fault matches.
func (s *Server) injected(w http.ResponseWriter, r *http.Request, path string) bool {
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		writeJSON(w, http.StatusServiceUnavailable, errorBody("Service Unavailable"))
		return true
	}
	var f fault
	for i, q := range s.faults {
		if strings.HasPrefix(path, q.prefix) {
			f = *q
			if q.left--; q.left == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			break
		}
	}
	s.mu.Unlock()
	switch {
	case f.status == 0:
		return false
	case f.kind == faultHang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		w.WriteHeader(f.status) // recorded; the client is gone
	case f.kind == faultRateLimit:
		h := w.Header()
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", "5000")
		h.Set("X-RateLimit-Reset", formatUnix(time.Now().Add(time.Minute)))
		writeJSON(w, f.status, map[string]string{
			"message":           "API rate limit exceeded for installation.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits",
		})
	case f.kind == faultSecondary:
		w.Header().Set("Retry-After", "60")
		writeJSON(w, f.status, map[string]string{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
	case f.status == http.StatusUnprocessableEntity:
		writeJSON(w, f.status, errorBody("Validation Failed"))
	default:
		writeJSON(w, f.status, errorBody(http.StatusText(f.status)))
	}
	return true
}

// statusRecorder remembers the status written, for Requests.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func errorBody(msg string) map[string]any {
	return map[string]any{"message": msg, "documentation_url": docsURL}
}

// notFound answers as GitHub does for unknown paths and for what the
// caller may not see.
func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, errorBody("Not Found"))
}

// validationFailed answers 422 with one field error, in GitHub's shape.
func validationFailed(w http.ResponseWriter, resource, field, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message": "Validation Failed",
		"errors": []map[string]string{
			{"resource": resource, "field": field, "code": "custom", "message": msg},
		},
		"documentation_url": docsURL,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func formatUnix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
