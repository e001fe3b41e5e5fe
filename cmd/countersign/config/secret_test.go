package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestParse_SecretForms: each form of a secret key, and what goes wrong
// with each.
func TestParse_SecretForms(t *testing.T) {
	for _, tc := range []struct {
		name  string
		slack string // the slack: mapping
		files map[string]string
		env   map[string]string
		want  string   // the bot token loaded
		probs []string // or the problems
	}{
		{name: "inline", slack: "{bot_token: xoxb-1}", want: "xoxb-1"},
		{name: "file, one newline trimmed", slack: "{bot_token_file: tok}", files: map[string]string{"tok": "xoxb-2\n"}, want: "xoxb-2"},
		{name: "file, blank line at the end", slack: "{bot_token_file: tok}", files: map[string]string{"tok": "xoxb-2\n\n"},
			probs: []string{`slack.bot_token_file: "DIR/tok" contains whitespace (a blank line at the end of the file?)`}},
		{name: "file, CRLF trimmed", slack: "{bot_token_file: tok}", files: map[string]string{"tok": "xoxb-3\r\n"}, want: "xoxb-3"},
		{name: "file in a subdirectory", slack: "{bot_token_file: s/tok}", files: map[string]string{"s/tok": "xoxb-4"}, want: "xoxb-4"},
		{name: "env", slack: "{bot_token_env: BOT}", env: map[string]string{"BOT": "xoxb-5"}, want: "xoxb-5"},
		{name: "none", slack: "{}", want: ""},
		{name: "null", slack: "{bot_token: ~}", want: ""},
		{name: "two forms", slack: "{bot_token: a, bot_token_env: BOT}", env: map[string]string{"BOT": "b"},
			probs: []string{`slack.bot_token_env: bot_token is also given: give only one of bot_token, bot_token_file or bot_token_env`}},
		{name: "missing file", slack: "{bot_token_file: nope}",
			probs: []string{`slack.bot_token_file: cannot read "DIR/nope": no such file or directory`}},
		{name: "file is a directory", slack: "{bot_token_file: s}", files: map[string]string{"s/x": ""},
			probs: []string{`slack.bot_token_file: "DIR/s" is a directory, not a regular file`}},
		{name: "empty file", slack: "{bot_token_file: tok}", files: map[string]string{"tok": "\n"},
			probs: []string{`slack.bot_token_file: "DIR/tok" is empty`}},
		{name: "unset env", slack: "{bot_token_env: BOT}",
			probs: []string{`slack.bot_token_env: environment variable BOT is not set`}},
		{name: "empty env", slack: "{bot_token_env: BOT}", env: map[string]string{"BOT": ""},
			probs: []string{`slack.bot_token_env: environment variable BOT is empty`}},
		{name: "bad env name", slack: "{bot_token_env: \"$BOT\"}",
			probs: []string{`slack.bot_token_env: "$BOT" is not an environment variable name`}},
		{name: "empty inline", slack: "{bot_token: \"\"}", probs: []string{`slack.bot_token: empty`}},
		{name: "wrong type", slack: "{bot_token: [a]}", probs: []string{`slack.bot_token: want a string, got a list`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			c, err := Parse([]byte("db: a.db\nslack: "+tc.slack+"\n"), dir, env(tc.env))
			if tc.probs != nil {
				for i := range tc.probs {
					tc.probs[i] = replaceDir(tc.probs[i], dir)
				}
				checkProblems(t, err, tc.probs)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Slack.BotToken.Reveal(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// secretMark is in every secret value of TestParse_SecretsNeverShow.
const secretMark = "SEKRIT"

// TestParse_SecretsNeverShow puts a distinctive value in every secret
// slot, by every form, and checks that it never appears in the Config's
// printed or JSON forms, nor in any problem message.
func TestParse_SecretsNeverShow(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"audit":   secretMark + "audit\n",
		"sshkey":  secretMark + "-ssh-key\n",
		"webhook": secretMark + "webhook",
	})
	environ := map[string]string{"APP": "xapp-" + secretMark + "app", "TSIG": secretMark + "tsig00", "REG": secretMark + "reg"}
	src := `db: a.db
audit: {token_file: audit}
slack: {bot_token: xoxb-` + secretMark + `bot, app_token_env: APP, signing_secret: ` + secretMark + `signing}
github: {webhook_secret_file: webhook, token: ` + secretMark + `token}
registries: [{host: r.org, username: u, password_env: REG}]
engines: {e: {host: "ssh://u@e.org", known_hosts: kh, ssh_key_file: sshkey}}
hosts: {h: {address: h.org, user: u, known_hosts: kh, ssh_key: ` + secretMark + `hostkey}}
dns: [{zone: m.org, server: ns.org, tsig_key: k, tsig_secret_env: TSIG}]
web: {read_tokens: [{name: r, token: ` + secretMark + `read-token}], session_key: ` + secretMark + `-session-key-of-32-bytes-or-more}
`
	c, err := Parse([]byte(src), dir, env(environ))
	if err != nil {
		t.Fatal(err)
	}
	// Every slot is really filled, so the checks below see real secrets.
	for _, s := range []struct{ name, got string }{
		{"audit.token", c.Audit.Token.Reveal()},
		{"slack.bot_token", c.Slack.BotToken.Reveal()},
		{"slack.app_token", c.Slack.AppToken.Reveal()},
		{"slack.signing_secret", c.Slack.SigningSecret.Reveal()},
		{"github.webhook_secret", c.GitHub.WebhookSecret.Reveal()},
		{"github.token", c.GitHub.Token.Reveal()},
		{"registries[0].password", c.Registries[0].Password.Reveal()},
		{"engines.e.ssh_key", c.Engines["e"].SSHKey.Reveal()},
		{"hosts.h.ssh_key", c.Hosts["h"].SSHKey.Reveal()},
		{"dns[0].tsig_secret", c.DNS[0].TSIGSecret.Reveal()},
		{"web.read_tokens[0].token", c.Web.ReadTokens[0].Token.Reveal()},
		{"web.session_key", c.Web.SessionKey.Reveal()},
	} {
		if !strings.Contains(s.got, secretMark) {
			t.Errorf("%s: got %q, want the secret", s.name, s.got)
		}
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []struct{ form, text string }{
		{"%v", fmt.Sprintf("%v", c)},
		{"%+v", fmt.Sprintf("%+v", c)},
		{"%#v", fmt.Sprintf("%#v", c)},
		{"%+v of *c", fmt.Sprintf("%+v", *c)},
		{"json", string(js)},
	} {
		if strings.Contains(out.text, secretMark) {
			t.Errorf("%s shows a secret: %s", out.form, out.text)
		}
		if !strings.Contains(out.text, "[redacted]") {
			t.Errorf("%s shows no [redacted]: the test does not see the secrets", out.form)
		}
	}

	// The same secrets where loading fails, in every way it can involve them.
	bad := src + `identities: {github: {a: ` + secretMark + `notauser}}
services:
  - name: x
    kind: swarm
    bot_tokn: ` + secretMark + `typo
`
	bad = strings.Replace(bad, "token: "+secretMark+"token}", "token: "+secretMark+"token, token_env: APP}", 1)
	bad = strings.Replace(bad, "signing_secret: "+secretMark+"signing", "signing_secret: ["+secretMark+"list]", 1)
	bad = strings.Replace(bad, "tsig_secret_env: TSIG", "tsig_secret: "+secretMark+"!!", 1)
	bad = strings.Replace(bad, "audit: {token_file: audit}", "audit: {token: "+secretMark+"1, token: "+secretMark+"2}", 1)
	bad = strings.Replace(bad, "bot_token: xoxb-"+secretMark+"bot", "bot_token: xoxp-"+secretMark+"bot", 1)
	bad = strings.Replace(bad, "password_env: REG", "password: \""+secretMark+" reg\"", 1)
	bad = strings.Replace(bad, "token: "+secretMark+"read-token}", "token: "+secretMark+"rd}, {name: s, token: "+secretMark+"tsig00}", 1)
	bad = strings.Replace(bad, "session_key: "+secretMark+"-session-key-of-32-bytes", "session_key: "+secretMark+"-short", 1)
	writeFiles(t, dir, map[string]string{"kh": "garbage line here\n"})
	// CheckFiles, so that the SSH keys (which do not parse) are read too.
	_, err = Options{Dir: dir, LookupEnv: env(environ), CheckFiles: true}.Parse([]byte(bad))
	ps := problemsOf(t, err)
	if len(ps) < 10 {
		t.Errorf("got %d problems, want at least 10:\n%s", len(ps), err)
	}
	if strings.Contains(err.Error(), secretMark+"notauser") != true {
		t.Errorf("a non-secret value should be quoted, so the test can see values in messages:\n%s", err)
	}
	msg := strings.ReplaceAll(err.Error(), secretMark+"notauser", "")
	if strings.Contains(msg, secretMark) {
		t.Errorf("a problem shows a secret:\n%s", err)
	}
}

// TestParse_Tokens: a token with whitespace in it can never be sent, and
// a Slack token of the wrong kind never works: both are refused at the
// key it was given by, without showing it.
func TestParse_Tokens(t *testing.T) {
	files := map[string]string{
		"blank":  "tok-1\n\n",
		"crlf":   "tok-1\r\n\r\n",
		"spaces": "tok-1  \n",
		"inner":  "tok 1\n",
		"pem":    "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
	}
	environ := map[string]string{"NL": "tok-1\n", "TAB": "to\tk"}
	for _, tc := range []struct {
		name string
		yaml string
		want []string
	}{
		// Whitespace, in every token slot and by every form.
		{"blank line at the end", "slack: {signing_secret_file: blank}", []string{`slack.signing_secret_file: "DIR/blank" contains whitespace (a blank line at the end of the file?)`}},
		{"CRLF blank line at the end", "audit: {token_file: crlf}", []string{`audit.token_file: "DIR/crlf" contains whitespace (a blank line at the end of the file?)`}},
		{"spaces at the end", "github: {token_file: spaces}", []string{`github.token_file: "DIR/spaces" contains whitespace (a blank line at the end of the file?)`}},
		{"inside, from a file", "github: {webhook_secret_file: inner}", []string{`github.webhook_secret_file: "DIR/inner" contains whitespace (a token is one word)`}},
		{"inline", "registries: [{host: r.org, username: u, password: \"p w\"}]", []string{`registries[0].password: the value contains whitespace (a token is one word)`}},
		{"from the environment", "dns: [{zone: m.org, server: ns.org, tsig_key: k, tsig_secret_env: NL}]", []string{`dns[0].tsig_secret_env: environment variable NL contains whitespace (a token is one word)`}},
		{"tab", "slack: {app_token_env: TAB}", []string{`slack.app_token_env: environment variable TAB contains whitespace (a token is one word)`}},
		{"bot token", "slack: {bot_token: \"xoxb-1 \"}", []string{`slack.bot_token: the value contains whitespace (a token is one word)`}},

		// The kind of Slack token.
		{"user token as bot token", "slack: {bot_token: xoxp-123}", []string{
			`slack.bot_token: the value starts with "xoxp-": that is a user token; want the Bot User OAuth Token (xoxb-…)`,
		}},
		{"app token as bot token", "slack: {bot_token: xapp-1-A}", []string{
			`slack.bot_token: the value starts with "xapp-": that is an App-Level Token (it goes in slack.app_token); want the Bot User OAuth Token (xoxb-…)`,
		}},
		{"rotating bot token", "slack: {bot_token: xoxe.xoxb-1-A}", []string{
			`slack.bot_token: the value starts with "xoxe.": that is a rotating token, which expires; turn off token rotation and use the Bot User OAuth Token (xoxb-…)`,
		}},
		{"other Slack token as bot token", "slack: {bot_token: xoxa-2-A}", []string{
			`slack.bot_token: the value starts with "xoxa-"; want the Bot User OAuth Token (xoxb-…)`,
		}},
		{"not a Slack token", "slack: {bot_token: SEKRIT-bot}", []string{
			`slack.bot_token: the value does not start with "xoxb-"; want the Bot User OAuth Token (xoxb-…)`,
		}},
		{"bot token as app token", "slack: {bot_token: xoxb-1, app_token: xoxb-2}", []string{
			`slack.app_token: the value starts with "xoxb-": that is a bot token (it goes in slack.bot_token); want an App-Level Token (xapp-…)`,
		}},
		{"user token as app token", "slack: {app_token: xoxp-2}", []string{
			`slack.app_token: the value starts with "xoxp-": that is a user token; want an App-Level Token (xapp-…)`,
		}},
		{"not a Slack app token", "slack: {app_token: SEKRIT-app}", []string{
			`slack.app_token: the value does not start with "xapp-"; want an App-Level Token (xapp-…)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, files)
			_, err := Parse([]byte("db: a.db\n"+tc.yaml+"\n"), dir, env(environ))
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = replaceDir(w, dir)
			}
			checkProblems(t, err, want)
			// The temporary directory's random name may hold "123": look
			// at the problems without it.
			shown := strings.ReplaceAll(err.Error(), dir, "DIR")
			for _, v := range []string{"tok-1", "tok 1", "to\tk", "p w", "SEKRIT", "123", "1-A", "2-A", "xoxb-1", "xoxb-2"} {
				if strings.Contains(shown, v) {
					t.Errorf("a problem shows a token (%q): %v", v, err)
				}
			}
		})
	}
	t.Run("not tokens", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, files)
		// A PEM key has lines, and an SSH key may too: neither is a token.
		src := "db: a.db\nslack: {bot_token: xoxb-1-A, app_token: xapp-1-A}\n" +
			"github: {app_id: 1, installation_id: 2, private_key_file: pem}\n" +
			"hosts: {h: {address: h.org, user: u, known_hosts: kh, ssh_key_file: pem}}\n"
		if _, err := Parse([]byte(src), dir, env(nil)); err != nil {
			t.Fatal(err)
		}
	})
}
