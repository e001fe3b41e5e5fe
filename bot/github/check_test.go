package github_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
)

// chkNeed is what a push service with build: docker needs.
var chkNeed = github.Need{Repo: repRepo, Contents: "tarball for build: docker", Statuses: "commit statuses", Deployments: "deployments"}

// chkReports is what a service that builds elsewhere needs.
var chkReports = github.Need{Repo: repRepo, Statuses: "commit statuses", Deployments: "deployments"}

func TestClient_Check(t *testing.T) {
	public := map[string]githubtest.Repo{repRepo: {}}
	private := map[string]githubtest.Repo{repRepo: {Private: true}}
	all := map[string]string{"contents": "read", "statuses": "write", "deployments": "write", "pull_requests": "read"}
	noContents := map[string]string{"statuses": "write", "deployments": "write"}
	for _, tc := range []struct {
		name string
		opts githubtest.Options
		app  bool
		need github.Need
		want []string // substrings of the error; none: Check passes
	}{
		{name: "classic repo scope", opts: githubtest.Options{Scopes: []string{"repo"}, Repos: private}, need: chkNeed},
		{name: "classic narrow scopes, private repo (the old deploy README)",
			opts: githubtest.Options{Scopes: []string{"repo:status", "repo_deployment"}, Repos: private}, need: chkNeed,
			want: []string{"GitHub token cannot see acme/web (404)", "lacks the repo scope (it has: repo:status, repo_deployment)"}},
		{name: "classic narrow scopes, public repo", opts: githubtest.Options{Scopes: []string{"repo:status", "repo_deployment"}, Repos: public}, need: chkNeed},
		{name: "classic without repo_deployment",
			opts: githubtest.Options{Scopes: []string{"repo:status"}, Repos: public}, need: chkReports,
			want: []string{"GitHub token cannot create deployments of acme/web: needs Deployments: write (deployments): a classic token needs the repo or repo_deployment scope"}},
		{name: "fine-grained with everything", opts: githubtest.Options{FineGrained: all, Repos: private}, need: chkNeed},
		{name: "fine-grained without contents",
			opts: githubtest.Options{FineGrained: noContents, Repos: private}, need: chkNeed,
			want: []string{"GitHub token cannot read contents of acme/web: needs Contents: read (tarball for build: docker)", "fine-grained token's repository permissions"}},
		{name: "fine-grained without contents, no build", opts: githubtest.Options{FineGrained: noContents, Repos: private}, need: chkReports},
		{name: "fine-grained without pull requests",
			opts: githubtest.Options{FineGrained: noContents, Repos: private}, need: github.Need{Repo: repRepo, PullRequests: "pull_requests: true"},
			want: []string{"cannot read pull requests of acme/web: needs Pull requests: read (pull_requests: true)"}},
		{name: "fine-grained without the repository",
			opts: githubtest.Options{FineGrained: all, Repos: map[string]githubtest.Repo{"acme/other": {}}}, need: chkNeed,
			want: []string{"GitHub token cannot see acme/web (404)", "not among the fine-grained token's repositories"}},
		{name: "app with everything", app: true, opts: githubtest.Options{AppPermissions: all, Repos: private}, need: chkNeed},
		{name: "app without contents", app: true,
			opts: githubtest.Options{AppPermissions: noContents, Repos: private}, need: chkNeed,
			want: []string{"GitHub App installation 77 cannot read contents of acme/web: needs Contents: read (tarball for build: docker)", "App's Permissions"}},
		{name: "app without statuses", app: true,
			opts: githubtest.Options{AppPermissions: map[string]string{"contents": "read", "statuses": "read", "deployments": "write"}, Repos: private}, need: chkNeed,
			want: []string{"cannot write commit statuses of acme/web: needs Commit statuses: write (commit statuses)"}},
		{name: "app not installed on the repository", app: true,
			opts: githubtest.Options{AppPermissions: all, Repos: map[string]githubtest.Repo{}}, need: chkNeed,
			want: []string{"GitHub App installation 77 cannot see acme/web (404)", "not installed on it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *github.Client
			if tc.app {
				c = appClient(t, appServer(t, tc.opts), "", appKey(t, 0), appInstallation)
			} else {
				c = repClient(t, repServer(t, tc.opts))
			}
			warnings, err := c.Check(repCtx(t), []github.Need{tc.need})
			if len(warnings) > 0 {
				t.Errorf("warnings: %v", warnings)
			}
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check passed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			repNoSecret(t, err)
		})
	}
}

func TestClient_CheckRefusedToken(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	c, err := github.NewClient(github.Auth{Token: "ghp_wrong"}, github.Options{APIURL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Check(repCtx(t), []github.Need{chkNeed})
	if err == nil || !strings.Contains(err.Error(), "GitHub token was refused (401 Bad credentials)") {
		t.Errorf("Check = %v, want the token refused", err)
	}
	repNoSecret(t, err, "ghp_wrong")
}

func TestClient_CheckAppKeyRefused(t *testing.T) {
	c := appClient(t, appServer(t, githubtest.Options{}), "", appKey(t, 1), appInstallation)
	_, err := c.Check(repCtx(t), []github.Need{chkNeed})
	if err == nil || !strings.Contains(err.Error(), "cannot get an installation token") {
		t.Errorf("Check = %v, want the App refused", err)
	}
}

// GitHub being down or stalled at start is a warning, not a refusal to
// start, and a stalled connection does not hold start-up.
func TestClient_CheckIncomplete(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(*githubtest.Server)
	}{
		{"down", func(s *githubtest.Server) { s.Fail("/repos/", 1, http.StatusServiceUnavailable) }},
		{"stalled", func(s *githubtest.Server) { s.Hang("/repos/", 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := repServer(t, githubtest.Options{})
			tc.break_(srv)
			c, err := github.NewClient(github.Auth{Token: repToken},
				github.Options{APIURL: srv.URL(), HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			ctx := repCtx(t)
			warnings, err := c.Check(ctx, []github.Need{chkNeed})
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if len(warnings) != 1 || !errors.Is(warnings[0], github.ErrCheckIncomplete) || ctx.Err() != nil {
				t.Errorf("warnings = %v, want one ErrCheckIncomplete before the test's deadline", warnings)
			}
		})
	}
}

// The fake refuses an installation without a permission as GitHub does,
// and the refusal is final for the outbox.
func TestClient_AppWithoutPermissionRefused(t *testing.T) {
	srv := appServer(t, githubtest.Options{AppPermissions: map[string]string{"contents": "read", "statuses": "read"}})
	c := appClient(t, srv, "", appKey(t, 0), appInstallation)
	_, err := c.Report(repCtx(t), appStatus)
	if err == nil || !errors.Is(err, bot.ErrChatRejected) || !strings.Contains(err.Error(), "Resource not accessible by integration") {
		t.Errorf("Report = %v, want a final 403", err)
	}
}
