package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/cmd/countersign/config/configtest"
)

// TestSetupOrder_BareConfig walks the README's walk-through with the
// repository's deploy/countersign.yaml before any of its secrets exists:
// the Slack app's manifest comes first (the app is what gives out the
// Slack tokens), then `config check --no-secrets`; the full check lists
// the missing secret files until they are made, and then passes.
func TestSetupOrder_BareConfig(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("../../deploy/countersign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The secrets are Docker secrets, made later on the swarm: here they
	// are files beside the config, not made yet.
	secrets := filepath.Join(dir, "secrets")
	text := strings.ReplaceAll(string(b), "/run/secrets/", secrets+"/")
	cfg := filepath.Join(dir, "countersign.yaml")
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	// Step 2: the Slack app. deploy/countersign.yaml is HTTP mode under
	// https://deploy.example.org: the repository's HTTP manifest.
	checkManifest(t, cfg, "slack-app-manifest.http.yaml")

	// Step 3: the config, checked before its secrets exist.
	for _, args := range [][]string{{"--no-secrets"}, {"--no-secrets", "--serve"}} {
		code, out, errOut := run(t, "", nil, append([]string{"config", "check", "--config", cfg}, args...)...)
		if code != exitOK || !strings.Contains(out, "OK (1 services") || !strings.Contains(out, "secrets not read") {
			t.Errorf("config check %v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	code, out, _ := run(t, "", nil, "config", "check", "--config", cfg)
	if code != exitFail || strings.Count(out, "cannot read") != 6 {
		t.Errorf("config check without its secrets: exit %d, want 1 and each of its 6 secret files missing:\n%s", code, out)
	}

	// deploy/README.md's step 3 makes them; then everything is checked.
	for name, v := range map[string]string{
		"slack-bot-token": "xoxb-1", "slack-signing-secret": "signing", "github-token": "ghp_1",
		"countersign-session-key": strings.Repeat("k", 44), "github-webhook-secret": "webhook",
		"countersign-audit-token": "audit-token-of-32-characters-000",
	} {
		writeFile(t, filepath.Join(secrets, name), v)
	}
	code, out, errOut := run(t, "", nil, "config", "check", "--config", cfg, "--serve")
	if code != exitOK || strings.Contains(out, "secrets not read") {
		t.Errorf("config check --serve with the secrets: exit %d\n%s%s", code, out, errOut)
	}
}

// TestSlackManifest_ReadsNoSecret: the manifest of a Socket Mode config
// whose secret files and variables are not there (or are FIFOs, which
// would block a read) is the repository's Socket Mode manifest.
func TestSlackManifest_ReadsNoSecret(t *testing.T) {
	dir := t.TempDir()
	configtest.Mkfifo(t, filepath.Join(dir, "bot-token"))
	cfg := filepath.Join(dir, "countersign.yaml")
	writeFile(t, cfg, `db: x.db
slack: {bot_token_file: bot-token, app_token_env: NOT_SET, command: /cs}
audit: {token_file: /nonexistent/audit-token}
`)
	configtest.Finish(t, func() { checkManifest(t, cfg, "slack-app-manifest.yaml") })
}

// checkManifest runs `slack manifest --config cfg` and compares its
// output with the repository's manifest file.
func checkManifest(t *testing.T, cfg, file string) {
	t.Helper()
	code, out, errOut := run(t, "", nil, "slack", "manifest", "--config", cfg)
	if code != exitOK {
		t.Errorf("slack manifest: exit %d: %s", code, errOut)
		return
	}
	want, err := os.ReadFile(filepath.Join("../..", file))
	if err != nil {
		t.Error(err)
		return
	}
	if out != string(want) {
		t.Errorf("slack manifest: got\n%s\nwant %s:\n%s", out, file, want)
	}
}
