package github_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
	"github.com/countersign/countersign/policies"
)

// prIntake is a hookIntake that also takes pull requests.
type prIntake struct {
	hookIntake
	prs []bot.PullRequest
}

func (f *prIntake) HandlePullRequest(_ context.Context, pr bot.PullRequest) (bot.CheckResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return bot.CheckResult{}, f.err
	}
	if f.dup(pr.Delivery) {
		return bot.CheckResult{Duplicate: true}, nil
	}
	f.prs = append(f.prs, pr)
	return bot.CheckResult{Services: f.services}, nil
}

func prDelivery(t *testing.T, id string, pr githubtest.PullRequest) *http.Request {
	t.Helper()
	r, err := githubtest.PullRequestDelivery(id, pr).Request("http://countersign.test/webhooks/github", hookSecret)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWebhook_PullRequest(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	for _, tc := range []struct {
		name     string
		pr       githubtest.PullRequest
		status   int
		response string
		want     *bot.PullRequest // handed to the intake
		ignored  string
	}{
		{"opened", githubtest.PullRequest{Action: "opened", Number: 7, Repo: "org/app", HeadRef: "feature", HeadSHA: sha, Title: "Fix it", Sender: "dev"},
			200, "ok: deployability checks for app",
			&bot.PullRequest{Repo: "org/app", Number: 7, Action: "opened", SHA: sha, HeadRepo: "org/app", HeadBranch: "feature", Sender: "dev", Title: "Fix it", Delivery: "d1"}, ""},
		{"synchronize from a fork", githubtest.PullRequest{Action: "synchronize", Number: 8, Repo: "org/app", HeadRepo: "stranger/app", HeadRef: "main", HeadSHA: sha},
			200, "ok: deployability checks for app",
			&bot.PullRequest{Repo: "org/app", Number: 8, Action: "synchronize", SHA: sha, HeadRepo: "stranger/app", HeadBranch: "main", Sender: "stranger", Delivery: "d1"}, ""},
		{"reopened, fork deleted", githubtest.PullRequest{Action: "reopened", Number: 9, Repo: "org/app", HeadRepo: "-", HeadRef: "x", HeadSHA: sha, Sender: "dev"},
			200, "ok: deployability checks for app",
			&bot.PullRequest{Repo: "org/app", Number: 9, Action: "reopened", SHA: sha, HeadBranch: "x", Sender: "dev", Delivery: "d1"}, ""},
		{"closed", githubtest.PullRequest{Action: "closed", Number: 7, Repo: "org/app", HeadRef: "feature", HeadSHA: sha},
			200, "ignored: pull_request action closed: nothing to check", nil, "pull_request action closed: nothing to check"},
		{"labeled", githubtest.PullRequest{Action: "labeled", Number: 7, Repo: "org/app", HeadRef: "feature", HeadSHA: sha},
			200, "ignored: pull_request action labeled: nothing to check", nil, "pull_request action labeled: nothing to check"},
		{"head not a commit hash", githubtest.PullRequest{Action: "opened", Number: 7, Repo: "org/app", HeadRef: "feature", HeadSHA: "main"},
			400, "ignored: malformed payload", nil, "malformed payload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &prIntake{hookIntake: hookIntake{services: []string{"app"}}}
			h := hookNew(t, in, github.WebhookOptions{})
			status, body := hookServe(h, prDelivery(t, "d1", tc.pr))
			if status != tc.status || strings.TrimSpace(body) != tc.response {
				t.Errorf("answer %d %q, want %d %q", status, body, tc.status, tc.response)
			}
			switch {
			case tc.want == nil && len(in.prs) != 0:
				t.Errorf("handed over %+v", in.prs)
			case tc.want != nil:
				if len(in.prs) != 1 {
					t.Fatalf("handed over %+v", in.prs)
				}
				got := in.prs[0]
				got.Payload = ""
				if got != *tc.want {
					t.Errorf("handed over\n got %+v\nwant %+v", got, *tc.want)
				}
				if in.prs[0].Payload == "" {
					t.Error("no payload digest: a replay under another ID would be acted on")
				}
				if tc.want.HeadRepo != tc.want.Repo != got.Fork() {
					t.Errorf("Fork() = %v", got.Fork())
				}
			}
			if tc.ignored != "" && (len(in.ignored) != 1 || in.ignored[0].Reason != tc.ignored || in.ignored[0].D.Repo != "org/app") {
				t.Errorf("audited as ignored: %+v", in.ignored)
			}
			if status, _ := hookServe(h, prDelivery(t, "d1", tc.pr)); status != 200 {
				t.Errorf("redelivery answered %d", status)
			}
			if len(in.prs) > 1 {
				t.Errorf("a redelivery was handed over again")
			}
		})
	}
}

// A store failure is answered 503, so that GitHub's redelivery can be
// asked for.
func TestWebhook_PullRequestStoreFails(t *testing.T) {
	in := &prIntake{hookIntake: hookIntake{err: errors.New("disk full")}}
	h := hookNew(t, in, github.WebhookOptions{})
	status, _ := hookServe(h, prDelivery(t, "d1", githubtest.PullRequest{Action: "opened", Number: 1, Repo: "org/app", HeadRef: "f", HeadSHA: strings.Repeat("ab", 20)}))
	if status != http.StatusServiceUnavailable {
		t.Errorf("answered %d, want 503", status)
	}
}

func TestWebhook_PullRequestWithoutAPullRequestIntake(t *testing.T) {
	in := &hookIntake{}
	h := hookNew(t, in, github.WebhookOptions{})
	status, body := hookServe(h, prDelivery(t, "d1", githubtest.PullRequest{Action: "opened", Number: 1, Repo: "org/app", HeadRef: "f", HeadSHA: strings.Repeat("ab", 20)}))
	if status != 200 || !strings.Contains(body, "event pull_request not handled") || len(in.ignored) != 1 {
		t.Errorf("answer %d %q, ignored %+v", status, body, in.ignored)
	}
}

// checkBuilder fails the build of fail and holds builds of held until
// released; it records every build.
type checkBuilder struct {
	mu      sync.Mutex
	fail    string
	held    string
	release chan struct{}
	specs   []bot.BuildSpec
	started chan string
}

func (b *checkBuilder) Build(ctx context.Context, spec bot.BuildSpec, _ func(string)) (bot.Built, error) {
	b.mu.Lock()
	b.specs = append(b.specs, spec)
	b.mu.Unlock()
	b.started <- spec.SHA
	if spec.SHA == b.held {
		select {
		case <-b.release:
		case <-ctx.Done():
			return bot.Built{}, ctx.Err()
		}
	}
	if spec.SHA == b.fail {
		return bot.Built{}, errors.New("Dockerfile:3: RUN make returned a non-zero code: 2\nmake: *** No rule to make target 'all'.")
	}
	return bot.Built{Image: "registry.example.org/org/app@sha256:" + strings.Repeat("cd", 32)}, nil
}

// TestPullRequests_ChecksReachGitHub sends pull_request deliveries
// through the webhook to a real bot reporting to the fake GitHub: the
// head gets countersign/deployability: app pending then success, a newer
// head supersedes the older one's build, a fork is not built, a failing
// Dockerfile is a failure that says why, and nothing reaches Slack.
func TestPullRequests_ChecksReachGitHub(t *testing.T) {
	gh := githubtest.New(githubtest.Options{Token: "ghp-checks"})
	defer gh.Close()
	client, err := github.NewClient(github.Auth{Token: "ghp-checks"}, github.Options{APIURL: gh.URL()})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policies.New(policies.Set{})
	if err != nil {
		t.Fatal(err)
	}
	builder := &checkBuilder{fail: strings.Repeat("f0", 20), held: strings.Repeat("a1", 20), release: make(chan struct{}), started: make(chan string, 16)}
	chat := &bottest.Chat{}
	b := bottest.NewWorld(t, bottest.Options{Chat: chat, Config: bot.Config{Policy: engine, Reporter: client, PublicURL: "https://deploy.example.org",
		Services: []bot.Service{{Name: "app", Kind: "swarm", Repo: "org/app", Branch: "live", Channel: "C0DEPLOYS",
			Image: "registry.example.org/org/app", Executor: &slowDeploy{started: make(chan struct{})},
			Build:  bot.Build{Mode: "docker", Builder: builder, Engine: "e1"},
			Checks: bot.Checks{PullRequests: true}}}}}).Bot
	ctx := context.Background()
	h := hookNew(t, b, github.WebhookOptions{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	deliver := func(id string, pr githubtest.PullRequest) {
		t.Helper()
		r, err := githubtest.PullRequestDelivery(id, pr).Request(srv.URL, hookSecret)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("delivery %s answered %s", id, resp.Status)
		}
	}
	idle := func() {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := b.Idle(wctx); err != nil {
			t.Fatalf("not idle: %v", err)
		}
	}
	old, head, forked, broken := builder.held, strings.Repeat("b2", 20), strings.Repeat("c3", 20), builder.fail
	deliver("d1", githubtest.PullRequest{Action: "opened", Number: 4, Repo: "org/app", HeadRef: "feature", HeadSHA: old, Sender: "dev"})
	if got := <-builder.started; got != old {
		t.Fatalf("built %s first", got)
	}
	deliver("d2", githubtest.PullRequest{Action: "synchronize", Number: 4, Repo: "org/app", HeadRef: "feature", HeadSHA: head, Sender: "dev"})
	deliver("d3", githubtest.PullRequest{Action: "opened", Number: 5, Repo: "org/app", HeadRepo: "stranger/app", HeadRef: "main", HeadSHA: forked})
	deliver("d4", githubtest.PullRequest{Action: "opened", Number: 6, Repo: "org/app", HeadRef: "broken", HeadSHA: broken, Sender: "dev"})
	idle()

	last := map[string]githubtest.Status{}
	var order []string
	for _, st := range gh.Statuses() {
		if st.Context != "countersign/deployability: app" || st.Repo != "org/app" {
			t.Errorf("status %+v", st)
		}
		if _, ok := last[st.SHA]; !ok {
			order = append(order, st.SHA[:4]+" "+st.State)
		}
		last[st.SHA] = st
	}
	for _, sha := range []string{old, head, broken} {
		if !strings.Contains(strings.Join(order, ","), sha[:4]+" pending") {
			t.Errorf("%s: first status not pending (%v)", sha[:4], order)
		}
	}
	for _, tc := range []struct {
		sha, state, desc, url string
	}{
		{old, "failure", "not checked: superseded by a newer head: b2b2b2b", "https://deploy.example.org/audit?kind=check.failed&target=app"},
		{head, "success", "deployable: registry.example.org/org/app@sha256:" + strings.Repeat("cd", 32), "https://deploy.example.org/audit?kind=check.succeeded&target=app"},
		{forked, "failure", "not checked: pull request from a fork", "https://deploy.example.org/audit?kind=check.failed&target=app"},
		{broken, "failure", "build failed: Dockerfile:3: RUN make returned a non-zero code: 2", "https://deploy.example.org/audit?kind=check.failed&target=app"},
	} {
		st := last[tc.sha]
		if st.State != tc.state || st.Description != tc.desc || st.TargetURL != tc.url {
			t.Errorf("%s: %s %q %s, want %s %q %s", tc.sha[:4], st.State, st.Description, st.TargetURL, tc.state, tc.desc, tc.url)
		}
	}
	builder.mu.Lock()
	for _, s := range builder.specs {
		if s.SHA == forked {
			t.Error("a fork's pull request was built")
		}
		if !strings.HasPrefix(s.Tag, "pr-") {
			t.Errorf("built under tag %q, not one naming the pull request", s.Tag)
		}
	}
	builder.mu.Unlock()
	if len(gh.Deployments()) != 0 {
		t.Errorf("a check created deployments: %+v", gh.Deployments())
	}
	if posts := chat.Posts(); len(posts) != 0 {
		t.Errorf("checks posted in Slack: %+v", posts)
	}
}
