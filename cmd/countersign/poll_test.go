package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
	"github.com/countersign/countersign/cmd/countersign/config"
	"github.com/countersign/countersign/policies"
)

func TestUsePoll(t *testing.T) {
	gh, err := github.NewClient(github.Auth{Token: "t"}, github.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mode   execMode
		poll   time.Duration
		client *github.Client
		want   time.Duration
		log    string
	}{
		{"on", modeReal, time.Minute, gh, time.Minute, ""},
		{"off", modeReal, 0, gh, 0, "github.poll is 0"},
		{"no credentials", modeReal, time.Minute, nil, 0, "without github.token or a GitHub App"},
		{"dry run", modeDryRun, time.Minute, gh, 0, "dry run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			var bc bot.Config
			usePoll(&bc, &config.Config{GitHub: config.GitHub{Poll: tc.poll}}, tc.mode, tc.client, slog.New(slog.NewTextHandler(&logs, nil)))
			if bc.Poll != tc.want || (bc.Branches != nil) != (tc.want > 0) {
				t.Errorf("poll %s, reader %v; want %s", bc.Poll, bc.Branches, tc.want)
			}
			if !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log %q, want it to say %q", logs.String(), tc.log)
			}
		})
	}
}

func TestGitHubNeeds_Poll(t *testing.T) {
	cfg := &config.Config{GitHub: config.GitHub{Poll: time.Minute}, Services: []config.Service{
		{Name: "web", Repo: "acme/web", Branch: "main", Build: config.Build{Mode: config.BuildWait}},
		{Name: "web-docker", Repo: "acme/web", Branch: "main", Build: config.Build{Mode: config.BuildDocker}},
		{Name: "api", Repo: "acme/api", Branch: "live", Build: config.Build{Mode: config.BuildWait}},
	}}
	want := []github.Need{
		{Repo: "acme/web", Statuses: "commit statuses", Deployments: "deployments", Contents: "tarball for build: docker"},
		{Repo: "acme/api", Statuses: "commit statuses", Deployments: "deployments", Contents: "branch heads for github.poll"},
	}
	if got := githubNeeds(cfg, modeReal); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// TestPollStatus_HealthzAndMetrics: after a round against the GitHub
// fake, /healthz says when (naming no repository), /healthz/github and
// /metrics say it per repository.
func TestPollStatus_HealthzAndMetrics(t *testing.T) {
	gh := githubtest.New(githubtest.Options{Token: "ghp-status"})
	defer gh.Close()
	gh.SetBranch("acme/web", "main", githubtest.Commit{SHA: strings.Repeat("a", 40)})
	client, err := github.NewClient(github.Auth{Token: "ghp-status"}, github.Options{APIURL: gh.URL()})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policies.New(policies.Set{})
	if err != nil {
		t.Fatal(err)
	}
	b := bottest.NewWorld(t, bottest.Options{Config: bot.Config{Policy: engine, Branches: client, Services: []bot.Service{
		{Name: "web", Repo: "acme/web", Branch: "main", Channel: "C1"},
		{Name: "gone", Repo: "acme/web", Branch: "gone", Channel: "C1"},
		{Name: "api", Repo: "acme/api", Branch: "live", Channel: "C1"},
	}}}).Bot
	s := &server{bot: b, poll: 5 * time.Minute}

	summary := func() string {
		var buf bytes.Buffer
		pollSummary(&buf, s.poll, b.PollStatus())
		return buf.String()
	}
	if got := summary(); !strings.Contains(got, "github poll: every 5m0s, not yet, 2 repositories, 0 failing") {
		t.Errorf("before a round: %q", got)
	}
	if _, err := b.PollBranches(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := summary()
	if !strings.Contains(got, "github poll: every 5m0s, last ") || !strings.Contains(got, "2 repositories, 2 failing") || strings.Contains(got, "acme/") {
		t.Errorf("summary %q, want the last round, two failing repositories and no repository named", got)
	}
	var off bytes.Buffer
	pollSummary(&off, 0, nil)
	if off.String() != "github poll: off\n" {
		t.Errorf("off: %q", off.String())
	}

	rec := httptest.NewRecorder()
	s.healthzGitHub(rec, httptest.NewRequest(http.MethodGet, "/healthz/github", nil))
	detail := rec.Body.String()
	for _, want := range []string{
		"acme/api: read ", "0 unchanged (304), 1 failed", "GitHub does not show it",
		"acme/web: read ", "2 branches, 0 unchanged (304), 1 failed", "rate limit 4999 left until",
	} {
		if !strings.Contains(detail, want) {
			t.Errorf("/healthz/github lacks %q:\n%s", want, detail)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(&pollCollector{bot: b})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			found[mf.GetName()+" "+m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	if found["countersign_github_poll_errors acme/web"] != 1 || found["countersign_github_poll_last_timestamp_seconds acme/api"] == 0 ||
		found["countersign_github_poll_ok_timestamp_seconds acme/api"] != 0 || len(found) != 8 {
		t.Errorf("metrics %v", found)
	}
}

// TestServe_HealthzGitHub: /healthz says the poll is off in a dry run,
// and the per-repository page wants a reader's token.
func TestServe_HealthzGitHub(t *testing.T) {
	url, _, stop := startServer(t)
	defer stop()
	if code, body := get(t, url+"/healthz", ""); code != 200 || !strings.HasSuffix(body, "\ngithub poll: off\n") {
		t.Errorf("healthz = %d %q", code, body)
	}
	if code, _ := get(t, url+"/healthz/github", ""); code != http.StatusUnauthorized {
		t.Errorf("/healthz/github without a token: %d, want 401", code)
	}
	if code, body := get(t, url+"/healthz/github", serveToken); code != 200 || body != "github poll: off\n" {
		t.Errorf("/healthz/github = %d %q", code, body)
	}
}
