package config

import "testing"

func TestParse_EngineProblems(t *testing.T) {
	runCases(t, []problemCase{
		{"host required", "db: a.db\nengines: {e: {}}\n", []string{`engines.e.host: required`}},
		{"unsupported scheme", "db: a.db\nengines: {e: {host: \"http://d:2375\"}}\n", []string{
			`engines.e.host: unsupported scheme "http" (want unix://, tcp:// or ssh://)`,
		}},
		{"no scheme", "db: a.db\nengines: {e: {host: /var/run/docker.sock}}\n", []string{
			`engines.e.host: want unix:///path, tcp://host:port or ssh://user@host, got "/var/run/docker.sock"`,
		}},
		{"unix relative", "db: a.db\nengines: {e: {host: \"unix://docker.sock\"}}\n", []string{
			`engines.e.host: want unix:///absolute/path, got "unix://docker.sock"`,
		}},
		{"tcp without port", "db: a.db\nengines: {e: {host: \"tcp://d.example.org\"}}\n", []string{
			`engines.e.host: want tcp://host:port, got "tcp://d.example.org"`,
		}},
		{"tcp needs a client certificate", "db: a.db\nengines: {e: {host: \"tcp://d.example.org:2376\"}}\n", []string{
			`engines.e.cert_file: required for tcp:// hosts: the Docker API is only spoken over TLS with a client certificate`,
		}},
		{"ssh without user", "db: a.db\nengines: {e: {host: \"ssh://d.example.org\", known_hosts: kh}}\n", []string{
			`engines.e.host: want ssh://user@host[:port], got "ssh://d.example.org"`,
		}},
		{"ssh with password", "db: a.db\nengines: {e: {host: \"ssh://u:pw@d.example.org\", known_hosts: kh}}\n", []string{
			`engines.e.host: must not contain a password (use ssh_key)`,
		}},
		{"ssh needs known_hosts", "db: a.db\nengines: {e: {host: \"ssh://u@d.example.org\"}}\n", []string{
			`engines.e.known_hosts: required for ssh:// hosts (host keys are checked strictly)`,
		}},
		{"ssh keys only for ssh", "db: a.db\nengines: {e: {host: \"unix:///d.sock\", ssh_key: k, known_hosts: kh}}\n", []string{
			`engines.e.ssh_key: only for ssh:// hosts`, `engines.e.known_hosts: only for ssh:// hosts`,
		}},
		{"TLS only for tcp", "db: a.db\nengines: {e: {host: \"ssh://u@d.example.org\", known_hosts: kh, ca_file: ca.pem}}\n", []string{
			`engines.e.ca_file: only for tcp:// hosts`,
		}},
		{"cert without key", "db: a.db\nengines: {e: {host: \"tcp://d.example.org:2376\", cert_file: c.pem}}\n", []string{
			`engines.e.key_file: required with cert_file`,
		}},
		{"key without cert", "db: a.db\nengines: {e: {host: \"tcp://d.example.org:2376\", key_file: k.pem}}\n", []string{
			`engines.e.cert_file: required with key_file`,
		}},
		{"engine name", "db: a.db\nengines: {\"a b\": {host: \"unix:///d.sock\"}}\n", []string{
			`engines["a b"]: "a b" is not a valid engine name (letters, digits, -_., at most 63)`,
		}},
		{"engine unknown key", "db: a.db\nengines: {e: {host: \"unix:///d.sock\", tls: true}}\n", []string{`engines.e.tls: unknown key`}},
		{"engines not a mapping", "db: a.db\nengines: [a]\n", []string{`engines: want a mapping, got a list`}},
	})
}

func TestParse_HostProblems(t *testing.T) {
	runCases(t, []problemCase{
		{"required", "db: a.db\nhosts: {h: {}}\n", []string{
			`hosts.h.address: required`, `hosts.h.user: required`, `hosts.h.known_hosts: required`,
		}},
		{"address", "db: a.db\nhosts: {h: {address: \"h:ssh\", user: u, known_hosts: kh}}\n", []string{
			`hosts.h.address: want host[:port], got "h:ssh"`,
		}},
		{"user", "db: a.db\nhosts: {h: {address: h.org, user: \"Root User\", known_hosts: kh}}\n", []string{
			`hosts.h.user: not a valid user name: "Root User"`,
		}},
		{"albatross_client", "db: a.db\nhosts: {h: {address: h.org, user: u, known_hosts: kh, albatross_client: \"albatross-client; rm -rf /\"}}\n", []string{
			`hosts.h.albatross_client: want a command or path of letters, digits and -_./+ (it runs on the host), got "albatross-client; rm -rf /"`,
		}},
		{"socket relative", "db: a.db\nhosts: {h: {address: h.org, user: u, known_hosts: kh, socket: vmmd.sock}}\n", []string{
			`hosts.h.socket: want an absolute path of letters, digits and -_./+ (it is used on the host), got "vmmd.sock"`,
		}},
		{"dir escapes", "db: a.db\nhosts: {h: {address: h.org, user: u, known_hosts: kh, dir: /var/../etc}}\n", []string{
			`hosts.h.dir: want an absolute path of letters, digits and -_./+ (it is used on the host), got "/var/../etc"`,
		}},
	})
}

func TestParse_RegistryProblems(t *testing.T) {
	runCases(t, []problemCase{
		{"host required", "db: a.db\nregistries: [{username: u, password: p}]\n", []string{`registries[0].host: required`}},
		{"host shape", "db: a.db\nregistries: [{host: \"https://r.org\"}]\n", []string{
			`registries[0].host: want a registry host[:port], got "https://r.org"`,
		}},
		{"duplicate", "db: a.db\nregistries: [{host: r.org}, {host: R.org}]\n", []string{
			`registries[1].host: duplicate registry "r.org" (also registries[0])`,
		}},
		{"username without password", "db: a.db\nregistries: [{host: r.org, username: u}]\n", []string{`registries[0].password: required with username`}},
		{"password without username", "db: a.db\nregistries: [{host: r.org, password: p}]\n", []string{`registries[0].username: required with password`}},
	})
}

// TestParse_CheckFiles: files named for later use are only checked when
// asked, and then each unreadable one is a problem at its key.
func TestParse_CheckFiles(t *testing.T) {
	const src = "db: a.db\nhosts: {h: {address: h.org, user: u, known_hosts: missing}}\n" +
		"engines: {e: {host: \"tcp://d.org:2376\", ca_file: ca.pem, cert_file: c.pem, key_file: k.pem}}\n"
	for _, tc := range []struct {
		name  string
		check bool
		want  []string
	}{
		{"not checked", false, nil},
		{"checked", true, []string{
			`hosts.h.known_hosts: cannot read "DIR/missing": no such file or directory`,
			`engines.e.ca_file: cannot read "DIR/ca.pem": no such file or directory`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cert, key := newCert(t)
			writeFiles(t, dir, map[string]string{"c.pem": cert, "k.pem": key})
			_, err := Options{Dir: dir, CheckFiles: tc.check}.Parse([]byte(src))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no problems", err)
				}
				return
			}
			for i := range tc.want {
				tc.want[i] = replaceDir(tc.want[i], dir)
			}
			checkProblems(t, err, tc.want)
		})
	}
}
