package config

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// edit is a change to the example config: set the key at path (dotted,
// list items by index) to value (YAML), or delete it when value is "".
type edit struct{ path, value string }

// edited returns the example config with edits applied.
func edited(t *testing.T, edits ...edit) []byte {
	t.Helper()
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		parts := strings.Split(e.path, ".")
		n := doc.Content[0]
		for _, p := range parts[:len(parts)-1] {
			if n = nodeAt(n, p); n == nil {
				t.Fatalf("%s: no %s in the example", e.path, p)
			}
		}
		setKey(t, n, parts[len(parts)-1], e.value)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// nodeAt is the value of key p of a mapping, or item p of a list.
func nodeAt(n *yaml.Node, p string) *yaml.Node {
	if i, err := strconv.Atoi(p); err == nil && n.Kind == yaml.SequenceNode {
		if i < len(n.Content) {
			return n.Content[i]
		}
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == p {
			return n.Content[i+1]
		}
	}
	return nil
}

func setKey(t *testing.T, m *yaml.Node, key, value string) {
	t.Helper()
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			break
		}
	}
	if value == "" {
		return
	}
	var v yaml.Node
	if err := yaml.Unmarshal([]byte(value), &v); err != nil {
		t.Fatal(err)
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v.Content[0])
}

// TestSchemaAgreesOnWrongConfigs: each wrong config is refused by the
// decoder and by the schema, both at (or under) the same path.
func TestSchemaAgreesOnWrongConfigs(t *testing.T) {
	s := loadSchema(t)
	cases := []struct {
		name  string
		edits []edit
		at    string // a path both the decoder's and the schema's complaints start with
	}{
		{"unknown top-level key", []edit{{"colour", "blue"}}, "colour"},
		{"unknown nested key", []edit{{"services.0.verify.retries", "3"}}, "services[0].verify.retries"},
		{"misspelt secret form", []edit{{"slack.bot_token_path", "/x"}}, "slack.bot_token_path"},
		{"unknown key in a policy", []edit{{"policies.0.approvers", "[ops]"}}, "policies[0].approvers"},
		{"unknown key in a named engine", []edit{{"engines.local.tls", "true"}}, "engines.local.tls"},
		{"list for a string", []edit{{"db", "[a, b]"}}, "db"},
		{"string for an integer", []edit{{"services.1.unikernel.memory", "lots"}}, "services[1].unikernel.memory"},
		{"string for a boolean", []edit{{"services.0.pull_requests", "maybe"}}, "services[0].pull_requests"},
		{"number for a mapping", []edit{{"drift", "5"}}, "drift"},
		{"mapping for a list", []edit{{"registries", "{host: x}"}}, "registries"},
		{"string for a mapping", []edit{{"services.0.build", "podman"}}, "services[0].build"},
		{"string approval count", []edit{{"policies.0.approve.0.count", "two"}}, "policies[0].approve[0].count"},
		{"on_failure enum", []edit{{"services.0.verify.on_failure", "reboot"}}, "services[0].verify.on_failure"},
		{"build mode enum", []edit{{"services.0.build.mode", "podman"}}, "services[0].build.mode"},
		{"service kind enum", []edit{{"services.0.kind", "lambda"}}, "services[0].kind"},
		{"TSIG algorithm enum", []edit{{"dns.0.tsig_algorithm", "hmac-md5"}}, "dns[0].tsig_algorithm"},
		{"record type enum", []edit{{"dns.0.types", "[A, BOGUS]"}}, "dns[0].types[1]"},
		{"action enum", []edit{{"policies.0.actions", "[reboot]"}}, "policies[0].actions"},
		{"two forms of a secret", []edit{{"slack.bot_token", "xoxb-inline"}}, "slack"},
		{"file and env forms of a secret", []edit{{"engines.chives.ssh_key_env", "KEY"}}, "engines.chives"},
		{"required secret left out", []edit{{"dns.0.tsig_secret_file", ""}}, "dns[0]"},
		{"required key left out", []edit{{"db", ""}}, ""},
		{"swarm service without engine", []edit{{"services.0.engine", ""}}, "services[0]"},
		{"albatross service with engine", []edit{{"services.1.engine", "local"}}, "services[1]"},
		{"build-only service with a host", []edit{{"services.2.kind", "build"}, {"services.2.unikernel", ""}}, "services[2]"},
		{"docker build without engine", []edit{{"services.0.build.engine", ""}}, "services[0].build"},
		{"wait build with a dockerfile", []edit{{"services.1.build.dockerfile", "Dockerfile"}}, "services[1].build"},
		{"repo without branch", []edit{{"services.0.branch", ""}}, "services[0]"},
		{"build without repo", []edit{{"services.2.repo", ""}, {"services.2.branch", ""}}, "services[2]"},
		{"required nested key left out", []edit{{"services.0.verify.on_failure", ""}}, "services[0].verify"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := edited(t, tc.edits...)
			err := parseNoSecrets(t, b)
			if err == nil {
				t.Fatal("the decoder accepts it")
			}
			if !anyUnder(lines(problemsOf(t, err)), tc.at) {
				t.Errorf("the decoder refuses it, but not at %q: %v", tc.at, err)
			}
			errs := schemaErrors(t, s, b)
			if len(errs) == 0 {
				t.Fatal("the schema accepts it")
			}
			if !anyUnder(errs, tc.at) {
				t.Errorf("the schema refuses it, but not at %q:\n%s", tc.at, strings.Join(errs, "\n"))
			}
		})
	}
}

// anyUnder reports whether a `PATH: message` line has a path at or under at.
func anyUnder(msgs []string, at string) bool {
	for _, m := range msgs {
		if at == "" || m == at || strings.HasPrefix(m, at+":") || strings.HasPrefix(m, at+".") || strings.HasPrefix(m, at+"[") {
			return true
		}
	}
	return false
}

// TestSchemaAgreesOnRightConfigs: other forms the decoder accepts, the
// schema accepts too: each form of a secret, a bare 0 for a duration that
// may be off, record types in lower case.
func TestSchemaAgreesOnRightConfigs(t *testing.T) {
	s := loadSchema(t)
	cases := []struct {
		name  string
		edits []edit
	}{
		{"secret inline", []edit{{"audit.token_file", ""}, {"audit.token", "inline-token-0123456789"}}},
		{"secret from the environment", []edit{{"audit.token_file", ""}, {"audit.token_env", "AUDIT_TOKEN"}}},
		{"required secret inline", []edit{{"dns.0.tsig_secret_file", ""}, {"dns.0.tsig_secret", "c2VjcmV0"}}},
		{"drift off", []edit{{"drift.interval", "0"}}},
		{"poll off", []edit{{"github.poll", "0"}}},
		{"lower-case record types", []edit{{"dns.0.types", "[a, txt]"}}},
		{"build-only service", []edit{{"services.2.kind", "build"}, {"services.2.host", ""}, {"services.2.unikernel", ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := edited(t, tc.edits...)
			if err := parseNoSecrets(t, b); err != nil {
				t.Fatalf("the decoder refuses it: %v", err)
			}
			if errs := schemaErrors(t, s, b); len(errs) > 0 {
				t.Errorf("the schema refuses it:\n%s", strings.Join(errs, "\n"))
			}
		})
	}
}
