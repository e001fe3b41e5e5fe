package config

import (
	"testing"

	cs "github.com/countersign/countersign"
)

func TestConfig_CheckServe(t *testing.T) {
	full := func() *Config {
		return &Config{
			Audit:    Audit{Token: cs.NewSecret("audit-token-0123456789")},
			Slack:    Slack{BotToken: cs.NewSecret("b"), SigningSecret: cs.NewSecret("s")},
			GitHub:   GitHub{WebhookSecret: cs.NewSecret("w"), Token: cs.NewSecret("t")},
			Services: []Service{{Name: "plain"}, {Name: "www", Repo: "mirage/mirage-www"}},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   []string
	}{
		{"everything", func(c *Config) {}, nil},
		{"nothing", func(c *Config) { *c = Config{Services: c.Services} }, []string{
			`slack.bot_token: required by serve: the bot talks to Slack with it (give bot_token, bot_token_file or bot_token_env)`,
			`slack.signing_secret: required by serve: without app_token Slack calls the HTTP endpoints, whose requests are verified with it (give signing_secret, signing_secret_file or signing_secret_env)`,
			`audit.token: required by serve: it guards GET /audit/export and GET /backup (give token, token_file or token_env)`,
			`github.webhook_secret: required by serve: services[1] (www) takes pushes from mirage/mirage-www, and webhooks are verified with it (give webhook_secret, webhook_secret_file or webhook_secret_env)`,
		}},
		{"socket mode needs no signing secret", func(c *Config) {
			c.Slack.SigningSecret = cs.Secret{}
			c.Slack.AppToken = cs.NewSecret("x")
		}, nil},
		{"no repo needs no GitHub", func(c *Config) {
			c.GitHub = GitHub{}
			c.Services = c.Services[:1]
		}, nil},
		{"short audit token", func(c *Config) { c.Audit.Token = cs.NewSecret("audit-token-012") }, []string{
			"audit.token: shorter than 16 characters: it is also a read token of the web pages (make one with `openssl rand -base64 24`)",
		}},
		{"audit token", func(c *Config) { c.Audit = Audit{} }, []string{
			`audit.token: required by serve: it guards GET /audit/export and GET /backup (give token, token_file or token_env)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := full()
			tc.change(c)
			err := c.CheckServe()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			checkProblems(t, err, tc.want)
		})
	}
}

// TestConfig_CheckServeShellConfig: a file without Slack or GitHub
// secrets loads (for shell and demo) and only CheckServe refuses it.
func TestConfig_CheckServeShellConfig(t *testing.T) {
	c, err := Parse([]byte("db: a.db\n"), "", env(nil))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := c.CheckServe(); err == nil {
		t.Error("CheckServe: got nil, want problems")
	}
}
