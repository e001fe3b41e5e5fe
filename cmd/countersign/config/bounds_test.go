package config

import (
	"strings"
	"testing"
)

// TestParse_HugeValues: an 8 MB value (50 MB took minutes under -race),
// wherever it is put, comes back in a problem of a few hundred bytes, not
// an 8 MB line.
func TestParse_HugeValues(t *testing.T) {
	t.Parallel() // it takes seconds
	size := 8 << 20
	if testing.Short() {
		size = 1 << 20
	}
	huge := "{{.SHA}}" + strings.Repeat("a", size)
	src := `db: a.db
listen: &big '` + huge + `'
*big : 1
audit: {channel: *big}
slack: {command: *big}
registries: [{host: *big}]
engines:
  e: {host: *big}
  *big : {host: "unix:///d.sock"}
hosts:
  h: {address: *big, user: *big, known_hosts: kh, albatross_client: *big, socket: *big, dir: *big}
services:
  - name: *big
    kind: *big
    channel: *big
    image: *big
    repo: *big
    branch: main
    build: {mode: *big, tag: *big, timeout: *big}
  - name: w
    kind: swarm
    channel: C0DEPLOYS
    image: r.org/w
    engine: *big
    swarm_service: *big
  - name: a
    kind: albatross
    channel: C0DEPLOYS
    image: r.org/a
    host: *big
    unikernel: {name: *big, binary: *big, memory: *big, net: [*big], restart_on_fail: *big}
dns:
  - {zone: *big, server: *big, tsig_key: *big, tsig_algorithm: *big, tsig_secret: c2VjcmV0, types: [*big]}
groups:
  g: [*big]
  *big : [U0OPS0001]
identities:
  github: {a: *big}
policies:
  - {name: *big, actions: [*big], targets: [x], request: [*big], approve: [{group: *big}], expires: *big}
windows:
  - {name: *big, actions: [deploy], targets: [x], deny: {from: *big, to: *big, tz: *big}}
`
	_, err := Options{Dir: t.TempDir(), LookupEnv: env(nil)}.Parse([]byte(src))
	ps := problemsOf(t, err)
	if len(ps) < 40 {
		t.Errorf("got %d problems, want at least 40 (one per huge value):\n%.20000s", len(ps), err)
	}
	for _, p := range ps {
		if testing.Verbose() {
			t.Logf("line %d: %s", p.Line, p)
		}
		if s := p.String(); len(s) >= 500 {
			t.Errorf("a %d-byte problem: %.300s…", len(s), s)
		}
	}
}
