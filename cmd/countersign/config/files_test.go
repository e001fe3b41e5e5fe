package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fileCase is a config, the files beside it, and exactly the problems
// Parse with CheckFiles must report (DIR is the files' directory).
type fileCase struct {
	name  string
	files map[string]string
	env   map[string]string
	want  []string // nil: loads
}

func runFileCases(t *testing.T, src string, cases []fileCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			_, err := Options{Dir: dir, LookupEnv: env(tc.env), CheckFiles: true}.Parse([]byte(src))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no problems", err)
				}
				return
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = replaceDir(w, dir)
			}
			checkProblems(t, err, want)
		})
	}
}

// TestParse_TLSFiles: with CheckFiles, a tcp:// engine's CA, certificate
// and key must be PEM of the right kind, and the key must match the
// certificate, as the Docker client will require.
func TestParse_TLSFiles(t *testing.T) {
	const src = "db: a.db\nengines: {e: {host: \"tcp://d.org:2376\", ca_file: ca.pem, cert_file: c.pem, key_file: k.pem}}\n"
	ca, _ := newCert(t)
	cert, key := newCert(t)
	_, otherKey := newCert(t)
	files := func(ca, cert, key string) map[string]string {
		return map[string]string{"ca.pem": ca, "c.pem": cert, "k.pem": key}
	}
	runFileCases(t, src, []fileCase{
		{name: "valid", files: files(ca, cert, key)},
		{name: "chain and key after other blocks", files: files(ca+cert, cert+ca, pemOf("EC PARAMETERS", nil)+key)},
		{name: "empty CA", files: files("", cert, key), want: []string{
			`engines.e.ca_file: "DIR/ca.pem" is empty`,
		}},
		{name: "garbage CA", files: files("not a certificate\n", cert, key), want: []string{
			`engines.e.ca_file: "DIR/ca.pem" holds no PEM data (want -----BEGIN CERTIFICATE-----)`,
		}},
		{name: "key where the CA should be", files: files(key, cert, key), want: []string{
			`engines.e.ca_file: "DIR/ca.pem" holds a private key, not a certificate`,
		}},
		{name: "key where the certificate should be", files: files(ca, key, key), want: []string{
			`engines.e.cert_file: "DIR/c.pem" holds a private key, not a certificate (are cert_file and key_file swapped?)`,
		}},
		{name: "certificate where the key should be", files: files(ca, cert, cert), want: []string{
			`engines.e.key_file: "DIR/k.pem" holds a certificate, not a private key (are cert_file and key_file swapped?)`,
		}},
		{name: "swapped", files: files(ca, key, cert), want: []string{
			`engines.e.cert_file: "DIR/c.pem" holds a private key, not a certificate (are cert_file and key_file swapped?)`,
			`engines.e.key_file: "DIR/k.pem" holds a certificate, not a private key (are cert_file and key_file swapped?)`,
		}},
		{name: "no certificate", files: files(ca, pemOf("PUBLIC KEY", nil), key), want: []string{
			`engines.e.cert_file: "DIR/c.pem" holds no certificate (want -----BEGIN CERTIFICATE-----)`,
		}},
		{name: "certificate does not parse", files: files(ca, cert+pemOf("CERTIFICATE", nil), key), want: []string{
			`engines.e.cert_file: "DIR/c.pem": certificate 2 does not parse (x509: malformed certificate)`,
		}},
		{name: "empty key", files: files(ca, cert, ""), want: []string{
			`engines.e.key_file: "DIR/k.pem" is empty`,
		}},
		{name: "garbage key", files: files(ca, cert, "\x00\x01binary"), want: []string{
			`engines.e.key_file: "DIR/k.pem" holds no PEM data (want -----BEGIN PRIVATE KEY-----)`,
		}},
		{name: "key does not parse", files: files(ca, cert, pemOf("RSA PRIVATE KEY", nil)), want: []string{
			`engines.e.key_file: "DIR/k.pem" holds a private key that does not parse (want PKCS #1, PKCS #8 or SEC 1 EC)`,
		}},
		{name: "encrypted key", files: files(ca, cert, pemOf("RSA PRIVATE KEY", map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"})), want: []string{
			`engines.e.key_file: "DIR/k.pem" is encrypted; the Docker client needs an unencrypted key`,
		}},
		{name: "key of another certificate", files: files(ca, cert, otherKey), want: []string{
			`engines.e.key_file: "DIR/k.pem" does not match the certificate in cert_file`,
		}},
	})
}

// TestParse_SSHKeys: with CheckFiles, an SSH key, by any form, must be an
// unencrypted private key the SSH client can use; without, it is not read.
func TestParse_SSHKeys(t *testing.T) {
	const src = "db: a.db\nengines: {e: {host: \"ssh://u@e.org\", known_hosts: kh, ssh_key_file: key}}\n" +
		"hosts: {h: {address: h.org, user: u, known_hosts: kh, ssh_key_env: KEY}}\n"
	good, pub := newSSHKey(t, "")
	locked, _ := newSSHKey(t, "passphrase")
	kh := "e.org,h.org " + pub + "\n"
	runFileCases(t, src, []fileCase{
		{name: "valid", files: map[string]string{"kh": kh, "key": good}, env: map[string]string{"KEY": good}},
		{name: "garbage", files: map[string]string{"kh": kh, "key": "not a key\n"}, env: map[string]string{"KEY": good}, want: []string{
			`engines.e.ssh_key_file: "DIR/key" is not a PEM private key (want -----BEGIN OPENSSH PRIVATE KEY-----)`,
		}},
		{name: "public key", files: map[string]string{"kh": kh, "key": pub + "\n"}, env: map[string]string{"KEY": good}, want: []string{
			`engines.e.ssh_key_file: "DIR/key" holds a public key; want the private key`,
		}},
		{name: "passphrase-protected", files: map[string]string{"kh": kh, "key": locked}, env: map[string]string{"KEY": locked}, want: []string{
			`engines.e.ssh_key_file: "DIR/key" is passphrase-protected; countersign needs an unencrypted key (or an agent)`,
			`hosts.h.ssh_key_env: environment variable KEY is passphrase-protected; countersign needs an unencrypted key (or an agent)`,
		}},
		{name: "does not parse", files: map[string]string{"kh": kh, "key": good}, env: map[string]string{"KEY": pemOf("OPENSSH PRIVATE KEY", nil)}, want: []string{
			`hosts.h.ssh_key_env: environment variable KEY does not parse as an SSH private key`,
		}},
		{name: "a certificate", files: map[string]string{"kh": kh, "key": good}, env: map[string]string{"KEY": pemOf("CERTIFICATE", nil)}, want: []string{
			`hosts.h.ssh_key_env: environment variable KEY holds a certificate, not a private key`,
		}},
	})
	t.Run("not checked without CheckFiles", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"key": "not a key\n"})
		if _, err := (Options{Dir: dir, LookupEnv: env(map[string]string{"KEY": locked})}).Parse([]byte(src)); err != nil {
			t.Fatalf("got %v, want no problems", err)
		}
	})
	t.Run("inline", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"kh": kh})
		src := "db: a.db\nhosts: {h: {address: h.org, user: u, known_hosts: kh, ssh_key: \"x\"}}\n"
		_, err := Options{Dir: dir, CheckFiles: true}.Parse([]byte(src))
		checkProblems(t, err, []string{`hosts.h.ssh_key: the value is not a PEM private key (want -----BEGIN OPENSSH PRIVATE KEY-----)`})
	})
}

// TestParse_KnownHosts: with CheckFiles, every line of a known_hosts file
// must parse (the SSH client refuses the whole file otherwise), and it
// must hold a key.
func TestParse_KnownHosts(t *testing.T) {
	const src = "db: a.db\nhosts: {h: {address: h.org, user: u, known_hosts: kh}}\n"
	_, pub := newSSHKey(t, "")
	kh := func(s string) map[string]string { return map[string]string{"kh": s} }
	runFileCases(t, src, []fileCase{
		{name: "valid", files: kh("# hosts\n\nh.org " + pub + " comment\r\n@revoked * " + pub + "\n@cert-authority *.org " + pub + "\n|1|c2FsdA==|aGFzaA== " + pub)},
		{name: "garbage line", files: kh("# hosts\nh.org " + pub + "\n\nthis is garbage\n"), want: []string{
			`hosts.h.known_hosts: "DIR/kh" line 4 is not a known_hosts entry: illegal base64 data at input byte 4`,
		}},
		{name: "one word", files: kh("garbage\nh.org " + pub + "\n"), want: []string{
			`hosts.h.known_hosts: "DIR/kh" line 1 is not a known_hosts entry (want HOST[,HOST…] KEYTYPE KEY)`,
		}},
		{name: "several bad lines", files: kh("h.org " + pub + "\nx\ny\nz\n"), want: []string{
			`hosts.h.known_hosts: "DIR/kh" line 2 is not a known_hosts entry (want HOST[,HOST…] KEYTYPE KEY) (and 2 more bad lines)`,
		}},
		{name: "key type mismatch", files: kh("h.org ssh-rsa " + strings.Fields(pub)[1] + "\n"), want: []string{
			`hosts.h.known_hosts: "DIR/kh" line 1 is not a known_hosts entry: ssh: known hosts key type mismatch: human-readable type "ssh-rsa", encoded type "ssh-ed25519"`,
		}},
		{name: "unknown marker", files: kh("@trusted h.org " + pub + "\n"), want: []string{
			`hosts.h.known_hosts: "DIR/kh" line 1 is not a known_hosts entry: unknown marker "@trusted" (want @cert-authority or @revoked)`,
		}},
		{name: "bad hashed host", files: kh("|1|nope " + pub + "\n"), want: []string{
			`hosts.h.known_hosts: "DIR/kh" line 1 is not a known_hosts entry: a hashed host is |1|SALT|HASH in base64`,
		}},
		{name: "empty", files: kh(""), want: []string{
			`hosts.h.known_hosts: "DIR/kh" holds no host keys: every connection would be refused`,
		}},
		{name: "only comments", files: kh("# nothing yet\n"), want: []string{
			`hosts.h.known_hosts: "DIR/kh" holds no host keys: every connection would be refused`,
		}},
	})
}

// TestParse_SecretFileModes: a secret file others can read loads, with a
// warning at its key; one only its owner can read gives none.
func TestParse_SecretFileModes(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		want []string
	}{
		{0o600, nil},
		{0o400, nil},
		{0o640, []string{`slack.bot_token_file: "DIR/tok" has mode 0640: group or others may read it (chmod 600 it; for a Docker secret, set mode: 0400)`}},
		{0o644, []string{`slack.bot_token_file: "DIR/tok" has mode 0644: group or others may read it (chmod 600 it; for a Docker secret, set mode: 0400)`}},
		{0o602, []string{`slack.bot_token_file: "DIR/tok" has mode 0602: group or others may read it (chmod 600 it; for a Docker secret, set mode: 0400)`}},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"tok": "xoxb-1\n"})
			if err := os.Chmod(filepath.Join(dir, "tok"), tc.mode); err != nil {
				t.Fatal(err)
			}
			c, err := Parse([]byte("db: a.db\n\nslack: {bot_token_file: tok}\n"), dir, env(nil))
			if err != nil {
				t.Fatal(err)
			}
			got := lines(c.Warnings)
			for i := range tc.want {
				tc.want[i] = replaceDir(tc.want[i], dir)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got warnings %q, want %q", got, tc.want)
			}
			for _, w := range c.Warnings {
				if w.Line != 3 {
					t.Errorf("warning at line %d, want 3", w.Line)
				}
			}
		})
	}
	t.Run("TLS key", func(t *testing.T) {
		dir := t.TempDir()
		cert, key := newCert(t)
		writeFiles(t, dir, map[string]string{"c.pem": cert, "k.pem": key})
		if err := os.Chmod(filepath.Join(dir, "k.pem"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, "c.pem"), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Options{Dir: dir, CheckFiles: true}.Parse([]byte("db: a.db\nengines: {e: {host: \"tcp://d.org:2376\", cert_file: c.pem, key_file: k.pem}}\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := replaceDir(`engines.e.key_file: "DIR/k.pem" has mode 0644: group or others may read it (chmod 600 it; for a Docker secret, set mode: 0400)`, dir)
		if got := lines(c.Warnings); len(got) != 1 || got[0] != want {
			t.Errorf("got warnings %q, want [%q]", got, want)
		}
	})
}
