package github_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
)

const (
	appID           = 4242
	appInstallation = 77
)

// appKeys are two App keys, generated once: the App's and a stranger's.
var appKeys = sync.OnceValues(func() ([2]*rsa.PrivateKey, error) {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return keys, err
		}
		keys[i] = k
	}
	return keys, nil
})

func appKey(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	keys, err := appKeys()
	if err != nil {
		t.Fatal(err)
	}
	return keys[i]
}

func appPEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func appServer(t *testing.T, opts githubtest.Options) *githubtest.Server {
	t.Helper()
	opts.AppID, opts.InstallationID = appID, appInstallation
	opts.AppPublicKey = &appKey(t, 0).PublicKey
	srv := githubtest.New(opts)
	t.Cleanup(srv.Close)
	return srv
}

func appClient(t *testing.T, srv *githubtest.Server, api string, key *rsa.PrivateKey, installation int64) *github.Client {
	t.Helper()
	if api == "" {
		api = srv.URL()
	}
	c, err := github.NewClient(github.Auth{AppID: appID, InstallationID: installation, PrivateKey: appPEM(key)},
		github.Options{APIURL: api})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var appStatus = bot.Report{Repo: repRepo, SHA: repSHA, Status: &bot.CommitStatus{Context: "countersign/web", State: "success"}}

func TestClient_App(t *testing.T) {
	srv := appServer(t, githubtest.Options{})
	// A bare Enterprise host: the token exchange must go to /api/v3/app/… too.
	root := strings.TrimSuffix(srv.URL(), "api/v3/")
	c := appClient(t, srv, root, appKey(t, 0), appInstallation)
	for range 3 {
		if _, err := c.Report(repCtx(t), appStatus); err != nil {
			t.Fatalf("Report: %v", err)
		}
	}
	issued := srv.IssuedTokens()
	if len(issued) != 1 || !strings.HasPrefix(issued[0], "ghs_") {
		t.Fatalf("issued tokens %q, want one ghs_ token cached for three reports", issued)
	}
	for _, st := range srv.Statuses() {
		if st.Credential != issued[0] {
			t.Errorf("status sent with %q, want the installation token", st.Credential)
		}
	}
	reqs := srv.Requests()
	want := githubtest.Request{Method: http.MethodPost, Path: fmt.Sprintf("/app/installations/%d/access_tokens", appInstallation), Status: http.StatusCreated}
	if len(reqs) == 0 || reqs[0] != want {
		t.Errorf("first request %+v, want %+v", reqs[0], want)
	}
}

func TestClient_AppRefresh(t *testing.T) {
	// ghinstallation refreshes a minute before expiry: a 30s token is
	// stale at once, so every report fetches a new one.
	srv := appServer(t, githubtest.Options{TokenLifetime: 30 * time.Second})
	c := appClient(t, srv, "", appKey(t, 0), appInstallation)
	for range 2 {
		if _, err := c.Report(repCtx(t), appStatus); err != nil {
			t.Fatal(err)
		}
	}
	issued := srv.IssuedTokens()
	st := srv.Statuses()
	if len(issued) != 2 || st[0].Credential != issued[0] || st[1].Credential != issued[1] {
		t.Errorf("issued %q, statuses sent with %q and %q; want a fresh token each", issued, st[0].Credential, st[1].Credential)
	}
}

func TestClient_AppErrors(t *testing.T) {
	for _, tc := range []struct {
		name         string
		key          int
		installation int64
		break_       func(*githubtest.Server)
		rejected     bool
	}{
		{"wrong key", 1, appInstallation, nil, true},
		{"unknown installation", 0, appInstallation + 1, nil, true},
		{"token endpoint down", 0, appInstallation, func(s *githubtest.Server) { s.Fail("/app/", 1, 503) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := appServer(t, githubtest.Options{})
			if tc.break_ != nil {
				tc.break_(srv)
			}
			c := appClient(t, srv, "", appKey(t, tc.key), tc.installation)
			_, err := c.Report(repCtx(t), appStatus)
			if err == nil {
				t.Fatal("Report: no error")
			}
			if got := errors.Is(err, bot.ErrChatRejected); got != tc.rejected {
				t.Errorf("Report = %q: rejected %v, want %v", err, got, tc.rejected)
			}
			repNoSecret(t, err, "Bearer", "eyJ", "PRIVATE KEY")
			if len(srv.Statuses()) != 0 {
				t.Error("a status got through")
			}
			if !tc.rejected { // a transient failure heals on the next try
				if _, err := c.Report(repCtx(t), appStatus); err != nil {
					t.Errorf("second Report: %v", err)
				}
			}
		})
	}
}

func TestNewClient_Errors(t *testing.T) {
	key := appPEM(appKey(t, 0))
	for _, tc := range []struct {
		name string
		auth github.Auth
		opts github.Options
		want error // nil: any error
	}{
		{"neither", github.Auth{}, github.Options{}, github.ErrNoCredentials},
		{"both", github.Auth{Token: repToken, AppID: appID, InstallationID: 1, PrivateKey: key}, github.Options{}, nil},
		{"no installation", github.Auth{AppID: appID, PrivateKey: key}, github.Options{}, nil},
		{"no key", github.Auth{AppID: appID, InstallationID: 1}, github.Options{}, nil},
		{"bad key", github.Auth{AppID: appID, InstallationID: 1, PrivateKey: []byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")}, github.Options{}, nil},
		{"bad api url", github.Auth{Token: repToken}, github.Options{APIURL: "ghe.example"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := github.NewClient(tc.auth, tc.opts)
			if err == nil || c != nil {
				t.Fatalf("NewClient = %v, %v; want an error", c, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("NewClient: %v, want %v", err, tc.want)
			}
			if tc.want == nil && errors.Is(err, github.ErrNoCredentials) {
				t.Errorf("NewClient: %v, want an error other than ErrNoCredentials", err)
			}
			repNoSecret(t, err, "AAAA")
		})
	}
	if _, err := github.NewClient(github.Auth{Token: repToken}, github.Options{}); err != nil {
		t.Errorf("NewClient(token, defaults): %v", err)
	}
}

func TestAuth_Redacted(t *testing.T) {
	key := appPEM(appKey(t, 0))
	for _, a := range []github.Auth{{Token: repToken}, {AppID: appID, InstallationID: 1, PrivateKey: key}} {
		var log strings.Builder
		slog.New(slog.NewTextHandler(&log, nil)).Info("auth", "auth", a)
		for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a), log.String()} {
			if strings.Contains(s, repToken) || strings.Contains(s, "PRIVATE KEY") {
				t.Errorf("Auth printed as %q", s)
			}
		}
	}
}
