package slack

import (
	"context"
	"strings"
)

// foreignText answers a slash command from another workspace.
const foreignText = "Countersign does not take commands from this workspace."

// foreign reports whether a verified payload comes from a workspace other
// than the bot's (Config.TeamID) and, if so, audits it as chat.refused.
// The signature only proves that Slack sent it: an app installed in
// several workspaces, or a Slack Connect user in a shared channel, must
// not get even the read-only verbs. userTeam is the user's own workspace
// where the payload says it ("" when it does not).
func (a *Adapter) foreign(ctx context.Context, kind, user, team, userTeam string) bool {
	if a.cfg.TeamID != "" && team == a.cfg.TeamID && (userTeam == "" || userTeam == a.cfg.TeamID) {
		return false
	}
	d := map[string]any{"kind": kind, "user": clipID(user), "team": clipID(team)}
	if userTeam != "" {
		d["user_team"] = clipID(userTeam)
	}
	a.refuse(ctx, "other workspace", d)
	return true
}

// clipID bounds an ID from a payload before it reaches the audit trail:
// Slack's IDs are a dozen characters.
func clipID(s string) string {
	const max = 32
	if len(s) > max {
		s = s[:max]
	}
	return strings.ToValidUTF8(s, "")
}
