package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/countersign/countersign/cmd/countersign/config/configtest"
)

// TestLoad_ExampleNoSecrets: with NoSecrets the example loads before any
// of its secret files exists (only the known_hosts file CheckFiles reads
// is there), every secret it gives by file counts as given, and what
// serve needs is found.
func TestLoad_ExampleNoSecrets(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"etc/countersign/known_hosts": "dopey.caelum.ci.dev " + exampleHostKey + "\n"})
	c, err := Options{Root: root, CheckFiles: true, NoSecrets: true}.Load(examplePath)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !c.SecretsUnread {
		t.Error("SecretsUnread is false")
	}
	if !c.Slack.SocketMode() {
		t.Error("app_token_file is given, yet not Socket Mode")
	}
	for name, s := range map[string]bool{
		"slack.bot_token": c.Slack.BotToken.IsZero(), "slack.app_token": c.Slack.AppToken.IsZero(),
		"audit.token": c.Audit.Token.IsZero(), "web.read_tokens[0].token": c.Web.ReadTokens[0].Token.IsZero(),
		"engines.chives.ssh_key": c.Engines["chives"].SSHKey.IsZero(), "dns[0].tsig_secret": c.DNS[0].TSIGSecret.IsZero(),
	} {
		if s {
			t.Errorf("%s is zero: a secret given by file must count as given", name)
		}
	}
	if err := c.CheckServe(); err != nil {
		t.Errorf("CheckServe: %v", err)
	}
}

// TestParse_NoSecrets: what NoSecrets still checks (the forms, an
// environment variable's name, inline values) and what it leaves alone
// (files, even a FIFO, the environment, and the values it did not read).
func TestParse_NoSecrets(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string // problems; nil: loads
	}{
		{"missing files", `
slack: {bot_token_file: /no/bot, signing_secret_file: /no/signing}
audit: {token_file: /no/audit}
web: {read_tokens: [{name: a, token_file: /no/a}, {name: b, token_file: /no/b}], session_key_file: /no/key}
dns: [{zone: example.org, server: "ns:53", tsig_key: k, tsig_secret_file: /no/tsig}]
engines: {e: {host: "ssh://u@h", ssh_key_file: /no/key, known_hosts: kh}}
`, nil},
		{"unset environment", "slack: {bot_token_env: NOT_SET}\n", nil},
		{"a FIFO is not opened", "slack: {bot_token_file: fifo}\n", nil},
		{"inline values are checked", "slack: {bot_token: xoxp-1}\n",
			[]string{`slack.bot_token: the value starts with "xoxp-": that is a user token; want the Bot User OAuth Token (xoxb-…)`}},
		{"two forms", "slack: {bot_token: xoxb-1, bot_token_file: tok}\n",
			[]string{`slack.bot_token_file: bot_token is also given: give only one of bot_token, bot_token_file or bot_token_env`}},
		{"bad environment name", "slack: {bot_token_env: \"$X\"}\n",
			[]string{`slack.bot_token_env: "$X" is not an environment variable name`}},
		{"empty file name", "slack: {bot_token_file: \"\"}\n", []string{`slack.bot_token_file: empty`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"kh": "h " + exampleHostKey + "\n"})
			configtest.Mkfifo(t, filepath.Join(dir, "fifo"))
			configtest.Finish(t, func() {
				c, err := Options{Dir: dir, CheckFiles: true, NoSecrets: true, LookupEnv: env(nil)}.Parse([]byte("db: a.db\n" + tc.yaml))
				if tc.want != nil {
					checkProblems(t, err, tc.want)
					return
				}
				if err != nil {
					t.Fatalf("got %v, want it to load", err)
				}
				if !c.SecretsUnread || c.Slack.BotToken.IsZero() {
					t.Errorf("got SecretsUnread %v, bot token zero %v; want true, false", c.SecretsUnread, c.Slack.BotToken.IsZero())
				}
			})
		})
	}
}

// TestParse_NoSecretsLeavesTLSKey: a tcp:// engine's key_file is a
// secret and is not read; its ca_file and cert_file still are.
func TestParse_NoSecretsLeavesTLSKey(t *testing.T) {
	dir := t.TempDir()
	cert, _ := newCert(t)
	writeFiles(t, dir, map[string]string{"c.pem": cert})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Options{Dir: dir, CheckFiles: true, NoSecrets: true}.Parse([]byte(
		"db: a.db\nengines: {e: {host: \"tcp://d.org:2376\", ca_file: ca.pem, cert_file: c.pem, key_file: missing.pem}}\n"))
	checkProblems(t, err, []string{replaceDir(`engines.e.ca_file: "DIR/ca.pem" holds no PEM data (want -----BEGIN CERTIFICATE-----)`, dir)})
}
