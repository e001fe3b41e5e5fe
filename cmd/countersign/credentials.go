package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/slack"
	"github.com/countersign/countersign/cmd/countersign/config"
	"github.com/countersign/countersign/web"
)

// credentials are the secrets a reload swaps without a restart:
// github.webhook_secret, the GitHub API's token or App key (same kind),
// audit.token, web.read_tokens, slack.bot_token and, in HTTP mode,
// slack.signing_secret. The doors read
// them here on every request; bot.Rules.Swap replaces them at the moment
// the config they come from becomes current (at once for a config no
// looser, on approval for a looser one), so a looser config's new token
// works only once the config is approved.
type credentials struct {
	audit   atomic.Pointer[cs.Secret] // audit.token; zero: none
	webhook *github.Webhook           // nil: serve started without github.webhook_secret
	web     *web.Server               // nil: the pages are off
	github  *github.Client            // nil: serve started without GitHub credentials
	slack   *slack.Client             // the bot token's; nil in tests without Slack
	adapter *slack.Adapter            // HTTP mode's signing secret; nil in Socket Mode
	// current is the config whose credentials are in force.
	current atomic.Pointer[config.Config]
	// team is the Slack workspace the bot runs in (auth.test at start),
	// githubURL the API the GitHub client calls, and checkTimeout bounds
	// each check of a reloaded config's new credentials.
	team, githubURL string
	checkTimeout    time.Duration
	log             *slog.Logger
}

func newCredentials(cfg *config.Config, log *slog.Logger) *credentials {
	c := &credentials{log: log, githubURL: cfg.GitHub.APIURL, checkTimeout: startupCheckTimeout}
	c.audit.Store(&cfg.Audit.Token)
	c.current.Store(cfg)
	return c
}

// auditToken is the audit.token in force.
func (c *credentials) auditToken() cs.Secret { return *c.audit.Load() }

// swap puts cfg's credentials in force, all or none. They were checked
// by `config check` (LoadConfig); should the pages or the GitHub client
// still refuse them, every credential in force stays and the error is
// logged (the rules are swapped already: there is nobody to answer).
func (c *credentials) swap(cfg *config.Config) {
	tokens := readTokens(cfg)
	err := web.CheckTokens(tokens)
	if err == nil && c.slack != nil {
		err = slack.CheckBotToken(cfg.Slack.BotToken.Reveal())
	}
	if err == nil && c.github != nil && sameGitHubKind(c.github, cfg) {
		err = c.github.SetAuth(gitHubAuth(cfg))
	}
	if err != nil {
		c.log.Error("reload: the credentials were not replaced; the ones in force stay", "err", err)
		return
	}
	if c.web != nil {
		if err := c.web.SetTokens(tokens); err != nil { // checked above: cannot happen
			c.log.Error("reload: the read tokens were not replaced", "err", err)
		}
	}
	c.audit.Store(&cfg.Audit.Token)
	if c.webhook != nil {
		c.webhook.SetSecret(cfg.GitHub.WebhookSecret.Reveal())
	}
	if c.slack != nil {
		c.slack.SetBotToken(cfg.Slack.BotToken.Reveal()) //nolint:errcheck // checked above
	}
	if c.adapter != nil && !cfg.Slack.SocketMode() {
		c.adapter.SetSigningSecret(cfg.Slack.SigningSecret.Reveal())
	}
	c.current.Store(cfg)
}

// secretsChanged names the secrets of next whose value differs from the
// config whose credentials are in force: names only, for config.loaded.
func (c *credentials) secretsChanged(next *config.Config) []string {
	cur := c.current.Load()
	var names []string
	differ := func(a, b cs.Secret) bool { return a.Reveal() != b.Reveal() }
	for _, s := range []struct {
		name    string
		changed bool
	}{
		{"audit.token", differ(cur.Audit.Token, next.Audit.Token)},
		{"web.read_tokens", !slices.Equal(readTokens(cur), readTokens(next))},
		{"web.session_key", differ(cur.Web.SessionKey, next.Web.SessionKey)},
		{"github.webhook_secret", differ(cur.GitHub.WebhookSecret, next.GitHub.WebhookSecret)},
		{"github.token", differ(cur.GitHub.Token, next.GitHub.Token)},
		{"github.private_key", differ(cur.GitHub.PrivateKey, next.GitHub.PrivateKey)},
		{"slack.bot_token", differ(cur.Slack.BotToken, next.Slack.BotToken)},
		{"slack.app_token", differ(cur.Slack.AppToken, next.Slack.AppToken)},
		{"slack.signing_secret", differ(cur.Slack.SigningSecret, next.Slack.SigningSecret)},
	} {
		if s.changed {
			names = append(names, s.name)
		}
	}
	return names
}

// restartNeeded is restartNeeded without the settings swap applies. A
// setting whose door is closed (no webhook at start, no web pages, no
// GitHub client) is not swappable: opening the door takes a restart.
// With the pages off, a new audit.token is used by the audit endpoints
// at once, and still named, as the pages open only at a restart.
func (c *credentials) restartNeeded(running, next *config.Config) []string {
	r, n := *running, *next
	if c.webhook != nil {
		r.GitHub.WebhookSecret, n.GitHub.WebhookSecret = cs.Secret{}, cs.Secret{}
	}
	if c.web != nil {
		r.Audit.Token, r.Web.ReadTokens = cs.Secret{}, nil
		n.Audit.Token, n.Web.ReadTokens = cs.Secret{}, nil
	}
	if c.slack != nil {
		r.Slack.BotToken, n.Slack.BotToken = cs.Secret{}, cs.Secret{}
	}
	// Socket Mode's app token (and a switch of mode) takes a reconnect:
	// a restart. Its signing secret is not used.
	if c.adapter != nil && !running.Slack.SocketMode() && !next.Slack.SocketMode() {
		r.Slack.SigningSecret, n.Slack.SigningSecret = cs.Secret{}, cs.Secret{}
	}
	if c.github != nil && sameGitHubKind(c.github, next) {
		for _, g := range []*config.GitHub{&r.GitHub, &n.GitHub} {
			g.Token, g.AppID, g.InstallationID, g.PrivateKey = cs.Secret{}, 0, 0, cs.Secret{}
		}
	}
	return restartNeeded(&r, &n)
}

// sameGitHubKind reports whether cfg's GitHub credentials are of the
// kind gh runs with (a token, or an App): only those can be swapped. No
// credentials, or the other kind, take a restart (GitHub named in
// "restart needed for"), and the ones in force stay until then.
func sameGitHubKind(gh *github.Client, cfg *config.Config) bool {
	return cfg.GitHub.Reports() && (cfg.GitHub.AppID != 0) == gh.App()
}

// gitHubAuth is cfg's GitHub API credentials.
func gitHubAuth(cfg *config.Config) github.Auth {
	gh := cfg.GitHub
	return github.Auth{Token: gh.Token.Reveal(), AppID: gh.AppID, InstallationID: gh.InstallationID, PrivateKey: []byte(gh.PrivateKey.Reveal())}
}

// checkSlack is slackCheck for a reloaded config: a new bot token is
// tried against Slack (auth.test, scopes, channels) before the swap can
// put it in force, and must belong to the workspace the bot runs in, so
// that a token Slack refuses is refused here instead of failing every
// post after the reload.
func (c *credentials) checkSlack(ctx context.Context, next *config.Config) (slack.Identity, error) {
	client := c.slack
	if token := next.Slack.BotToken.Reveal(); token != c.current.Load().Slack.BotToken.Reveal() {
		var err error
		if client, err = c.slack.WithBotToken(token); err != nil {
			return slack.Identity{}, err
		}
	}
	id, err := slackCheck(client, c.checkTimeout)(ctx, next)
	if err == nil && c.team != "" && id.TeamID != c.team {
		return id, fmt.Errorf("slack: the bot token belongs to workspace %s (%s), not to %s, the one the bot runs in: another workspace takes a restart", id.Team, id.TeamID, c.team)
	}
	return id, err
}

// checkGitHub runs GitHub's start-up check for a reloaded config whose
// GitHub credentials (of the kind in force: only those can be swapped)
// or whose repositories differ from those in force: new credentials are
// tried, the ones in force are asked about new repositories. A token or
// App key GitHub refuses, or one without a permission next needs, refuses
// the reload. What was checked at start is not asked again.
func (c *credentials) checkGitHub(ctx context.Context, next *config.Config, mode execMode) error {
	if c == nil || c.github == nil || !sameGitHubKind(c.github, next) {
		return nil
	}
	cur := c.current.Load()
	needs := githubNeeds(next, mode)
	newAuth := !sameGitHubAuth(gitHubAuth(next), gitHubAuth(cur))
	if !newAuth && reflect.DeepEqual(needs, githubNeeds(cur, mode)) {
		return nil
	}
	gh := c.github
	if newAuth {
		var err error
		if gh, err = github.NewClient(gitHubAuth(next), github.Options{APIURL: c.githubURL, Logger: c.log}); err != nil {
			return fmt.Errorf("github: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.checkTimeout)
	defer cancel()
	return checkGitHub(ctx, gh, needs, c.log)
}

func sameGitHubAuth(a, b github.Auth) bool {
	return a.Token == b.Token && a.AppID == b.AppID && a.InstallationID == b.InstallationID && bytes.Equal(a.PrivateKey, b.PrivateKey)
}
