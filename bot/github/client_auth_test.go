package github_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
)

// TestClient_SetAuthToken: after SetAuth, calls carry the new token: a
// client made with a token GitHub refuses works once given the right
// one, and stops working when given another.
func TestClient_SetAuthToken(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	c, err := github.NewClient(github.Auth{Token: "ghp_the_old_token"}, github.Options{APIURL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Report(repCtx(t), appStatus); err == nil {
		t.Fatal("a report with a token the fake does not know was taken")
	}
	if err := c.SetAuth(github.Auth{Token: repToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Report(repCtx(t), appStatus); err != nil {
		t.Fatalf("a report after the swap to the right token: %v", err)
	}
	if st := srv.Statuses(); len(st) != 1 || st[0].Credential != repToken {
		t.Fatalf("statuses %+v, want one sent with the new token", st)
	}
	if err := c.SetAuth(github.Auth{Token: "ghp_yet_another_token"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Report(repCtx(t), appStatus); err == nil {
		t.Error("after a swap away from the right token, a report was still taken with it")
	}
}

// TestClient_SetAuthApp: a rotated App private key (or another
// installation) is used from the swap on.
func TestClient_SetAuthApp(t *testing.T) {
	srv := appServer(t, githubtest.Options{})
	c := appClient(t, srv, "", appKey(t, 1), appInstallation)
	if _, err := c.Report(repCtx(t), appStatus); err == nil {
		t.Fatal("a report signed with a key GitHub does not know was taken")
	}
	if err := c.SetAuth(github.Auth{AppID: appID, InstallationID: appInstallation, PrivateKey: appPEM(appKey(t, 0))}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Report(repCtx(t), appStatus); err != nil {
		t.Fatalf("a report after the swap to the right key: %v", err)
	}
	if !c.App() {
		t.Error("the client is no longer an App's")
	}
}

// TestClient_SetAuthRefusals: every refused swap names its reason and
// leaves the credentials in force.
func TestClient_SetAuthRefusals(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	c := repClient(t, srv)
	for _, tc := range []struct {
		name string
		auth github.Auth
		want error
	}{
		{"to an App", github.Auth{AppID: appID, InstallationID: appInstallation, PrivateKey: appPEM(appKey(t, 0))}, github.ErrAuthKind},
		{"nothing", github.Auth{}, github.ErrNoCredentials},
		{"both", github.Auth{Token: "t", AppID: appID, InstallationID: 1, PrivateKey: []byte("k")}, nil},
		{"whitespace", github.Auth{Token: "ghp_a b"}, nil},
	} {
		err := c.SetAuth(tc.auth)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("SetAuth %s: %v, want refused (%v)", tc.name, err, tc.want)
		}
	}
	if _, err := c.Report(repCtx(t), appStatus); err != nil {
		t.Fatalf("after refused swaps the token in force changed: %v", err)
	}

	app := appClient(t, appServer(t, githubtest.Options{}), "", appKey(t, 0), appInstallation)
	for _, tc := range []struct {
		name string
		auth github.Auth
		want error
	}{
		{"to a token", github.Auth{Token: repToken}, github.ErrAuthKind},
		{"a key that is not PEM", github.Auth{AppID: appID, InstallationID: appInstallation, PrivateKey: []byte("not a key")}, nil},
		{"no installation", github.Auth{AppID: appID, PrivateKey: appPEM(appKey(t, 0))}, nil},
	} {
		err := app.SetAuth(tc.auth)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("App SetAuth %s: %v, want refused (%v)", tc.name, err, tc.want)
		}
	}
	if _, err := app.Report(repCtx(t), appStatus); err != nil {
		t.Fatalf("after refused swaps the App key in force changed: %v", err)
	}
}

// TestClient_SetAuthWhileReporting (for -race).
func TestClient_SetAuthWhileReporting(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	c := repClient(t, srv)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				c.Report(repCtx(t), appStatus) //nolint:errcheck // either token may be in force
			}
		}()
	}
	for i := range 20 {
		tok := repToken
		if i%2 == 0 {
			tok = "ghp_another_token"
		}
		if err := c.SetAuth(github.Auth{Token: tok}); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}
