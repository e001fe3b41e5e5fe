package config

import (
	"slices"
	"strings"
	"testing"
)

// appGitHub is GitHub App auth with a webhook secret: what gates need.
const appGitHub = "github: {webhook_secret: whsec, app_id: 1, installation_id: 2, private_key: pem}\n"

const gate = `gates:
  - name: web-production
    repo: octo-org/web
    environment: production
    channel: C0DEPLOYS
`

func TestParse_Gates(t *testing.T) {
	cfg, err := Options{Dir: t.TempDir(), LookupEnv: env(nil)}.Parse([]byte("db: a.db\n" + appGitHub + gate +
		"  - {name: web-staging, repo: Octo-Org/Web, environment: \"staging EU\", channel: \"#deploys\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Gate{
		{Name: "web-production", Repo: "octo-org/web", Environment: "production", Channel: "C0DEPLOYS"},
		{Name: "web-staging", Repo: "Octo-Org/Web", Environment: "staging EU", Channel: "#deploys"},
	}
	if !slices.Equal(cfg.Gates, want) {
		t.Errorf("gates = %+v, want %+v", cfg.Gates, want)
	}
}

func TestParse_GateProblems(t *testing.T) {
	base := "db: a.db\n" + appGitHub
	runCases(t, []problemCase{
		{"token is not enough", "db: a.db\ngithub: {webhook_secret: whsec, token: ghp_x}\n" + gate, []string{
			`gates: gates need GitHub App auth (github.app_id, github.installation_id, github.private_key): GitHub sends deployment_protection_rule deliveries only to GitHub Apps and takes the answers only from their installations; github.token is not enough`,
		}},
		{"no GitHub auth at all", "db: a.db\ngithub: {webhook_secret: whsec}\n" + gate, []string{
			`gates: gates need GitHub App auth (github.app_id, github.installation_id, github.private_key): GitHub sends deployment_protection_rule deliveries only to GitHub Apps and takes the answers only from their installations; none is configured`,
		}},
		{"no webhook secret", "db: a.db\ngithub: {app_id: 1, installation_id: 2, private_key: pem}\n" + gate, []string{
			`gates: gates need github.webhook_secret: GitHub's deployment_protection_rule deliveries are verified with it`,
		}},
		{"required keys", base + "gates:\n  - {name: web}\n", []string{
			`gates[0].repo: required`, `gates[0].environment: required`, `gates[0].channel: required`,
		}},
		{"unknown key", base + strings.Replace(gate, "    channel:", "    chanel: x\n    channel:", 1), []string{
			`gates[0].chanel: unknown key (did you mean "channel"?)`,
		}},
		{"bad values", base + "gates:\n  - {name: \"web prod\", repo: web, environment: \" prod\", channel: deploys}\n", []string{
			`gates[0].name: "web prod" is not a valid gate name (a letter, then letters, digits, - and _; at most 63)`,
			`gates[0].repo: want a GitHub repository owner/name, got "web"`,
			`gates[0].environment: want a GitHub environment's name (at most 255 characters, no control characters), got " prod"`,
			`gates[0].channel: want a Slack channel ID (C…, G…, D…) or #name, got "deploys"`,
		}},
		{"environment too long", base + "gates:\n  - {name: web, repo: o/web, environment: " + strings.Repeat("e", 256) + ", channel: C0D}\n", []string{
			`gates[0].environment: want a GitHub environment's name (at most 255 characters, no control characters), got "` + strings.Repeat("e", 60) + `"… (256 bytes)`,
		}},
		{"duplicate name", base + gate + "  - {name: web-production, repo: octo-org/web, environment: staging, channel: C0D}\n", []string{
			`gates[1].name: duplicate gate "web-production" (also gates[0])`,
		}},
		{"name reserved", base + "gates:\n  - {name: policies, repo: o/web, environment: production, channel: C0D}\n", []string{
			`gates[0].name: gate "policies" is reserved: it is the target of config changes (action policy); choose another name`,
		}},
		{"environment gated twice", base + gate + "  - {name: web-prod-2, repo: Octo-Org/web, environment: production, channel: C0D}\n", []string{
			`gates[1].environment: environment "production" of Octo-Org/web is also gated by gates[0]`,
		}},
		{"name of a service", strings.Replace(svc, "db: a.db\n", "db: a.db\n"+appGitHub, 1) + "    unikernel: {}\n    build: {mode: wait}\n" +
			"gates:\n  - {name: www, repo: o/web, environment: production, channel: C0D}\n", []string{
			`gates[0].name: gate "www" has the name of a service: policies could not tell them apart`,
		}},
	})
}
