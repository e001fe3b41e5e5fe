package config

import (
	"testing"
)

// infra is a valid beginning that services can refer to: it is lines 1-6.
const infra = `db: a.db
engines:
  local: {host: "unix:///var/run/docker.sock"}
  remote: {host: "ssh://deploy@chives.example.org", known_hosts: kh}
hosts:
  dopey: {address: dopey.example.org, user: deploy, known_hosts: kh}
`

// TestParse_Problems has a case for each rule: the file, and exactly the
// problems it must produce.
func TestParse_Problems(t *testing.T) {
	runCases(t, []problemCase{
		// The whole file.
		{"unknown top-level key", "db: a.db\nservise: []\n", []string{`servise: unknown key (did you mean "services"?)`}},
		{"unknown key far from any", "db: a.db\nfrobnicate: 1\n", []string{`frobnicate: unknown key`}},
		{"db required", "listen: 127.0.0.1:1\n", []string{`db: required`}},
		{"duplicate key", "db: a.db\ndb: b.db\n", []string{`db: duplicate key (first at line 1)`}},
		{"not a mapping", "- db\n", []string{`line 1: want a mapping of keys at the top, got a list`}},
		{"listen wrong type", "db: a.db\nlisten: [1]\n", []string{`listen: want a string, got a list`}},
		{"listen without port", "db: a.db\nlisten: localhost\n", []string{`listen: want host:port (e.g. 127.0.0.1:8080), got "localhost"`}},
		{"public_url not http", "db: a.db\npublic_url: ftp://x.org\n", []string{`public_url: want an absolute http or https URL`}},
		{"public_url with credentials", "db: a.db\npublic_url: https://u:pw@x.org\n", []string{`public_url: must not contain credentials (use the token keys)`}},
		{"slack command", "db: a.db\nslack: {command: cs}\n", []string{`slack.command: want a slash command like /cs, got "cs"`}},
		{"slack api_url", "db: a.db\nslack: {api_url: slack.com}\n", []string{`slack.api_url: want an absolute http or https URL`}},
		{"slack unknown key", "db: a.db\nslack: {bot_tokn: x}\n", []string{`slack.bot_tokn: unknown key (did you mean "bot_token"?)`}},
		{"github api_url query", "db: a.db\ngithub: {api_url: \"https://x.org/?a=b\"}\n", []string{`github.api_url: must not have a query or fragment`}},
		{"outbox_give_up not a duration", "db: a.db\noutbox_give_up: a day\n", []string{`outbox_give_up: invalid duration "a day" (want e.g. 30m, 2h)`}},
		{"outbox_give_up not positive", "db: a.db\noutbox_give_up: 0s\n", []string{`outbox_give_up: duration "0s" must be positive`}},
		{"section wrong type", "db: a.db\naudit: [x]\n", []string{`audit: want a mapping, got a list`}},

		// Services.
		{"service required keys", infra + "services:\n  - {repo: a/b, branch: main, build: {mode: wait}}\n", []string{
			`services[0].name: required`, `services[0].kind: required`, `services[0].channel: required`, `services[0].image: required`,
		}},
		{"service name", infra + "services:\n  - {name: 1www, kind: albatross, channel: C1X, image: r.org/w, host: dopey, unikernel: {name: www}}\n",
			[]string{`services[0].name: "1www" is not a valid service name (a letter, then letters, digits, - and _; at most 63)`}},
		{"service name reserved", infra + "services:\n  - {name: policies, kind: albatross, channel: C1X, image: r.org/w, host: dopey, unikernel: {name: www}}\n",
			[]string{`services[0].name: service "policies" is reserved: it is the target of config changes (action policy); choose another name`}},
		{"service kind", infra + "services:\n  - {name: w, kind: k8s, channel: C1X, image: r.org/w}\n",
			[]string{`services[0].kind: want "swarm", "albatross" or "build", got "k8s"`}},
		{"channel", infra + "services:\n  - {name: w, kind: swarm, channel: deploys, image: r.org/w, engine: local}\n",
			[]string{`services[0].channel: want a Slack channel ID (C…, G…, D…) or #name, got "deploys"`}},
		{"channel by name", infra + "services:\n  - {name: w, kind: swarm, channel: \"#Deploys\", image: r.org/w, engine: local}\n",
			[]string{`services[0].channel: want a Slack channel ID (C…, G…, D…) or #name, got "#Deploys"`}},
		{"repo shape", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: r.org/w, engine: local, repo: mirage-www, branch: main, build: {mode: wait}}\n",
			[]string{`services[0].repo: want a GitHub repository owner/name, got "mirage-www"`}},
		{"repo needs branch and build", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: r.org/w, engine: local, repo: a/b}\n",
			[]string{`services[0].branch: required with repo`, `services[0].build: required with repo (mode docker or wait)`}},
		{"build needs repo", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: r.org/w, engine: local, build: {mode: wait}}\n",
			[]string{`services[0].repo: required when build is configured`}},
		{"branch needs repo", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: r.org/w, engine: local, branch: main}\n",
			[]string{`services[0].branch: only with repo`}},
		{"branch name", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: r.org/w, engine: local, repo: a/b, branch: \"a..b\", build: {mode: wait}}\n",
			[]string{`services[0].branch: not a valid branch name: "a..b"`}},
		{"image with tag", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: \"r.org:5000/w:latest\", engine: local}\n",
			[]string{`services[0].image: want a repository without a tag (the tag is set per commit by build.tag)`}},
		{"image with digest", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: \"r.org/w@sha256:00\", engine: local}\n",
			[]string{`services[0].image: want a repository without a digest (the digest is resolved per commit)`}},
		{"image upper case", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: r.org/Team/W, engine: local}\n",
			[]string{`services[0].image: not a valid image repository (want e.g. registry.example.org/team/app, lower case)`}},
		{"swarm needs engine", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: r.org/w}\n",
			[]string{`services[0].engine: required`}},
		{"unknown engine", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: r.org/w, engine: lcl}\n",
			[]string{`services[0].engine: unknown engine "lcl"`}},
		{"swarm refuses albatross keys", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: r.org/w, engine: local, host: dopey, unikernel: {}}\n",
			[]string{`services[0].host: only for kind albatross`, `services[0].unikernel: only for kind albatross`}},
		{"swarm service name", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: r.org/w, engine: local, swarm_service: \"a b\"}\n",
			[]string{`services[0].swarm_service: not a valid Swarm service name: "a b"`}},
		{"albatross needs host and unikernel", infra + "services:\n  - {name: w, kind: albatross, channel: C1X, image: r.org/w}\n",
			[]string{`services[0].host: required`, `services[0].unikernel: required`}},
		{"unknown host", infra + "services:\n  - {name: w, kind: albatross, channel: C1X, image: r.org/w, host: dopy, unikernel: {}}\n",
			[]string{`services[0].host: unknown host "dopy"`}},
		{"albatross refuses swarm keys", infra + "services:\n  - {name: w, kind: albatross, channel: C1X, image: r.org/w, host: dopey, unikernel: {}, engine: local, swarm_service: w}\n",
			[]string{`services[0].engine: only for kind swarm`, `services[0].swarm_service: only for kind swarm`}},
		{"service unknown key", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: r.org/w, engine: local, replicas: 2}\n",
			[]string{`services[0].replicas: unknown key`}},
		{"duplicate service", infra + "services:\n  - {name: w, kind: swarm, channel: C1X, image: r.org/w, engine: local}\n  - {name: w, kind: swarm, channel: C1X, image: r.org/w, engine: remote}\n",
			[]string{`services[1].name: duplicate service "w" (also services[0])`}},
		{"same Swarm service twice", infra + "services:\n  - {name: a, kind: swarm, channel: C1X, image: r.org/w, engine: local, swarm_service: s}\n  - {name: b, kind: swarm, channel: C1X, image: r.org/w, engine: local, swarm_service: s}\n",
			[]string{`services[1].swarm_service: Swarm service "s" on engine "local" is also deployed by services[0]`}},
		{"same unikernel twice", infra + "services:\n  - {name: a, kind: albatross, channel: C1X, image: r.org/w, host: dopey, unikernel: {name: u}}\n  - {name: b, kind: albatross, channel: C1X, image: r.org/w, host: dopey, unikernel: {name: u}}\n",
			[]string{`services[1].unikernel.name: unikernel "u" on host "dopey" is also deployed by services[0]`}},
		{"services not a list", infra + "services: {name: w}\n", []string{`services: want a list, got a mapping`}},
	})
}
