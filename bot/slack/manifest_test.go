package slack_test

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/countersign/countersign/bot/slack"
)

func TestManifest(t *testing.T) {
	type manifest struct {
		Features struct {
			SlashCommands []struct {
				Command string `yaml:"command"`
				URL     string `yaml:"url"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Interactivity struct {
				Enabled    bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	for _, tc := range []struct {
		name string
		opt  slack.ManifestOptions
		url  string
	}{
		{"socket", slack.ManifestOptions{SocketMode: true, Command: "/deploybot"}, ""},
		{"http", slack.ManifestOptions{PublicURL: "https://deploy.example.org/", Command: "/cs"}, "https://deploy.example.org/slack/interactions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, err := slack.Manifest(tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			var m manifest
			if err := yaml.Unmarshal([]byte(text), &m); err != nil {
				t.Fatalf("not YAML: %v\n%s", err, text)
			}
			if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != tc.opt.Command {
				t.Errorf("slash commands = %+v", m.Features.SlashCommands)
			}
			if m.Settings.SocketMode != tc.opt.SocketMode || !m.Settings.Interactivity.Enabled || m.Settings.Interactivity.RequestURL != tc.url {
				t.Errorf("settings = %+v", m.Settings)
			}
			for _, s := range slack.BotScopes {
				if !strings.Contains(strings.Join(m.OAuth.Scopes.Bot, " "), s) {
					t.Errorf("scope %s missing", s)
				}
			}
		})
	}
	if _, err := slack.Manifest(slack.ManifestOptions{PublicURL: "http://insecure.example"}); err == nil {
		t.Error("HTTP mode without an https public_url passed")
	}
}

// The manifests shipped in the repository are what the code generates.
func TestManifest_ShippedFilesAreCurrent(t *testing.T) {
	for file, opt := range map[string]slack.ManifestOptions{
		"../../slack-app-manifest.yaml":      {SocketMode: true},
		"../../slack-app-manifest.http.yaml": {PublicURL: "https://deploy.example.org"},
	} {
		want, err := slack.Manifest(opt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s is not what `countersign slack manifest` prints; regenerate it", file)
		}
	}
}
