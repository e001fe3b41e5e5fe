// Package github is the GitHub adapter: webhook intake, and reporting
// back through the REST API (commit statuses, deployments, deployment
// statuses) with a token or as a GitHub App installation, plus the
// tarball downloads the Docker builder needs. Package githubtest is a
// fake of the API to test against.
package github

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"

	"github.com/countersign/countersign/bot"
)

// DefaultAPIURL is GitHub.com's REST API.
const DefaultAPIURL = "https://api.github.com/"

// DefaultTimeout bounds one API call when Options.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// ErrNoCredentials is returned by NewClient when Auth holds neither a
// token nor a GitHub App. It is not a misconfiguration as such: the
// caller may run without a Client and log that commit statuses and
// deployments are not reported to GitHub.
var ErrNoCredentials = errors.New("no GitHub token or App configured")

// Auth is how the Client authenticates: a token (a personal access or
// other token, sent as "Authorization: Bearer …"), or a GitHub App
// installation (AppID, InstallationID and the App's PEM private key,
// PKCS#1 as GitHub hands it out, or PKCS#8). Exactly one of the two.
type Auth struct {
	Token          string
	AppID          int64
	InstallationID int64
	PrivateKey     []byte
}

// String describes a without its secrets.
func (a Auth) String() string {
	switch {
	case a.Token != "" && a.isApp():
		return "github.Auth{token and app (invalid)}"
	case a.Token != "":
		return "github.Auth{token}"
	case a.isApp():
		return fmt.Sprintf("github.Auth{app %d, installation %d}", a.AppID, a.InstallationID)
	}
	return "github.Auth{}"
}

// GoString keeps %#v from printing the secrets.
func (a Auth) GoString() string { return a.String() }

// LogValue keeps slog from printing the secrets.
func (a Auth) LogValue() slog.Value { return slog.StringValue(a.String()) }

func (a Auth) isApp() bool {
	return a.AppID != 0 || a.InstallationID != 0 || len(a.PrivateKey) > 0
}

// Options are a Client's tunables; the zero value talks to GitHub.com.
type Options struct {
	// APIURL is the REST API base: DefaultAPIURL when empty, or a GitHub
	// Enterprise Server base such as https://ghe.example/api/v3/ (a bare
	// https://ghe.example/ gets api/v3/ appended, as go-github does).
	APIURL string
	// HTTPClient carries API calls; its Transport (default
	// http.DefaultTransport) also carries token exchanges and tarball
	// downloads. Its Timeout bounds API calls, and how long a tarball's
	// answer may take to begin, but not the archive, which is bounded by
	// its context only. Nil means a client with DefaultTimeout; a Timeout
	// of zero means DefaultTimeout too, so that no call waits forever.
	HTTPClient *http.Client
	// Logger gets a line per retried report. Nil discards.
	Logger *slog.Logger
}

// Client reports commit statuses and deployments to GitHub and downloads
// tarballs. Create it with NewClient; it is safe for concurrent use.
type Client struct {
	gh       *gh.Client
	api      *url.URL          // the resolved API base, ending in "/"
	download *http.Client      // no timeout: archives are streamed
	timeout  time.Duration     // for an API answer to begin
	guarded  *repHostTransport // holds the credentials in force: SetAuth
	log      *slog.Logger

	// acceptedRetries and acceptedWait say how often and how patiently a
	// deployment answered 202 Accepted is tried again.
	acceptedRetries int
	acceptedWait    time.Duration
}

// NewClient returns a Client for auth. It does no I/O: a GitHub App's
// installation token is fetched on first use (and cached and refreshed
// by ghinstallation). It returns ErrNoCredentials when auth is empty and
// another error when it holds both a token and an App, an incomplete App,
// a private key that is not an RSA key in PEM, or APIURL is not an
// http(s) URL.
func NewClient(auth Auth, o Options) (*Client, error) {
	switch {
	case auth.Token != "" && auth.isApp():
		return nil, errors.New("github: configure a token or a GitHub App, not both")
	case auth.Token == "" && !auth.isApp():
		return nil, ErrNoCredentials
	}
	base, upload, err := repResolveAPI(o.APIURL)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: DefaultTimeout}
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		hc = &c
	}
	if hc.Timeout <= 0 {
		hc.Timeout = DefaultTimeout
	}
	plain := hc.Transport
	if plain == nil {
		plain = http.DefaultTransport
	}

	cred, err := repCredentials(auth, plain, base)
	if err != nil {
		return nil, err
	}
	// Credentials go to the API host only: go-github follows 301s of
	// archive links through the transport itself, and codeload's
	// redirects leave it.
	guarded := &repHostTransport{api: repHostKey(base), plain: plain}
	guarded.cred.Store(cred)
	hc.Transport = guarded

	ghc := gh.NewClient(hc)
	if base.String() != DefaultAPIURL {
		if ghc, err = ghc.WithEnterpriseURLs(base.String(), upload.String()); err != nil {
			return nil, fmt.Errorf("github: api url: %w", err)
		}
	}
	ghc.UserAgent = "countersign"

	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{
		gh:              ghc,
		api:             base,
		download:        &http.Client{Transport: guarded, CheckRedirect: hc.CheckRedirect},
		timeout:         hc.Timeout,
		guarded:         guarded,
		log:             log,
		acceptedRetries: 3,
		acceptedWait:    time.Second,
	}, nil
}

// App reports whether the client authenticates as a GitHub App
// installation: only those may answer deployment protection rules.
func (c *Client) App() bool { return c.installation() != nil }

// installation is the App installation's transport in force; nil with a
// token.
func (c *Client) installation() *ghinstallation.Transport { return c.guarded.cred.Load().app }

// ErrAuthKind is returned by SetAuth for a switch between a token and a
// GitHub App: what the bot may do (gates) depends on it, so it takes a
// restart.
var ErrAuthKind = errors.New("github: switching between a token and a GitHub App needs a restart")

// SetAuth replaces the credentials of the API calls made from now on (a
// config reload); a call already sent finishes with the old ones. auth
// must be of the same kind as the credentials in force (ErrAuthKind) and
// valid as for NewClient; otherwise nothing changes.
func (c *Client) SetAuth(auth Auth) error {
	switch {
	case auth.Token != "" && auth.isApp():
		return errors.New("github: configure a token or a GitHub App, not both")
	case auth.Token == "" && !auth.isApp():
		return ErrNoCredentials
	case auth.isApp() != c.App():
		return ErrAuthKind
	}
	cred, err := repCredentials(auth, c.guarded.plain, c.api)
	if err != nil {
		return err
	}
	c.guarded.cred.Store(cred)
	return nil
}

// repCredentials builds the authenticating transport for auth over plain.
func repCredentials(auth Auth, plain http.RoundTripper, base *url.URL) (*repCred, error) {
	if auth.Token != "" {
		if strings.ContainsAny(auth.Token, " \r\n\t") {
			return nil, errors.New("github: the token contains whitespace")
		}
		return &repCred{authed: &repTokenTransport{base: plain, token: auth.Token}}, nil
	}
	tr, err := appTransport(plain, auth, strings.TrimSuffix(base.String(), "/"))
	if err != nil {
		return nil, err
	}
	return &repCred{authed: tr, app: tr}, nil
}

// repCred is one set of credentials: the transport that adds them, and
// the App installation's when they are an App's.
type repCred struct {
	authed http.RoundTripper
	app    *ghinstallation.Transport // nil with a token
}

// repResolveAPI validates raw and returns the API base as go-github will
// use it (WithEnterpriseURLs appends api/v3/ to a bare Enterprise host)
// and an uploads URL to go with it.
func repResolveAPI(raw string) (base, upload *url.URL, err error) {
	if raw == "" {
		raw = DefaultAPIURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, errors.New("github: api url must be an http(s) URL such as https://ghe.example/api/v3/")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, nil, errors.New("github: api url must not carry credentials, a query or a fragment")
	}
	if strings.EqualFold(u.Host, "api.github.com") {
		base, _ := url.Parse(DefaultAPIURL)
		upload, _ := url.Parse("https://uploads.github.com/")
		return base, upload, nil
	}
	up := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/api/uploads/"}
	probe, err := gh.NewClient(nil).WithEnterpriseURLs(u.String(), up.String())
	if err != nil {
		return nil, nil, fmt.Errorf("github: api url: %w", err)
	}
	return probe.BaseURL, probe.UploadURL, nil
}

// repTokenTransport authenticates requests with a token.
type repTokenTransport struct {
	base  http.RoundTripper
	token string
}

func (t *repTokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.base.RoundTrip(r)
}

// repHostTransport sends requests for the API host through authed and
// all others through plain, so that credentials never leave the API host.
type repHostTransport struct {
	api   string // repHostKey of the API base
	cred  atomic.Pointer[repCred]
	plain http.RoundTripper
}

func (t *repHostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if repHostKey(req.URL) == t.api {
		return t.cred.Load().authed.RoundTrip(req)
	}
	return t.plain.RoundTrip(req)
}

// repHostKey is scheme://host:port with the default port filled in, so
// that https://ghe.example and https://ghe.example:443 compare equal.
func repHostKey(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// repRejectedError marks a GitHub error that retrying will not fix: it
// matches bot.ErrChatRejected (so the outbox drops the report) and still
// unwraps to go-github's error. Its message is the underlying one.
type repRejectedError struct{ err error }

func (e *repRejectedError) Error() string   { return e.err.Error() }
func (e *repRejectedError) Unwrap() []error { return []error{bot.ErrChatRejected, e.err} }

// repRejectf returns a rejected error for input GitHub would refuse.
func repRejectf(format string, args ...any) error {
	return &repRejectedError{fmt.Errorf(format, args...)}
}

// repClassify marks err rejected unless it is known to heal: rate limits
// (403 with X-RateLimit-Remaining: 0 or Retry-After, go-github's
// *RateLimitError and *AbuseRateLimitError), 408, 429, 5xx and network
// errors stay plain, to be retried. Any other answer GitHub (or its token
// endpoint) gives is a client error that will not heal: 4xx, including
// statuses GitHub adds later. resp may be nil.
func repClassify(err error, resp *gh.Response) error {
	if err == nil {
		return nil
	}
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &rl) || errors.As(err, &ab) {
		return err
	}
	var status int
	var header http.Header
	var he *ghinstallation.HTTPError
	var er *gh.ErrorResponse
	var tf *gh.TwoFactorAuthError
	switch {
	case errors.As(err, &he) && he.Response != nil:
		// ghinstallation leaves a failed token exchange's body open.
		he.Response.Body.Close()
		status, header = he.Response.StatusCode, he.Response.Header
	case errors.As(err, &tf):
		status = http.StatusUnauthorized
	case errors.As(err, &er) && er.Response != nil:
		status, header = er.Response.StatusCode, er.Response.Header
	case resp != nil && resp.Response != nil:
		status, header = resp.StatusCode, resp.Header
	}
	if repPermanent(status, header) {
		return &repRejectedError{err}
	}
	return err
}

func repPermanent(status int, h http.Header) bool {
	switch {
	case status == http.StatusForbidden && (h.Get("X-RateLimit-Remaining") == "0" || h.Get("Retry-After") != ""),
		status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return false
	}
	return status >= 400 && status < 500
}
