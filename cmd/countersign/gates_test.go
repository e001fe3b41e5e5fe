package main

import (
	"context"
	"strings"
	"testing"

	"github.com/countersign/countersign/cmd/countersign/config"
)

const gatesYAML = `gates:
  - name: web-production
    repo: org/web
    environment: production
    channel: C0DEPLOYS
`

// TestConfigCheck_GatesNeedApp: gates with a token (not a GitHub App) are
// refused by config check, saying why.
func TestConfigCheck_GatesNeedApp(t *testing.T) {
	path := serveConfig(t, t.TempDir(), "https://slack.invalid/api/", gatesYAML)
	code, out, errOut := run(t, "", nil, "config", "check", "--config", path)
	if code != exitFail || !strings.Contains(out+errOut, "gates need GitHub App auth") || !strings.Contains(out+errOut, "github.token is not enough") {
		t.Errorf("config check of gates with a token: exit %d\n%s%s", code, out, errOut)
	}
}

// TestConfigCheck_GatesWithApp: gates with a GitHub App pass, and are
// counted.
func TestConfigCheck_GatesWithApp(t *testing.T) {
	code, out, errOut := run(t, "", nil, "config", "check", "--no-secrets", "--config", "config/testdata/gates.example.yaml")
	if code != exitOK || !strings.Contains(out, "1 policies, 1 windows, 1 gates;") {
		t.Errorf("config check of the gates example: exit %d\n%s%s", code, out, errOut)
	}
}

// TestBotConfig_GatesNeedAppClient: start-up checks again, whatever the
// config package let through: gates without an App client stop it.
func TestBotConfig_GatesNeedAppClient(t *testing.T) {
	cfg := &config.Config{Gates: []config.Gate{{Name: "web-production", Repo: "org/web", Environment: "production", Channel: "C0DEPLOYS"}}}
	_, x, err := botConfig(context.Background(), cfg, modeReal, nil)
	if err == nil || !strings.Contains(err.Error(), "gates need GitHub App auth") {
		t.Errorf("botConfig: %v", err)
	}
	if x != nil {
		x.Close()
	}
}
