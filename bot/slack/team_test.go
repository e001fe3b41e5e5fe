package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// TestAdapter_RefusesOtherWorkspace sends signed commands and clicks
// from a workspace other than the bot's (an app installed in several,
// or Slack Connect) in both modes: none reaches the bot, each is
// audited as chat.refused.
func TestAdapter_RefusesOtherWorkspace(t *testing.T) {
	const other = "T0OTHER"
	for _, mode := range []string{"http", "socket"} {
		t.Run(mode, func(t *testing.T) {
			w := newWorld(t, mode == "socket")
			var tr transport = httpMode{w}
			if mode == "socket" {
				tr = socketMode{w}
			}
			tr.command("U0DEV1", devChannel, "deploy www "+digest('e'))
			w.idle()
			msg, value, ok := w.requestCard("R1")
			if !ok {
				t.Fatal("no message for R1")
			}
			refused := func() int {
				n := 0
				for _, e := range w.events(cs.EventChatRefused) {
					var d struct{ Reason, Team string }
					json.Unmarshal(e.Detail, &d)
					if d.Reason == "other workspace" && d.Team == other {
						n++
					}
				}
				return n
			}

			cmd := slacktest.SlashCommandPayload{Command: "/cs", Text: "audit", UserID: "U0STRANGER", ChannelID: devChannel,
				TeamID: other, TriggerID: trigger(), ResponseURL: w.slack.ResponseURL(trigger())}
			click := slacktest.BlockActionPayload{UserID: "U0OPS1", TeamID: other, ChannelID: deployChannel, MessageTS: msg.TS,
				Blocks: msg.Blocks, TriggerID: trigger(), Actions: []slacktest.Action{{ActionID: "approve", BlockID: "request", Value: value, ActionTS: trigger()}}}
			deny := slacktest.ViewSubmissionPayload{UserID: "U0OPS1", TeamID: other, ViewID: "V0OTHER", CallbackID: "deny_reason",
				PrivateMetadata: value + " " + deployChannel, Values: map[string]map[string]string{"reason": {"reason": "from elsewhere"}}}
			want := 3
			if mode == "http" {
				code, body, _ := w.post("/slack/commands", cmd.Form(), w.signed)
				if code != http.StatusOK || !strings.Contains(body, "does not take commands from this workspace") {
					t.Errorf("command from another workspace: %d %q", code, body)
				}
				if code, body, _ := w.post("/slack/interactions", click.Form(), w.signed); code != http.StatusOK {
					t.Errorf("click from another workspace: %d %q", code, body)
				}
				if code, body, _ := w.post("/slack/interactions", deny.Form(), w.signed); code != http.StatusOK || body != "" {
					t.Errorf("modal submission from another workspace: %d %q", code, body)
				}
			} else {
				ack := socketMode{w}.send(slacktest.SlashCommand(cmd))
				if !strings.Contains(string(ack.Payload), "does not take commands from this workspace") {
					t.Errorf("command from another workspace acked with %s", ack.Payload)
				}
				socketMode{w}.send(slacktest.BlockAction(click))
				socketMode{w}.send(slacktest.ViewSubmission(deny))
				socketMode{w}.send(mention(other, "U0STRANGER", "audit"))
				want++
			}
			w.idle()
			if got := w.lastEphemeral("U0STRANGER"); got != "" {
				t.Errorf("a user of another workspace was answered %q", got)
			}
			if r := w.request("R1"); len(r.Approvals) != 0 || r.State != cs.StatePending {
				t.Errorf("a click from another workspace changed R1: %s %v", r.State, r.Approvals)
			}
			if got := refused(); got != want {
				t.Errorf("chat.refused records for team %s = %d, want %d", other, got, want)
			}
		})
	}
}

// TestSocketMode_Mention: a mention from the bot's workspace is a
// command; the same from another workspace is refused (the test above).
func TestSocketMode_Mention(t *testing.T) {
	w := newWorld(t, true)
	socketMode{w}.send(mention("T0TEAM", "U0DEV1", "status"))
	w.idle()
	if got := w.lastEphemeral("U0DEV1"); !strings.Contains(got, "www") {
		t.Errorf("a mention of status from the bot's workspace was answered %q", got)
	}
}

// mention is an events_api envelope: user mentions the bot in team.
func mention(team, user, text string) slacktest.Envelope {
	payload, _ := json.Marshal(map[string]any{
		"token": "x", "team_id": team, "api_app_id": "A0APP", "type": "event_callback",
		"event_id": "Ev" + trigger(), "event_time": 1700000000,
		"event": map[string]any{"type": "app_mention", "user": user, "text": "<@U0BOT> " + text,
			"channel": devChannel, "ts": trigger(), "event_ts": trigger()},
	})
	return slacktest.Envelope{EnvelopeID: "env-" + trigger(), Type: "events_api", Payload: payload}
}

// TestHTTPMode_RefusalAuditedWhenClientHangsUp refuses a forged request
// whose client has already gone: the refusal is audited all the same.
func TestHTTPMode_RefusalAuditedWhenClientHangsUp(t *testing.T) {
	w := newWorld(t, false)
	body := []byte(slacktest.SlashCommandPayload{Command: "/cs", Text: "status", UserID: "U0DEV1", ChannelID: devChannel}.Form().Encode())
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client hung up
	req := httptest.NewRequestWithContext(ctx, "POST", "/slack/commands", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range slacktest.Sign("not-the-secret", w.now, body) {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	w.adapter.Commands().ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("forged request: %d, want 401", rec.Code)
	}
	if n := len(w.events(cs.EventChatRefused)); n != 1 {
		t.Errorf("chat.refused records = %d, want 1", n)
	}
}
