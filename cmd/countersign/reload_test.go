package main

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack/slacktest"
	"github.com/countersign/countersign/cmd/countersign/config"
)

const rulesPolicy = `  - name: rules
    actions: [policy]
    targets: [policies]
    request: [group:ops]
    approve: [{group: ops, count: 2}]
`

// TestServe_Reload drives the real loader: a broken file is refused with
// its problem and the running config stays; a stricter file with another
// listen address applies at once and says a restart is needed for it; a
// looser one waits as a policy request. The records show the config
// with its secrets redacted.
func TestServe_Reload(t *testing.T) {
	dir := t.TempDir()
	sl := slacktest.New(slacktest.Options{BotToken: "xoxb-test"})
	t.Cleanup(sl.Close)
	path := serveConfig(t, dir, sl.APIURL(), rulesPolicy)
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, cfg, _ := dryServer(t, path, sl)
	ctx := context.Background()
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	inForce := func() string { _, h := srv.bot.Policies(); return h }

	write(strings.Replace(string(original), "group: ops, count: 1", "group: nobody, count: 1", 1))
	if _, err := srv.bot.ReloadFile(ctx, cs.ActorBot, nil); err == nil || !strings.Contains(err.Error(), "policies[0].approve[0].group") {
		t.Fatalf("reload of a config with an unknown group: %v, want the problem named", err)
	}
	if inForce() != cfg.Hash {
		t.Fatal("a refused config is in force")
	}

	stricter := strings.Replace(string(original), "listen: 127.0.0.1:0", "listen: 127.0.0.1:9", 1)
	stricter = strings.Replace(stricter, "group: ops, count: 1", "group: ops, count: 2", 1)
	write(stricter)
	out, err := srv.bot.ReloadFile(ctx, cs.ActorBot, nil)
	if err != nil || !out.Applied || !reflect.DeepEqual(out.Restart, []string{"listen"}) {
		t.Fatalf("stricter reload: %+v %v; want applied, restart needed for listen", out, err)
	}
	if inForce() == cfg.Hash {
		t.Fatal("the stricter config is not in force")
	}

	write(string(original))
	out, err = srv.bot.ReloadFile(ctx, cs.ActorBot, nil)
	if err != nil || out.Applied || out.Request.State != cs.StatePending || out.Request.Action.Config != cfg.Hash {
		t.Fatalf("looser reload: %+v %v; want a pending request for the original file", out, err)
	}
	evs, err := srv.db.ListAudit(ctx, bot.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		if e.Kind != cs.EventConfigLoaded && e.Kind != cs.EventConfigProposed {
			continue
		}
		kinds = append(kinds, string(e.Kind))
		for _, secret := range []string{serveToken, "xoxb-test", "slack-signing-secret-test", "gh-webhook-secret-test", "gh-token-test"} {
			if bytes.Contains(e.Detail, []byte(secret)) {
				t.Errorf("%s holds the secret %s", e.Kind, secret)
			}
		}
		if !bytes.Contains(e.Detail, []byte(`"[redacted]"`)) || !bytes.Contains(e.Detail, []byte(`"production"`)) {
			t.Errorf("%s does not hold the config, redacted: %s", e.Kind, e.Detail)
		}
	}
	if want := []string{"config.loaded", "config.loaded", "config.proposed"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("config records %v, want %v", kinds, want)
	}
}

func TestRestartNeeded(t *testing.T) {
	base := func() *config.Config {
		return &config.Config{Listen: "127.0.0.1:8080", DB: "a.db", Slack: config.Slack{BotToken: cs.NewSecret("xoxb-1")},
			Groups: map[string][]string{"ops": {"U1"}}}
	}
	for _, tc := range []struct {
		name string
		edit func(*config.Config)
		want []string
	}{
		{"same", func(*config.Config) {}, nil},
		{"rules only", func(c *config.Config) { c.Groups["ops"] = []string{"U2"}; c.Hash = "x" }, nil},
		{"a gate", func(c *config.Config) {
			c.Gates = []config.Gate{{Name: "web", Repo: "o/web", Environment: "production", Channel: "C1"}}
		}, nil},
		{"listen and db", func(c *config.Config) { c.Listen, c.DB = ":9", "b.db" }, []string{"listen", "db"}},
		{"a Slack token", func(c *config.Config) { c.Slack.BotToken = cs.NewSecret("xoxb-2") }, []string{"slack"}},
		{"public_url and github", func(c *config.Config) { c.PublicURL, c.GitHub.APIURL = "https://x", "https://y" }, []string{"public_url", "github"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := base()
			tc.edit(next)
			if got := restartNeeded(base(), next); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("restartNeeded = %q, want %q", got, tc.want)
			}
		})
	}
}

// ParseConfig reads the rules of a file whose secret files are gone, as a
// config in force that can no longer be built may be.
func TestLoader_ParseConfigReadsNoSecrets(t *testing.T) {
	dir := t.TempDir()
	path := serveConfig(t, dir, "https://slack.example/api/", "")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text = []byte(strings.Replace(string(text), "token: gh-token-test", "token_file: /nonexistent/gh-token", 1))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	l := &loader{running: cfg}
	if _, err := l.LoadConfig(context.Background(), text); err == nil || !strings.Contains(err.Error(), "gh-token") {
		t.Fatalf("LoadConfig with a missing secret file: %v, want it refused", err)
	}
	r, err := l.ParseConfig(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Services) != 1 || r.Services[0].Runs != "swarm service api on engine local (unix:///var/run/docker.sock)" || r.Policy == nil || r.Hash == cfg.Hash {
		t.Errorf("ParseConfig = %+v", r)
	}
}
