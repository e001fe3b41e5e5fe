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
		{"listen", 2, `want host:port (e.g. 127.0.0.1:8080), got "localhost"`},
		{"slack.bot_token_file", 4, `cannot read "` + filepath.Join(dir, "run/secrets/nope") + `": no such file or directory`},
		{"slack.comand", 5, `unknown key (did you mean "command"?)`},
		{"services[0].channel", 15, `want a Slack channel ID (C…, G…, D…) or #name, got "deploys"`},
		{"services[0].image", 16, `want a repository without a tag (the tag is set per commit by build.tag)`},
		{"services[0].build.tag", 17, `the tag must depend on the commit (use {{.SHA}} or {{.ShortSHA}})`},
		{"services[0].host", 18, `unknown host "dopy"`},
		{"services[0].unikernel.memory", 19, `must be at least 1 (MB)`},
		{"services[1].name", 20, `duplicate service "www" (also services[0])`},
		{"services[1].channel", 22, `required`},
		{"services[1].engine", 24, `unknown engine "remote"`},
		{"dns[0].tsig_secret", 26, `required (give tsig_secret, tsig_secret_file or tsig_secret_env)`},
		{"dns[0].tsig_algorithm", 29, `want hmac-sha256 or hmac-sha512, got "hmac-md5"`},
		{"dns[0].types[1]", 30, `unknown record type "BOGUS" (known: A, AAAA, CAA, CNAME, MX, NS, PTR, SRV, SSHFP, TLSA, TXT)`},
		{"groups.ops[1]", 32, `want a Slack user ID (U…, W…) or usergroup:S…, got "alice"`},
		{"policies[0].approve[0].group", 38, `unknown group "owners"`},
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
