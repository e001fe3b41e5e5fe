package config

import (
	"strings"
	"unicode"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
)

// Gate is a GitHub environment whose deployments wait for the bot: the
// bot is the GitHub App of a custom deployment protection rule there.
type Gate struct {
	Name        string // the target policies match, with action deploy
	Repo        string // "owner/name"
	Environment string // the GitHub environment's name, exactly
	Channel     string // Slack channel ID or "#name"
}

// maxEnvironment is GitHub's limit on an environment's name.
const maxEnvironment = 255

// gates decodes the gates list. Names shared with services, and the
// GitHub App that gates need, are checked by checkGates.
func (d *decoder) gates(parent *object, key string) []Gate {
	var out []Gate
	seen := map[string]string{}
	places := map[string]string{}
	for i, n := range parent.List(key) {
		p := strictyaml.Item(parent.Sub(key), i)
		o := d.object(n, p)
		o.Require("name", "repo", "environment", "channel")
		g := Gate{Name: o.Str("name"), Repo: o.Str("repo"), Environment: o.Str("environment"), Channel: o.Str("channel")}
		if g.Name != "" && !cs.ValidServiceName(g.Name) {
			d.AddAt(o.Sub("name"), "%s is not a valid gate name (a letter, then letters, digits, - and _; at most 63)", strictyaml.Quote(g.Name))
		} else if first, dup := seen[g.Name]; g.Name != "" && dup {
			d.AddAt(o.Sub("name"), "duplicate gate %s (also %s)", strictyaml.Quote(g.Name), first)
		} else if g.Name != "" {
			seen[g.Name] = p
		}
		d.notReserved(o.Sub("name"), "gate", g.Name)
		if g.Repo != "" && !validRepo(g.Repo) {
			d.AddAt(o.Sub("repo"), "want a GitHub repository owner/name, got %s", strictyaml.Quote(g.Repo))
		}
		if g.Environment != "" && !validEnvironment(g.Environment) {
			d.AddAt(o.Sub("environment"), "want a GitHub environment's name (at most %d characters, no control characters), got %s", maxEnvironment, strictyaml.Quote(g.Environment))
		}
		if g.Channel != "" && !channelPattern.MatchString(g.Channel) {
			d.AddAt(o.Sub("channel"), "want a Slack channel ID (C…, G…, D…) or #name, got %s", strictyaml.Quote(g.Channel))
		}
		if g.Repo != "" && g.Environment != "" {
			place := strings.ToLower(g.Repo) + "\x00" + g.Environment
			if first, dup := places[place]; dup {
				d.AddAt(o.Sub("environment"), "environment %s of %s is also gated by %s", strictyaml.Quote(g.Environment), g.Repo, first)
			} else {
				places[place] = p
			}
		}
		o.Done()
		out = append(out, g)
	}
	return out
}

func validEnvironment(s string) bool {
	if len([]rune(s)) > maxEnvironment || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// checkGates checks what gates need from the rest of the config: names
// no service has (a policy target names one thing), and a GitHub App
// with a webhook secret: GitHub sends deployment_protection_rule
// deliveries only to Apps, and takes answers only from an installation.
func (d *decoder) checkGates(c *Config) {
	if len(c.Gates) == 0 {
		return
	}
	services := map[string]bool{}
	for _, s := range c.Services {
		services[s.Name] = true
	}
	for i, g := range c.Gates {
		if services[g.Name] {
			d.AddAt(strictyaml.Item("gates", i)+".name", "gate %s has the name of a service: policies could not tell them apart", strictyaml.Quote(g.Name))
		}
	}
	if c.GitHub.AppID == 0 {
		what := "none is configured"
		if !c.GitHub.Token.IsZero() {
			what = "github.token is not enough"
		}
		d.Add(d.lineFor("gates"), "gates", "gates need GitHub App auth (github.app_id, github.installation_id, github.private_key): GitHub sends deployment_protection_rule deliveries only to GitHub Apps and takes the answers only from their installations; %s", what)
	}
	if c.GitHub.WebhookSecret.IsZero() {
		d.Add(d.lineFor("gates"), "gates", "gates need github.webhook_secret: GitHub's deployment_protection_rule deliveries are verified with it")
	}
}
