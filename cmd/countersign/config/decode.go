package config

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
	"gopkg.in/yaml.v3"
)

// config decodes the top-level mapping. Each section checks what it can
// on its own; crossCheck then checks references between sections.
func (d *decoder) config(n *yaml.Node) *Config {
	o := d.object(n, "")
	c := &Config{
		Listen:    d.listen(o),
		PublicURL: d.publicURL(o),
	}
	o.Require("db")
	c.DB = o.localPath("db")
	var ok bool
	if c.ShutdownGrace, ok = o.Duration("shutdown_grace"); !ok {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.OutboxGiveUp, ok = o.Duration("outbox_give_up"); !ok {
		c.OutboxGiveUp = DefaultOutboxGiveUp
	}
	c.Audit = d.audit(o.obj("audit"))
	c.Drift = d.drift(o.obj("drift"))
	c.Web = d.web(o.obj("web"), c.Audit.Token)
	c.Slack = d.slack(o.obj("slack"))
	c.GitHub = d.github(o.obj("github"))
	c.Registries = d.registries(o, "registries")
	c.Engines = d.engines(o.obj("engines"))
	c.Hosts = d.hosts(o.obj("hosts"))
	c.Services = d.services(o, "services")
	c.DNS = d.zones(o, "dns")
	c.Groups = d.groups(o.obj("groups"))
	c.Identities = d.identities(o.obj("identities"))
	c.Policies = d.policies(o, "policies")
	c.Windows = d.windows(o, "windows")
	c.Gates = d.gates(o, "gates")
	o.Done()
	return c
}

// listen reads the HTTP address: host:port, or :port for every interface.
func (d *decoder) listen(o *object) string {
	s := o.Str("listen")
	if s == "" {
		return DefaultListen
	}
	host, port, err := net.SplitHostPort(s)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p < 0 || p > 65535 || host != "" && !validHost(host) {
		d.AddAt(o.Sub("listen"), "want host:port (e.g. 127.0.0.1:8080), got %s", strictyaml.Quote(s))
	}
	return s
}

func (d *decoder) publicURL(o *object) string {
	s := o.Str("public_url")
	if s == "" {
		return ""
	}
	if msg := checkURL(s); msg != "" {
		d.AddAt(o.Sub("public_url"), "%s", msg)
	}
	return strings.TrimRight(s, "/")
}

// apiURL reads an API base URL, defaulting it and ending it in "/".
func (d *decoder) apiURL(o *object, def string) string {
	s := o.Str("api_url")
	if s == "" {
		return def
	}
	if msg := checkURL(s); msg != "" {
		d.AddAt(o.Sub("api_url"), "%s", msg)
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s
}

func (d *decoder) audit(o *object) Audit {
	a := Audit{Token: o.token("token", nil), Channel: o.Str("channel")}
	if a.Channel != "" && !channelPattern.MatchString(a.Channel) {
		d.AddAt(o.Sub("channel"), "want a Slack channel ID (C…, G…) or #name, got %s", strictyaml.Quote(a.Channel))
	}
	o.Done()
	return a
}

func (d *decoder) slack(o *object) Slack {
	s := Slack{
		BotToken:      o.token("bot_token", botToken),
		AppToken:      o.token("app_token", appToken),
		SigningSecret: o.token("signing_secret", nil),
		APIURL:        d.apiURL(o, DefaultSlackAPIURL),
		Command:       o.Str("command"),
	}
	switch {
	case s.Command == "":
		s.Command = DefaultSlackCommand
	case !commandPattern.MatchString(s.Command):
		d.AddAt(o.Sub("command"), "want a slash command like /cs, got %s", strictyaml.Quote(s.Command))
	}
	o.Done()
	return s
}

// poll reads github.poll: a duration, "0" for no reads, default
// DefaultGitHubPoll.
func (d *decoder) poll(o *object) time.Duration {
	if n := o.Get("poll"); n != nil && n.Kind == yaml.ScalarNode && (n.Value == "0" || n.Value == "0s") {
		return 0
	}
	if v, ok := o.Duration("poll"); ok {
		return v
	}
	return DefaultGitHubPoll
}

func (d *decoder) github(o *object) GitHub {
	g := GitHub{
		WebhookSecret: o.token("webhook_secret", nil),
		Token:         o.token("token", nil),
		PrivateKey:    o.secret("private_key"),
		APIURL:        d.apiURL(o, DefaultGitHubAPIURL),
	}
	g.Poll = d.poll(o)
	app, _ := o.Int("app_id")
	inst, _ := o.Int("installation_id")
	g.AppID, g.InstallationID = int64(app), int64(inst)
	switch {
	case g.AppID < 0 || g.InstallationID < 0:
		d.AddAt(o.Sub("app_id"), "want positive app_id and installation_id")
	case (g.AppID != 0) != (g.InstallationID != 0) || (g.AppID != 0) == g.PrivateKey.IsZero():
		if g.AppID != 0 || g.InstallationID != 0 || !g.PrivateKey.IsZero() {
			d.AddAt(o.Sub("app_id"), "a GitHub App needs app_id, installation_id and private_key together")
		}
	case g.AppID != 0 && !g.Token.IsZero():
		d.AddAt(o.Sub("token"), "give token or a GitHub App (app_id, installation_id, private_key), not both")
	}
	o.Done()
	return g
}
