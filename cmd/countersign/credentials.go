package main

import (
	"log/slog"
	"sync/atomic"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/cmd/countersign/config"
	"github.com/countersign/countersign/web"
)

// credentials are the secrets a reload swaps without a restart:
// github.webhook_secret, audit.token and web.read_tokens. The doors read
// them here on every request; bot.Rules.Swap replaces them at the moment
// the config they come from becomes current (at once for a config no
// looser, on approval for a looser one), so a looser config's new token
// works only once the config is approved.
type credentials struct {
	audit   atomic.Pointer[cs.Secret] // audit.token; zero: none
	webhook *github.Webhook           // nil: serve started without github.webhook_secret
	web     *web.Server               // nil: the pages are off
	log     *slog.Logger
}

func newCredentials(cfg *config.Config, log *slog.Logger) *credentials {
	c := &credentials{log: log}
	c.audit.Store(&cfg.Audit.Token)
	return c
}

// auditToken is the audit.token in force.
func (c *credentials) auditToken() cs.Secret { return *c.audit.Load() }

// swap puts cfg's credentials in force, all or none. The read tokens
// were checked by `config check` (LoadConfig); should the pages still
// refuse them, every credential in force stays and the error is logged
// (the rules are swapped already: there is nobody to answer).
func (c *credentials) swap(cfg *config.Config) {
	if c.web != nil {
		if err := c.web.SetTokens(readTokens(cfg)); err != nil {
			c.log.Error("reload: the credentials were not replaced; the ones in force stay", "err", err)
			return
		}
	}
	c.audit.Store(&cfg.Audit.Token)
	if c.webhook != nil {
		c.webhook.SetSecret(cfg.GitHub.WebhookSecret.Reveal())
	}
}

// swappable blanks, in a copy of cfg, the settings swap applies, so that
// restartNeeded does not name them. A setting whose door is closed (no
// webhook at start, no web pages) is not swappable: opening the door
// takes a restart. With the pages off, a new audit.token is used by the
// audit endpoints at once, and still named, as the pages open only at a
// restart.
func (c *credentials) swappable(cfg *config.Config) *config.Config {
	out := *cfg
	if c.webhook != nil {
		out.GitHub.WebhookSecret = cs.Secret{}
	}
	if c.web != nil {
		out.Audit.Token, out.Web.ReadTokens = cs.Secret{}, nil
	}
	return &out
}
