package config

import (
	"path/filepath"
	"testing"
)

// TestLoad_ManyProblems: one file with many things wrong reports them
// all at once, in file order, each with its path and line.
func TestLoad_ManyProblems(t *testing.T) {
	const src = `db: a.db
listen: localhost
slack:
  bot_token_file: /run/secrets/nope
  comand: /cs
engines:
  local: {host: "unix:///var/run/docker.sock"}
hosts:
  dopey: {address: dopey.example.org, user: deploy, known_hosts: kh}
services:
  - name: www
    kind: albatross
    repo: mirage/mirage-www
    branch: main
    channel: deploys
    image: r.example.org/www:latest
    build: {mode: wait, tag: latest}
    host: dopy
    unikernel: {memory: 0}
  - name: www
    kind: swarm
    channel:
    image: r.example.org/www
    engine: remote
dns:
  - zone: mirageos.org
    server: ns0.mirageos.org
    tsig_key: deploy._update
    tsig_algorithm: hmac-md5
    types: [A, BOGUS]
groups:
  ops: [U0OPS1, alice]
policies:
  - name: prod
    actions: [deploy]
    targets: ["*"]
    request: [push]
    approve: [{group: owners, count: 1}]
`
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"countersign.yaml": src})
	_, err := Options{Root: dir}.Load(filepath.Join(dir, "countersign.yaml"))
	got := problemsOf(t, err)
	want := []Problem{
		{Path: "listen", Line: 2, Message: `want host:port (e.g. 127.0.0.1:8080), got "localhost"`},
		{Path: "slack.bot_token_file", Line: 4, Message: `cannot read "` + filepath.Join(dir, "run/secrets/nope") + `": no such file or directory`},
		{Path: "slack.comand", Line: 5, Message: `unknown key (did you mean "command"?)`},
		{Path: "services[0].channel", Line: 15, Message: `want a Slack channel ID (C…, G…, D…) or #name, got "deploys"`},
		{Path: "services[0].image", Line: 16, Message: `want a repository without a tag (the tag is set per commit by build.tag)`},
		{Path: "services[0].build.tag", Line: 17, Message: `the tag must depend on the commit (use {{.SHA}} or {{.ShortSHA}})`},
		{Path: "services[0].host", Line: 18, Message: `unknown host "dopy"`},
		{Path: "services[0].unikernel.memory", Line: 19, Message: `must be at least 1 (MB)`},
		{Path: "services[1].name", Line: 20, Message: `duplicate service "www" (also services[0])`},
		{Path: "services[1].channel", Line: 22, Message: `required`},
		{Path: "services[1].engine", Line: 24, Message: `unknown engine "remote"`},
		{Path: "dns[0].tsig_secret", Line: 26, Message: `required (give tsig_secret, tsig_secret_file or tsig_secret_env)`},
		{Path: "dns[0].tsig_algorithm", Line: 29, Message: `want hmac-sha256 or hmac-sha512, got "hmac-md5"`},
		{Path: "dns[0].types[1]", Line: 30, Message: `unknown record type "BOGUS" (known: A, AAAA, CAA, CNAME, MX, NS, PTR, SRV, SSHFP, TLSA, TXT)`},
		{Path: "groups.ops[1]", Line: 32, Message: `want a Slack user ID (U…, W…) or usergroup:S…, got "alice"`},
		{Path: "policies[0].approve[0].group", Line: 38, Message: `unknown group "owners"`},
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d", len(got), len(want))
	}
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("missing: %s (line %d)", want[i], want[i].Line)
		case i >= len(want):
			t.Errorf("unexpected: %s (line %d)", got[i], got[i].Line)
		case got[i] != want[i]:
			t.Errorf("problem %d:\ngot  %s (line %d)\nwant %s (line %d)", i, got[i], got[i].Line, want[i], want[i].Line)
		}
	}
}
