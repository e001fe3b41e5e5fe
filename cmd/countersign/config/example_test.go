package config

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/policies"
)

const (
	examplePath = "../../../countersign.example.yaml" // shipped at the top of the repository
	// referencePath is the product's reference config, verbatim: the
	// format the loader must accept as it is. Replace it whole when the
	// reference changes; never edit it here.
	referencePath = "testdata/reference.example.yaml"
)

// exampleSSHKey and exampleHostKey are a real key pair: CheckFiles parses
// the key and the known_hosts line.
var exampleSSHKey, exampleHostKey = mustSSHKey()

// exampleSecrets are the files the reference config names, with the value
// each holds (as written, then as loaded).
var exampleSecrets = map[string]string{
	"run/secrets/countersign-audit-token": "audit-token-0123456789",
	"run/secrets/countersign-read-oncall": "read-token-oncall-0123",
	"run/secrets/countersign-session-key": "session-key-of-32-bytes-or-more-0123",
	"run/secrets/slack-bot-token":         "xoxb-bot",
	"run/secrets/slack-app-token":         "xapp-app",
	"run/secrets/slack-signing-secret":    "signing",
	"run/secrets/github-webhook-secret":   "webhook",
	"run/secrets/github-token":            "ghp-token",
	"run/secrets/registry-password":       "registry-pw",
	"run/secrets/deployer-ssh-key":        exampleSSHKey,
	"run/secrets/tsig-mirageos":           "c2VjcmV0LXRzaWc=",
}

// exampleRoot makes a Root holding the reference config's secret files
// (each with a trailing newline, as editors write them) and known_hosts.
func exampleRoot(t *testing.T) string {
	root := t.TempDir()
	files := map[string]string{"etc/countersign/known_hosts": "dopey.caelum.ci.dev,chives.caelum.ci.dev " + exampleHostKey + "\n"}
	for name, v := range exampleSecrets {
		files[name] = v + "\n"
	}
	writeFiles(t, root, files)
	return root
}

// TestExample_ExtendsReference fails when the shipped example drifts
// from the reference config.
func TestExample_ExtendsReference(t *testing.T) {
	want, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	// The project's example may add keys (and their comments) to the
	// reference, never drop or change one of its lines: every line of the
	// reference is in the example, in the same order.
	lines := strings.Split(string(got), "\n")
	i := 0
	for n, line := range strings.Split(string(want), "\n") {
		for i < len(lines) && lines[i] != line {
			i++
		}
		if i == len(lines) {
			t.Fatalf("%s lacks line %d of %s (or has it out of order): %q", examplePath, n+1, referencePath, line)
		}
		i++
	}
}

// TestLoad_Example loads the reference config as it is, its absolute
// secret paths found under Options.Root, and checks every value.
func TestLoad_Example(t *testing.T) {
	root := exampleRoot(t)
	got, err := Options{Root: root, CheckFiles: true}.Load(examplePath)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	raw, _ := os.ReadFile(examplePath)
	sum := sha256.Sum256(raw)
	sec := func(file string) cs.Secret { return cs.NewSecret(exampleSecrets["run/secrets/"+file]) }
	at := func(p string) string { return filepath.Join(root, p) }
	knownHosts := at("/etc/countersign/known_hosts")
	want := &Config{
		Listen:        "127.0.0.1:8080",
		PublicURL:     "https://deploy.example.org",
		ShutdownGrace: DefaultShutdownGrace,
		OutboxGiveUp:  24 * time.Hour,
		Drift:         Drift{Interval: DefaultDriftInterval},
		DB:            at("/var/lib/countersign/countersign.db"),
		Audit:         Audit{Token: sec("countersign-audit-token")},
		Web: Web{
			ReadTokens: []ReadToken{{Name: "oncall", Token: sec("countersign-read-oncall")}},
			SessionKey: sec("countersign-session-key"), SessionTTL: 12 * time.Hour,
			Proxy: &Proxy{UserHeader: "X-Forwarded-User", Trusted: []netip.Prefix{
				netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"),
			}},
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		},
		Slack: Slack{
			BotToken: sec("slack-bot-token"), AppToken: sec("slack-app-token"), SigningSecret: sec("slack-signing-secret"),
			APIURL: "https://slack.com/api/", Command: "/cs",
		},
		GitHub: GitHub{WebhookSecret: sec("github-webhook-secret"), Token: sec("github-token"), APIURL: "https://api.github.com/",
			Poll: DefaultGitHubPoll},
		Registries: []Registry{
			{Host: "registry.example.org", Username: "countersign", Password: sec("registry-password")},
		},
		Engines: map[string]Engine{
			"local":  {Host: "unix:///var/run/docker.sock"},
			"chives": {Host: "ssh://root@chives.caelum.ci.dev", SSHKey: sec("deployer-ssh-key"), KnownHosts: knownHosts},
		},
		Hosts: map[string]Host{
			"dopey": {
				Address: "dopey.caelum.ci.dev:22", User: "deploy", SSHKey: sec("deployer-ssh-key"), KnownHosts: knownHosts,
				AlbatrossClient: "/usr/local/bin/albatross-client", Socket: "/run/albatross/util/vmmd.sock",
				Dir: "/var/lib/countersign/unikernels",
			},
		},
		Services: []Service{
			{
				Name: "ocaml-ci-web", Kind: "swarm", Repo: "ocurrent/ocaml-ci", Branch: "live-web", Channel: "C0DEPLOYS",
				Image:  "registry.example.org/ocurrent/ocaml-ci-web",
				Build:  Build{Mode: "docker", Engine: "local", Dockerfile: "Dockerfile.web", Tag: "{{.SHA}}", Timeout: time.Hour},
				Engine: "chives", SwarmService: "infra_ocaml-ci-web", PullRequests: true,
				Verify: &Verify{URL: "https://ocaml.ci.dev/", Status: 200, For: 2 * time.Minute, Every: 10 * time.Second, OnFailure: "rollback"},
			},
			{
				Name: "www", Kind: "albatross", Repo: "mirage/mirage-www", Branch: "master", Channel: "C0DEPLOYS",
				Image: "registry.example.org/ocurrentbuilder/staging",
				Build: Build{Mode: "wait", Tag: "live-mirage-hvt-{{.SHA}}", Timeout: 50 * time.Minute},
				Host:  "dopey",
				Unikernel: Unikernel{Name: "www", Binary: "unikernel.hvt", Memory: 512, CPUs: 1,
					Net: []string{"service:br0"}, Args: []string{"--tls=true"}, RestartOnFail: true, Keep: 5},
			},
			{
				Name: "next", Kind: "albatross", Repo: "mirage/mirage-www", Branch: "next", Channel: "C0DEPLOYS",
				Image: "registry.example.org/ocurrentbuilder/staging",
				Build: Build{Mode: "wait", Tag: "next-mirage-hvt-{{.SHA}}", Timeout: 50 * time.Minute},
				Host:  "dopey",
				Unikernel: Unikernel{Name: "next", Binary: "unikernel.hvt", Memory: 512,
					Net: []string{"service:br0"}, Args: []string{"--tls=true"}, Keep: 5},
			},
		},
		DNS: []Zone{{
			Zone: "mirageos.org", Server: "ns0.mirageos.org:53", TSIGKey: "deploy._update.", TSIGAlgorithm: "hmac-sha256",
			TSIGSecret: sec("tsig-mirageos"), Types: []string{"A", "AAAA", "CNAME", "TXT"},
		}},
		Groups: map[string][]string{
			"ops":        {"U0OPS0001", "U0OPS0002", "U0OPS0003"},
			"www-owners": {"U0WWW0001"},
			"devs":       {"usergroup:S0DEVS"},
		},
		Identities: Identities{GitHub: map[string]string{"talex5": "U0OPS0001", "hannesm": "U0WWW0001"}},
		Policies: []policies.Policy{
			{
				Name: "www-on-push", Actions: []cs.ActionKind{"deploy"}, Targets: []string{"www", "next"},
				Request: []string{"push"}, Auto: &policies.Auto{Branches: []string{"next"}},
				Approve: []cs.Requirement{{Group: "www-owners", Count: 1}}, Expires: policies.Duration(2 * time.Hour),
			},
			{
				Name: "production", Actions: []cs.ActionKind{"deploy", "rollback", "scale"}, Targets: []string{"*"},
				Request: []string{"group:devs", "group:ops", "push"},
				Approve: []cs.Requirement{{Group: "ops", Count: 1}, {Group: "www-owners", Count: 1}},
				Expires: policies.Duration(time.Hour), Scale: &policies.Limits{Min: 1, Max: 10},
			},
			{
				Name: "dns-changes", Actions: []cs.ActionKind{"dns"}, Targets: []string{"mirageos.org", "*.mirageos.org"},
				Request: []string{"group:ops"}, Approve: []cs.Requirement{{Group: "ops", Count: 2}},
				Expires: policies.Duration(30 * time.Minute),
			},
			{
				Name: "locks", Actions: []cs.ActionKind{"lock", "unlock"}, Targets: []string{"*"},
				Request: []string{"group:ops", "group:devs"}, Approve: []cs.Requirement{},
			},
			{
				Name: "rules", Actions: []cs.ActionKind{"policy"}, Targets: []string{"policies"}, Request: []string{"group:ops"},
				Approve: []cs.Requirement{{Group: "ops", Count: 1}, {Group: "www-owners", Count: 1}}, Expires: policies.Duration(24 * time.Hour),
			},
		},
		Windows: []policies.Window{{
			Name: "weekend-freeze", Actions: []cs.ActionKind{"deploy", "scale", "dns"}, Targets: []string{"*"},
			Deny:       policies.Span{From: "Fri 16:00", To: "Mon 08:00", TZ: "Europe/London"},
			BreakGlass: &policies.BreakGlass{Approve: []cs.Requirement{{Group: "ops", Count: 2}}},
		}},
		Hash: hex.EncodeToString(sum[:]),
		Path: examplePath,
	}
	if !reflect.DeepEqual(got, want) {
		// Secrets print redacted, so compare them one by one first.
		for _, s := range []struct {
			name      string
			got, want cs.Secret
		}{
			{"audit.token", got.Audit.Token, want.Audit.Token},
			{"web.session_key", got.Web.SessionKey, want.Web.SessionKey},
			{"slack.bot_token", got.Slack.BotToken, want.Slack.BotToken},
			{"dns[0].tsig_secret", got.DNS[0].TSIGSecret, want.DNS[0].TSIGSecret},
			{"engines.chives.ssh_key", got.Engines["chives"].SSHKey, want.Engines["chives"].SSHKey},
		} {
			if s.got.Reveal() != s.want.Reveal() {
				t.Errorf("%s: got %q, want %q", s.name, s.got.Reveal(), s.want.Reveal())
			}
		}
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	if err := got.CheckServe(); err != nil {
		t.Errorf("CheckServe: %v", err)
	}
}

// TestLoad_ExampleWithoutSecretFiles: the reference names its secret
// files by absolute path, and each one missing is a problem at its key.
func TestLoad_ExampleWithoutSecretFiles(t *testing.T) {
	root := t.TempDir()
	_, err := Options{Root: root}.Load(examplePath)
	got := problemsOf(t, err)
	wantPaths := []string{
		"audit.token_file", "web.read_tokens[0].token_file", "web.session_key_file", "slack.bot_token_file", "slack.app_token_file", "slack.signing_secret_file",
		"github.webhook_secret_file", "github.token_file", "registries[0].password_file",
		"engines.chives.ssh_key_file", "hosts.dopey.ssh_key_file", "dns[0].tsig_secret_file",
	}
	if len(got) != len(wantPaths) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(wantPaths), lines(got))
	}
	for i, p := range got {
		if p.Path != wantPaths[i] || p.Line == 0 {
			t.Errorf("problem %d: got %s (line %d), want path %s with a line", i, p, p.Line, wantPaths[i])
		}
	}
	if want := `audit.token_file: cannot read "` + filepath.Join(root, "run/secrets/countersign-audit-token") + `": no such file or directory`; got[0].String() != want {
		t.Errorf("got %q, want %q", got[0].String(), want)
	}
}
