package config

import (
	"strings"
	"testing"
)

func TestParse_PullRequestProblems(t *testing.T) {
	b := svc + "    unikernel: {}\n    build: {mode: wait}\n"
	noRepo := strings.Replace(svc, "    repo: mirage/mirage-www\n    branch: main\n", "", 1) + "    unikernel: {}\n"
	runCases(t, []problemCase{
		{"pull_requests without repo", noRepo + "    pull_requests: true\n", []string{
			`services[0].pull_requests: only with repo (and build): pull requests are checked by building or waiting for their image`,
		}},
		{"pull_requests type", b + "    pull_requests: yes\n", []string{`services[0].pull_requests: want true or false, got "yes"`}},
		{"forks without pull_requests", b + "    pull_requests_from_forks: true\n", []string{
			`services[0].pull_requests_from_forks: only with pull_requests: true`,
		}},
		{"channel without pull_requests", b + "    pull_requests: false\n    pull_requests_channel: C0PRS\n", []string{
			`services[0].pull_requests_channel: only with pull_requests: true`,
		}},
		{"channel not a channel", b + "    pull_requests: true\n    pull_requests_channel: prs\n", []string{
			`services[0].pull_requests_channel: want a Slack channel ID (C…, G…, D…) or #name, got "prs"`,
		}},
	})
}

func TestParse_PullRequests(t *testing.T) {
	b := svc + "    unikernel: {}\n    build: {mode: wait}\n"
	for _, tc := range []struct {
		name, yaml    string
		checks, forks bool
		channel       string
	}{
		{"off by default", b, false, false, ""},
		{"own repository", b + "    pull_requests: true\n", true, false, ""},
		{"forks and a channel", b + "    pull_requests: true\n    pull_requests_from_forks: true\n    pull_requests_channel: \"#prs\"\n", true, true, "#prs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Options{Dir: t.TempDir(), LookupEnv: env(nil)}.Parse([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			s := cfg.Services[0]
			if s.PullRequests != tc.checks || s.PullRequestsFromForks != tc.forks || s.PullRequestsChannel != tc.channel {
				t.Errorf("got %v %v %q", s.PullRequests, s.PullRequestsFromForks, s.PullRequestsChannel)
			}
		})
	}
}
