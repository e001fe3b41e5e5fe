package config

import (
	"fmt"

	cs "github.com/countersign/countersign"
)

// CheckServe reports the secrets that `countersign serve` needs and the
// file leaves out, as an *Errors (nil when none is missing). Load does
// not require them, so that `shell` and `demo` run without Slack or
// GitHub; serve refuses to start without them rather than run a check
// with no secret:
//   - slack.bot_token, to talk to Slack;
//   - slack.signing_secret in HTTP mode (no app_token), to verify Slack;
//   - audit.token, which guards GET /audit/export and GET /backup and
//     is a read token of the web pages, so it must be 16 characters or
//     more, like every read token;
//   - github.webhook_secret when a service has a repo: pushes are
//     verified with it. (Without github.token or a GitHub App serve
//     starts and does not report statuses; it says so in its log.)
func (c *Config) CheckServe() error {
	var ps []Problem
	need := func(s cs.Secret, path, why string) {
		if s.IsZero() {
			ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(
				"required by serve: %s (give %[2]s, %[2]s_file or %[2]s_env)", why, lastKey(path))})
		}
	}
	need(c.Slack.BotToken, "slack.bot_token", "the bot talks to Slack with it")
	if !c.Slack.SocketMode() {
		need(c.Slack.SigningSecret, "slack.signing_secret", "without app_token Slack calls the HTTP endpoints, whose requests are verified with it")
	}
	need(c.Audit.Token, "audit.token", "it guards GET /audit/export and GET /backup")
	if t := c.Audit.Token; !t.IsZero() && !c.unread(t) && len(t.Reveal()) < MinReadToken {
		ps = append(ps, Problem{Path: "audit.token", Message: fmt.Sprintf(
			"shorter than %d characters: it is also a read token of the web pages (make one with `openssl rand -base64 24`)", MinReadToken)})
	}
	for i, s := range c.Services {
		if s.Repo == "" {
			continue
		}
		why := fmt.Sprintf("services[%d] (%s) takes pushes from %s", i, s.Name, s.Repo)
		need(c.GitHub.WebhookSecret, "github.webhook_secret", why+", and webhooks are verified with it")
		break
	}
	return errorsOrNil(ps)
}

// unread reports whether s was left unread (Options.NoSecrets).
func (c *Config) unread(s cs.Secret) bool { return c.SecretsUnread && s == unreadSecret }

// lastKey is the last key of a dotted path.
func lastKey(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '.' {
			return path[i+1:]
		}
	}
	return path
}
