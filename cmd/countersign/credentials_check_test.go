package main

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
	"github.com/countersign/countersign/bot/slack/slacktest"
	"github.com/countersign/countersign/cmd/countersign/config"
)

// TestServe_ReloadTriesNewSlackToken drives the real loader and server:
// a reload's new bot token is tried against Slack before the swap can
// put it in force. One Slack refuses, or one of another workspace, is
// refused with the reload, and the token in force stays; a rotated one
// that works is applied, and used from then on. No token reaches the log
// or the error.
func TestServe_ReloadTriesNewSlackToken(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sl := slacktest.New(slacktest.Options{BotToken: "xoxb-test"})
	t.Cleanup(sl.Close)
	path := serveConfig(t, dir, sl.APIURL(), "")
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, _, logs := dryServer(t, path, sl)
	reloadWith := func(token string) error {
		t.Helper()
		text := strings.Replace(string(original), "bot_token: xoxb-test", "bot_token: "+token, 1)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := srv.bot.ReloadFile(ctx, cs.ActorBot, nil)
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("the reload's error holds the token: %v", err)
		}
		return err
	}
	inForce := func() error {
		_, err := srv.creds.slack.API().AuthTestContext(ctx)
		return err
	}

	err = reloadWith("xoxb-never-issued")
	if err == nil || !strings.Contains(err.Error(), "the bot token does not work (auth.test: invalid_auth)") {
		t.Fatalf("reload with a token Slack refuses: %v; want it refused for auth.test", err)
	}
	if err := inForce(); err != nil {
		t.Fatalf("after a refused reload the token in force fails: %v", err)
	}

	// Slack rotates the token: the one in force stops working, the new
	// one works, but not in another workspace than the bot's.
	sl.RotateBotToken("xoxb-rotated")
	if inForce() == nil {
		t.Fatal("the fake still takes the old token: the test cannot tell them apart")
	}
	team := srv.creds.team
	srv.creds.team = "T0ELSEWHERE"
	err = reloadWith("xoxb-rotated")
	srv.creds.team = team
	if err == nil || !strings.Contains(err.Error(), "the bot token belongs to workspace") || !strings.Contains(err.Error(), "not to T0ELSEWHERE, the one the bot runs in") {
		t.Fatalf("reload with another workspace's token: %v; want it refused", err)
	}

	if err := reloadWith("xoxb-rotated"); err != nil {
		t.Fatalf("reload with the rotated token: %v", err)
	}
	if err := inForce(); err != nil {
		t.Errorf("after the reload the rotated token is not in force: %v", err)
	}
	if got := lastLoaded(t, srv)["secrets_changed"]; !slices.Equal(toStrings(got), []string{"slack.bot_token"}) {
		t.Errorf("config.loaded secrets_changed = %v, want slack.bot_token", got)
	}
	for _, token := range []string{"xoxb-never-issued", "xoxb-rotated"} {
		if strings.Contains(logs.String(), token) {
			t.Errorf("the log holds the token %s", token)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestCredentials_CheckGitHub: a reloaded config's new GitHub token is
// checked as at start-up, against the API the client calls, for the
// repositories the config needs: GitHub refusing it refuses the reload.
// So is a new repository the token in force cannot see. Unchanged
// credentials and repositories, a change of kind (which takes a restart)
// and a dry run, which needs nothing of GitHub, are not checked.
func TestCredentials_CheckGitHub(t *testing.T) {
	const running, next = "ghp-running-token", "ghp-next-token"
	gh := githubtest.New(githubtest.Options{Token: next, Repos: map[string]githubtest.Repo{"org/api": {}}})
	t.Cleanup(gh.Close)
	client, err := github.NewClient(github.Auth{Token: next}, github.Options{APIURL: gh.URL()})
	if err != nil {
		t.Fatal(err)
	}
	withToken := func(token string, repos ...string) *config.Config {
		cfg := &config.Config{GitHub: config.GitHub{Token: cs.NewSecret(token), APIURL: gh.URL()}}
		for _, r := range append([]string{"org/api"}, repos...) {
			cfg.Services = append(cfg.Services, config.Service{Name: strings.ReplaceAll(r, "/", "-"), Kind: config.KindSwarm, Repo: r, Branch: "main"})
		}
		return cfg
	}
	// The token in force is next's: the fake takes it, so that a new
	// repository is refused for the repository, not the token.
	c := newCredentials(withToken(next), slog.New(slog.DiscardHandler))
	c.github, c.checkTimeout = client, 10*time.Second
	err = c.checkGitHub(context.Background(), withToken(next, "org/unseen"), modeReal)
	if err == nil || !strings.Contains(err.Error(), "org/unseen") {
		t.Errorf("a new repository the token cannot see: %v; want it refused, naming the repository", err)
	}
	if err := c.checkGitHub(context.Background(), withToken(next), modeReal); err != nil {
		t.Errorf("the same repositories: %v", err)
	}

	c = newCredentials(withToken(running), slog.New(slog.DiscardHandler))
	c.github = client
	c.checkTimeout = 10 * time.Second

	if err := c.checkGitHub(context.Background(), withToken(next), modeReal); err != nil {
		t.Errorf("a new token GitHub takes: %v", err)
	}
	err = c.checkGitHub(context.Background(), withToken("ghp-never-issued"), modeReal)
	if err == nil || !strings.Contains(err.Error(), "the GitHub token was refused (401 Bad credentials)") || strings.Contains(err.Error(), "ghp-never-issued") {
		t.Errorf("a new token GitHub refuses: %v; want it refused, without the token", err)
	}
	calls := len(gh.Requests())
	for _, tc := range []struct {
		name string
		cfg  *config.Config
		mode execMode
	}{
		{"unchanged", withToken(running), modeReal},
		{"dry run", withToken("ghp-never-issued"), modeDryRun},
		{"an App instead", &config.Config{GitHub: config.GitHub{AppID: 1, InstallationID: 2, PrivateKey: cs.NewSecret("pem")}}, modeReal},
	} {
		if err := c.checkGitHub(context.Background(), tc.cfg, tc.mode); err != nil {
			t.Errorf("%s: %v, want no check", tc.name, err)
		}
	}
	if got := len(gh.Requests()); got != calls {
		t.Errorf("%d calls to GitHub for configs that need no check", got-calls)
	}
	var none *credentials // tests and servers without GitHub
	if err := none.checkGitHub(context.Background(), withToken(next), modeReal); err != nil {
		t.Errorf("no credentials: %v", err)
	}
}
