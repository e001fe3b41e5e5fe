package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParse_FileProblems(t *testing.T) {
	runCases(t, []problemCase{
		{"empty", "", []string{`the file is empty`}},
		{"only comments", "# nothing\n", []string{`the file is empty`}},
		{"syntax", "db: a.db\nslack:\n  bot_token: x\n   command: /cs\n", []string{`line 4: YAML syntax: mapping values are not allowed in this context`}},
		{"two documents", "db: a.db\n---\ndb: b.db\n", []string{`line 2: more than one YAML document`}},
		{"key not a string", "db: a.db\n? [a]\n: b\n", []string{`line 2: keys must be strings, got a list`}},
		{"merge of a list", "db: a.db\nslack:\n  <<: [1]\n", []string{`slack: merge (<<) wants mappings, got a number`}},
	})
}

// TestParse_AliasesAndMerges: anchors may share values, merge keys share
// mappings, and explicit keys win over merged ones.
func TestParse_AliasesAndMerges(t *testing.T) {
	src := `db: a.db
engines:
  local: {host: "unix:///var/run/docker.sock"}
services:
  - &base
    name: a
    kind: swarm
    channel: &ch C0DEPLOYS
    image: r.org/a
    engine: local
  - <<: *base
    name: b
    swarm_service: sb
  - <<: [{name: c, image: r.org/c}, *base]
    channel: *ch
`
	c, err := Parse([]byte(src), "", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []Service{
		{Name: "a", Kind: "swarm", Channel: "C0DEPLOYS", Image: "r.org/a", Engine: "local", SwarmService: "a"},
		{Name: "b", Kind: "swarm", Channel: "C0DEPLOYS", Image: "r.org/a", Engine: "local", SwarmService: "sb"},
		{Name: "c", Kind: "swarm", Channel: "C0DEPLOYS", Image: "r.org/c", Engine: "local", SwarmService: "c"},
	} {
		got := c.Services[i]
		if got.Name != want.Name || got.Kind != want.Kind || got.Channel != want.Channel || got.Image != want.Image ||
			got.Engine != want.Engine || got.SwarmService != want.SwarmService {
			t.Errorf("services[%d]: got %+v, want %+v", i, got, want)
		}
	}
}

// TestParse_Defaults: what a minimal file gets, and the hash of its bytes.
func TestParse_Defaults(t *testing.T) {
	src := []byte("db: a.db\n")
	c, err := Parse(src, "/etc/countersign", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(src)
	for _, f := range []struct{ name, got, want string }{
		{"listen", c.Listen, DefaultListen},
		{"db", c.DB, "/etc/countersign/a.db"},
		{"slack.command", c.Slack.Command, "/cs"},
		{"slack.api_url", c.Slack.APIURL, "https://slack.com/api/"},
		{"github.api_url", c.GitHub.APIURL, "https://api.github.com/"},
		{"hash", c.Hash, hex.EncodeToString(sum[:])},
		{"path", c.Path, ""},
		{"shutdown_grace", c.ShutdownGrace.String(), "5m0s"},
		{"outbox_give_up", c.OutboxGiveUp.String(), "24h0m0s"},
	} {
		if f.got != f.want {
			t.Errorf("%s: got %q, want %q", f.name, f.got, f.want)
		}
	}
}

// TestLoad_Unreadable: a file that cannot be read is an ordinary error,
// not a problem list.
func TestLoad_Unreadable(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	var e *Errors
	if errors.As(err, &e) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want a not-exist error", err)
	}
}

// TestLoad_RelativePaths: *_file paths are relative to the file's directory.
func TestLoad_RelativePaths(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"conf/countersign.yaml": "db: data/cs.db\naudit: {token_file: secrets/audit}\n",
		"conf/secrets/audit":    "tok\n",
	})
	c, err := Load(filepath.Join(dir, "conf/countersign.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Audit.Token.Reveal(), "tok"; got != want {
		t.Errorf("audit.token: got %q, want %q", got, want)
	}
	if got, want := c.DB, filepath.Join(dir, "conf/data/cs.db"); got != want {
		t.Errorf("db: got %q, want %q", got, want)
	}
}

// TestParse_ServiceDefaults: what a service gets when the file leaves
// keys out.
func TestParse_ServiceDefaults(t *testing.T) {
	src := `db: a.db
engines: {local: {host: "unix:///d.sock"}}
hosts: {dopey: {address: dopey.org, user: deploy, known_hosts: kh}}
services:
  - {name: web, kind: swarm, channel: C1X, image: r.org/web, engine: local, repo: a/web, branch: live, build: {mode: docker, engine: local}}
  - {name: www, kind: albatross, channel: C1X, image: r.org/www, host: dopey, unikernel: {}}
`
	c, err := Parse([]byte(src), "", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	wantWeb := Service{Name: "web", Kind: "swarm", Repo: "a/web", Branch: "live", Channel: "C1X", Image: "r.org/web",
		Build:  Build{Mode: "docker", Engine: "local", Dockerfile: "Dockerfile", Tag: "{{.SHA}}", Timeout: DefaultBuildTimeout},
		Engine: "local", SwarmService: "web"}
	wantWWW := Service{Name: "www", Kind: "albatross", Channel: "C1X", Image: "r.org/www", Host: "dopey",
		Unikernel: Unikernel{Name: "www", Binary: "unikernel.hvt", Keep: 5}}
	if !reflect.DeepEqual(c.Services[0], wantWeb) {
		t.Errorf("got %+v, want %+v", c.Services[0], wantWeb)
	}
	if !reflect.DeepEqual(c.Services[1], wantWWW) {
		t.Errorf("got %+v, want %+v", c.Services[1], wantWWW)
	}
	wantHost := Host{Address: "dopey.org:22", User: "deploy", KnownHosts: "kh", AlbatrossClient: "albatross-client", Dir: DefaultHostDir}
	if got := c.Hosts["dopey"]; !reflect.DeepEqual(got, wantHost) {
		t.Errorf("got %+v, want %+v", got, wantHost)
	}
}
