package slack

import (
	"fmt"
	"strings"
)

// ManifestOptions shape the Slack app manifest.
type ManifestOptions struct {
	Name    string // app and bot name (default "Countersign")
	Command string // the slash command (default "/cs")
	// SocketMode: no public URL needed. Otherwise Slack calls PublicURL
	// + /slack/commands and /slack/interactions.
	SocketMode bool
	PublicURL  string
}

// Manifest returns the Slack app manifest (YAML) that creates an app with
// everything the bot needs: the bot scopes, the slash command,
// interactivity, and Socket Mode or the HTTP request URLs. Paste it at
// https://api.slack.com/apps → Create New App → From a manifest.
func Manifest(o ManifestOptions) (string, error) {
	if o.Name == "" {
		o.Name = "Countersign"
	}
	if o.Command == "" {
		o.Command = "/cs"
	}
	if !o.SocketMode && !strings.HasPrefix(o.PublicURL, "https://") {
		return "", fmt.Errorf("HTTP mode needs public_url to be an https:// address Slack can reach (got %q); or set slack.app_token for Socket Mode", o.PublicURL)
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# Slack app manifest for Countersign (%s).", map[bool]string{true: "Socket Mode", false: "HTTP mode"}[o.SocketMode])
	w("display_information:")
	w("  name: %s", yamlString(o.Name))
	w("  description: Deploys, rollbacks, scaling and DNS changes, approved in Slack and audited.")
	w("features:")
	w("  bot_user:")
	w("    display_name: %s", yamlString(strings.ToLower(o.Name)))
	w("    always_online: true")
	w("  slash_commands:")
	w("    - command: %s", yamlString(o.Command))
	w("      description: Deploy, roll back, scale, change DNS; ask what runs where")
	w("      usage_hint: \"help | deploy SERVICE [REF] | status [SERVICE] | approve R42\"")
	w("      should_escape: true")
	if !o.SocketMode {
		w("      url: %s", yamlString(strings.TrimSuffix(o.PublicURL, "/")+"/slack/commands"))
	}
	w("oauth_config:")
	w("  scopes:")
	w("    bot:")
	scopes := append(append([]string{}, BotScopes...), privateScope)
	if o.SocketMode {
		scopes = append(scopes, "app_mentions:read") // "@countersign status" in a channel
	}
	for _, s := range scopes {
		w("      - %s", s)
	}
	w("settings:")
	if o.SocketMode {
		w("  event_subscriptions:")
		w("    bot_events:")
		w("      - app_mention")
	}
	w("  interactivity:")
	w("    is_enabled: true")
	if !o.SocketMode {
		w("    request_url: %s", yamlString(strings.TrimSuffix(o.PublicURL, "/")+"/slack/interactions"))
	}
	w("  org_deploy_enabled: false")
	w("  socket_mode_enabled: %v", o.SocketMode)
	w("  token_rotation_enabled: false")
	if o.SocketMode {
		w("# After creating the app: Basic Information → App-Level Tokens → generate one")
		w("# with the %s scope; that is slack.app_token (xapp-…).", strings.Join(AppScopes, ", "))
	}
	return b.String(), nil
}

// yamlString quotes s for YAML.
func yamlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
