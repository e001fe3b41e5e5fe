package github_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
)

const (
	repToken = "ghp_repTestTokenThatMustNeverShow0123456789"
	repRepo  = "acme/web"
	repSHA   = "0123456789abcdef0123456789abcdef01234567"
)

// repServer starts a fake GitHub that accepts repToken.
func repServer(t *testing.T, opts githubtest.Options) *githubtest.Server {
	t.Helper()
	if opts.Token == "" {
		opts.Token = repToken
	}
	srv := githubtest.New(opts)
	t.Cleanup(srv.Close)
	return srv
}

// repClient returns a token Client for srv.
func repClient(t *testing.T, srv *githubtest.Server) *github.Client {
	t.Helper()
	c, err := github.NewClient(github.Auth{Token: repToken}, github.Options{APIURL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	github.SetAcceptedWait(c, time.Millisecond)
	return c
}

func repCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// repNoSecret fails if err's message shows a credential.
func repNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range append(secrets, repToken) {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows a secret", err)
		}
	}
}

func TestClient_ReportStatus(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	c := repClient(t, srv)
	long := strings.Repeat("déployé ", 30) // 240 characters, multibyte
	for _, r := range []bot.CommitStatus{
		{Context: "countersign/web", State: "pending", Description: long, TargetURL: "https://cs.example/requests/R1"},
		{Context: "countersign/web", State: "success", Description: "deployed", TargetURL: "slack://channel?id=C1"},
		{Context: "countersign/api", State: "failure"},
	} {
		if _, err := c.Report(repCtx(t), bot.Report{Repo: repRepo, SHA: repSHA, Status: &r}); err != nil {
			t.Fatalf("Report(%+v): %v", r, err)
		}
	}
	got := srv.Statuses()
	want := []githubtest.Status{
		{
			Repo: repRepo, SHA: repSHA, Context: "countersign/web", State: "pending",
			Description: string([]rune(long)[:139]) + "…", TargetURL: "https://cs.example/requests/R1",
			Keys: []string{"context", "description", "state", "target_url"}, Credential: repToken,
		},
		{
			Repo: repRepo, SHA: repSHA, Context: "countersign/web", State: "success", Description: "deployed",
			Keys: []string{"context", "description", "state"}, Credential: repToken,
		},
		{
			Repo: repRepo, SHA: repSHA, Context: "countersign/api", State: "failure",
			Keys: []string{"context", "state"}, Credential: repToken,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statuses:\n got %+v\nwant %+v", got, want)
	}
	if n := utf8.RuneCountInString(got[0].Description); n != 140 {
		t.Errorf("description is %d characters, want 140", n)
	}
}

func TestClient_ReportDeployment(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	c := repClient(t, srv)
	ctx := repCtx(t)
	// Our own pending status is on the commit: without required_contexts
	// [] GitHub would refuse the deployment with 409.
	if _, err := c.Report(ctx, bot.Report{Repo: repRepo, SHA: repSHA,
		Status: &bot.CommitStatus{Context: "countersign/web", State: "pending"}}); err != nil {
		t.Fatal(err)
	}
	id, err := c.Report(ctx, bot.Report{Repo: repRepo, SHA: repSHA, Deployment: &bot.Deployment{
		Environment: "web",
		Description: strings.Repeat("x", 150),
		Payload:     map[string]string{"request": "R1", "image": "registry.example/web@sha256:abc"},
	}})
	if err != nil {
		t.Fatalf("Report(Deployment): %v", err)
	}
	deps := srv.Deployments()
	if len(deps) != 1 {
		t.Fatalf("%d deployments, want 1", len(deps))
	}
	d := deps[0]
	if want := strconv.FormatInt(d.ID, 10); id != want {
		t.Errorf("Report returned ID %q, want GitHub's %q", id, want)
	}
	if d.AutoMerge == nil || *d.AutoMerge {
		t.Errorf("auto_merge = %v, want false sent", d.AutoMerge)
	}
	if d.RequiredContexts == nil || len(*d.RequiredContexts) != 0 {
		t.Errorf("required_contexts = %v, want [] sent", d.RequiredContexts)
	}
	wantPayload := map[string]any{"request": "R1", "image": "registry.example/web@sha256:abc"}
	if !reflect.DeepEqual(d.Payload, wantPayload) {
		t.Errorf("payload = %#v, want %#v", d.Payload, wantPayload)
	}
	for _, f := range []struct{ name, got, want string }{
		{"repo", d.Repo, repRepo},
		{"ref", d.Ref, repSHA},
		{"environment", d.Environment, "web"},
		{"description", d.Description, strings.Repeat("x", 139) + "…"},
		{"task", d.Task, "deploy"},
		{"keys", strings.Join(d.Keys, ","), "auto_merge,description,environment,payload,ref,required_contexts"},
		{"credential", d.Credential, repToken},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}

	// No payload: none is sent (a nil map would be null, which GitHub refuses).
	if _, err := c.Report(ctx, bot.Report{Repo: repRepo, SHA: repSHA, Deployment: &bot.Deployment{Environment: "api"}}); err != nil {
		t.Fatalf("Report(Deployment without payload): %v", err)
	}
	if d := srv.Deployments()[1]; d.Payload != nil || strings.Contains(strings.Join(d.Keys, ","), "payload") {
		t.Errorf("deployment without payload sent keys %v", d.Keys)
	}
}

func TestClient_ReportDeploymentStatus(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	c := repClient(t, srv)
	ctx := repCtx(t)
	id, err := c.Report(ctx, bot.Report{Repo: repRepo, SHA: repSHA, Deployment: &bot.Deployment{Environment: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ds := range []bot.DeploymentStatus{
		{Deployment: id, State: "in_progress", Description: "rolling out", LogURL: "https://cs.example/requests/R1"},
		{Deployment: id, State: "success", Description: strings.Repeat("ü", 141), LogURL: "file:///etc/passwd"},
	} {
		if _, err := c.Report(ctx, bot.Report{Repo: repRepo, SHA: repSHA, DeploymentStatus: &ds}); err != nil {
			t.Fatalf("Report(%+v): %v", ds, err)
		}
	}
	dep := srv.Deployments()[0].ID
	got := srv.DeploymentStatuses()
	for i := range got {
		got[i].ID = 0
	}
	want := []githubtest.DeploymentStatus{
		{Repo: repRepo, DeploymentID: dep, State: "in_progress", Description: "rolling out",
			LogURL: "https://cs.example/requests/R1", Keys: []string{"description", "log_url", "state"}, Credential: repToken},
		{Repo: repRepo, DeploymentID: dep, State: "success", Description: strings.Repeat("ü", 139) + "…",
			Keys: []string{"description", "state"}, Credential: repToken},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("deployment statuses:\n got %+v\nwant %+v", got, want)
	}
}

func TestClient_ReportAccepted(t *testing.T) {
	ctx := repCtx(t)
	dep := bot.Report{Repo: repRepo, SHA: repSHA, Deployment: &bot.Deployment{Environment: "web"}}
	creations := func(srv *githubtest.Server) int {
		n := 0
		for _, r := range srv.Requests() {
			if r.Method == http.MethodPost && r.Path == "/repos/"+repRepo+"/deployments" {
				n++
			}
		}
		return n
	}

	t.Run("heals", func(t *testing.T) {
		srv := repServer(t, githubtest.Options{})
		srv.Accepted(2)
		id, err := repClient(t, srv).Report(ctx, dep)
		if err != nil {
			t.Fatalf("Report after two 202s: %v", err)
		}
		if deps := srv.Deployments(); len(deps) != 1 || id != strconv.FormatInt(deps[0].ID, 10) {
			t.Errorf("Report = %q; deployments %+v", id, deps)
		}
		if n := creations(srv); n != 3 {
			t.Errorf("%d creation requests, want 3", n)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		srv := repServer(t, githubtest.Options{})
		srv.Accepted(100)
		_, err := repClient(t, srv).Report(ctx, dep)
		var accepted *gh.AcceptedError
		if !errors.As(err, &accepted) || errors.Is(err, bot.ErrChatRejected) {
			t.Fatalf("Report = %v, want a plain error wrapping *github.AcceptedError", err)
		}
		if !strings.Contains(err.Error(), "Auto-merged") {
			t.Errorf("error %q does not say why GitHub answered 202", err)
		}
		if n := creations(srv); n != 4 || len(srv.Deployments()) != 0 {
			t.Errorf("%d creation requests, %d deployments; want 4, 0", n, len(srv.Deployments()))
		}
	})
}

func TestClient_ReportErrors(t *testing.T) {
	status := bot.Report{Repo: repRepo, SHA: repSHA, Status: &bot.CommitStatus{Context: "countersign/web", State: "success"}}
	for _, tc := range []struct {
		name     string
		break_   func(*githubtest.Server)
		token    string
		rejected bool
		as       any // a pointer to an error type err must match, or nil
	}{
		{"validation failed 422", func(s *githubtest.Server) { s.Fail("/repos/", 1, 422) }, "", true, new(*gh.ErrorResponse)},
		{"not found 404", func(s *githubtest.Server) { s.Fail("/repos/", 1, 404) }, "", true, nil},
		{"forbidden 403", func(s *githubtest.Server) { s.Fail("/repos/", 1, 403) }, "", true, nil},
		{"bad credentials 401", nil, "ghp_wrong", true, nil},
		{"payload too large 413, a status GitHub may add", func(s *githubtest.Server) { s.Fail("/repos/", 1, 413) }, "", true, nil},
		{"method not allowed 405", func(s *githubtest.Server) { s.Fail("/repos/", 1, 405) }, "", true, nil},
		{"unavailable for legal reasons 451", func(s *githubtest.Server) { s.Fail("/repos/", 1, 451) }, "", true, nil},
		{"request timeout 408", func(s *githubtest.Server) { s.Fail("/repos/", 1, 408) }, "", false, nil},
		{"unavailable 503", func(s *githubtest.Server) { s.Fail("/repos/", 1, 503) }, "", false, nil},
		{"internal 500", func(s *githubtest.Server) { s.Fail("/repos/", 1, 500) }, "", false, nil},
		{"too many requests 429", func(s *githubtest.Server) { s.Fail("/repos/", 1, 429) }, "", false, nil},
		{"down", func(s *githubtest.Server) { s.Down() }, "", false, nil},
		{"rate limit", func(s *githubtest.Server) { s.RateLimit("/repos/", 1) }, "", false, new(*gh.RateLimitError)},
		{"secondary rate limit", func(s *githubtest.Server) { s.SecondaryRateLimit("/repos/", 1) }, "", false, new(*gh.AbuseRateLimitError)},
		{"network", func(s *githubtest.Server) { s.Close() }, "", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := repServer(t, githubtest.Options{})
			token := repToken
			if tc.token != "" {
				token = tc.token
			}
			c, err := github.NewClient(github.Auth{Token: token}, github.Options{APIURL: srv.URL()})
			if err != nil {
				t.Fatal(err)
			}
			if tc.break_ != nil {
				tc.break_(srv)
			}
			_, err = c.Report(repCtx(t), status)
			if err == nil {
				t.Fatal("Report: no error")
			}
			if got := errors.Is(err, bot.ErrChatRejected); got != tc.rejected {
				t.Errorf("Report = %q: rejected %v, want %v", err, got, tc.rejected)
			}
			if tc.as != nil && !errors.As(err, tc.as) {
				t.Errorf("Report = %q (%T), want it to match %T", err, err, tc.as)
			}
			repNoSecret(t, err, token)
		})
	}
}

func TestClient_ReportMalformed(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	c := repClient(t, srv)
	st := &bot.CommitStatus{Context: "countersign/web", State: "success"}
	for _, tc := range []struct {
		name string
		r    bot.Report
	}{
		{"no repo", bot.Report{SHA: repSHA, Status: st}},
		{"path in repo", bot.Report{Repo: "acme/../admin", SHA: repSHA, Status: st}},
		{"query in repo", bot.Report{Repo: "acme/web?x=1", SHA: repSHA, Status: st}},
		{"short sha", bot.Report{Repo: repRepo, SHA: "0123456", Status: st}},
		{"nothing set", bot.Report{Repo: repRepo, SHA: repSHA}},
		{"two set", bot.Report{Repo: repRepo, SHA: repSHA, Status: st, Deployment: &bot.Deployment{Environment: "web"}}},
		{"bot's own deployment ID", bot.Report{Repo: repRepo, SHA: repSHA,
			DeploymentStatus: &bot.DeploymentStatus{Deployment: "D-1", State: "success"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Report(repCtx(t), tc.r)
			if !errors.Is(err, bot.ErrChatRejected) {
				t.Errorf("Report = %v, want an error matching bot.ErrChatRejected", err)
			}
		})
	}
	if reqs := srv.Requests(); len(reqs) != 0 {
		t.Errorf("malformed reports reached GitHub: %+v", reqs)
	}
}

func TestClient_ReportUnknownDeployment(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	_, err := repClient(t, srv).Report(repCtx(t), bot.Report{Repo: repRepo, SHA: repSHA,
		DeploymentStatus: &bot.DeploymentStatus{Deployment: "999999", State: "success"}})
	if !errors.Is(err, bot.ErrChatRejected) {
		t.Errorf("Report = %v, want GitHub's 404 to match bot.ErrChatRejected", err)
	}
}

func TestClient_EnterpriseURL(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	// A bare Enterprise host: go-github appends api/v3/.
	root := strings.TrimSuffix(srv.URL(), "api/v3/")
	for _, api := range []string{root, strings.TrimSuffix(srv.URL(), "/")} {
		c, err := github.NewClient(github.Auth{Token: repToken}, github.Options{APIURL: api})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Report(repCtx(t), bot.Report{Repo: repRepo, SHA: repSHA,
			Status: &bot.CommitStatus{Context: "countersign/web", State: "success"}}); err != nil {
			t.Errorf("APIURL %s: Report: %v", api, err)
		}
	}
	if n := len(srv.Statuses()); n != 2 {
		t.Errorf("%d statuses reached /api/v3/, want 2", n)
	}
}

func TestClient_Concurrent(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	c := repClient(t, srv)
	ctx := repCtx(t)
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			_, err := c.Report(ctx, bot.Report{Repo: repRepo, SHA: repSHA,
				Status: &bot.CommitStatus{Context: "countersign/svc" + strconv.Itoa(i), State: "success"}})
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(srv.Statuses()); n != 20 {
		t.Errorf("%d statuses, want 20", n)
	}
}
