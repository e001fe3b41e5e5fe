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
		{name: "file, one newline trimmed", slack: "{bot_token_file: tok}", files: map[string]string{"tok": "xoxb-2\n\n"}, want: "xoxb-2\n"},
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
			probs: []string{`slack.bot_token_file: cannot read "DIR/s": is a directory`}},
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
	environ := map[string]string{"APP": secretMark + "app", "TSIG": secretMark + "tsig00", "REG": secretMark + "reg"}
	src := `db: a.db
audit: {token_file: audit}
slack: {bot_token: ` + secretMark + `bot, app_token_env: APP, signing_secret: ` + secretMark + `signing}
github: {webhook_secret_file: webhook, token: ` + secretMark + `token}
registries: [{host: r.org, username: u, password_env: REG}]
engines: {e: {host: "ssh://u@e.org", known_hosts: kh, ssh_key_file: sshkey}}
hosts: {h: {address: h.org, user: u, known_hosts: kh, ssh_key: ` + secretMark + `hostkey}}
dns: [{zone: m.org, server: ns.org, tsig_key: k, tsig_secret_env: TSIG}]
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
	} {
		if !strings.HasPrefix(s.got, secretMark) {
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
	_, err = Parse([]byte(bad), dir, env(environ))
	ps := problemsOf(t, err)
	if len(ps) < 6 {
		t.Errorf("got %d problems, want at least 6:\n%s", len(ps), err)
	}
	if strings.Contains(err.Error(), secretMark+"notauser") != true {
		t.Errorf("a non-secret value should be quoted, so the test can see values in messages:\n%s", err)
	}
	msg := strings.ReplaceAll(err.Error(), secretMark+"notauser", "")
	if strings.Contains(msg, secretMark) {
		t.Errorf("a problem shows a secret:\n%s", err)
	}
}
