package slacktest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/countersign/countersign/bot/slack/slacktest"
)

func formRequest(t *testing.T, body string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/slack", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestSlashCommandPayload(t *testing.T) {
	p := slacktest.SlashCommandPayload{
		Command: "/deploy", Text: "web prod", UserID: "U2", UserName: "ann",
		ChannelID: "C1", ChannelName: "ops", ResponseURL: "https://example.com/r",
	}
	want := slack.SlashCommand{
		Command: "/deploy", Text: "web prod", UserID: "U2", UserName: "ann",
		ChannelID: "C1", ChannelName: "ops", ResponseURL: "https://example.com/r",
		TeamID: "T0TEAM", TeamDomain: "slacktest", APIAppID: "A0APP",
		TriggerID: "1700000000.1.slacktest", Token: "slacktest-verification-token",
	}

	fromForm, err := slack.SlashCommandParse(formRequest(t, p.Form().Encode()))
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON slack.SlashCommand
	if err := json.Unmarshal(slacktest.SlashCommand(p).Payload, &fromJSON); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]slack.SlashCommand{"form": fromForm, "json": fromJSON} {
		if got != want {
			t.Errorf("%s: got %+v\nwant %+v", name, got, want)
		}
	}
}

func TestInteractionPayloads_Form(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string
		check func(slack.InteractionCallback) bool
	}{
		{
			name: "block action",
			body: slacktest.BlockActionPayload{
				UserID: "U2", ChannelID: "C1", MessageTS: "1.2",
				Actions: []slacktest.Action{{ActionID: "deny", BlockID: "b", Value: "req-1"}},
			}.Form().Encode(),
			check: func(cb slack.InteractionCallback) bool {
				a := cb.ActionCallback.BlockActions
				return cb.Type == slack.InteractionTypeBlockActions && cb.Container.ChannelID == "C1" &&
					len(a) == 1 && a[0].ActionID == "deny" && a[0].BlockID == "b" && cb.BlockActionState != nil
			},
		},
		{
			name: "ephemeral block action",
			body: slacktest.BlockActionPayload{
				UserID: "U2", ChannelID: "C1", MessageTS: "1.2", Ephemeral: true,
				Actions: []slacktest.Action{{ActionID: "ok", BlockID: "b"}},
			}.Form().Encode(),
			check: func(cb slack.InteractionCallback) bool {
				return cb.Container.IsEphemeral && cb.Message.Timestamp == ""
			},
		},
		{
			name: "view submission",
			body: slacktest.ViewSubmissionPayload{
				UserID: "U2", ViewID: "V1", CallbackID: "cb",
				Values: map[string]map[string]string{"b": {"a": "typed"}},
			}.Form().Encode(),
			check: func(cb slack.InteractionCallback) bool {
				return cb.Type == slack.InteractionTypeViewSubmission && cb.View.CallbackID == "cb" &&
					cb.View.State.Values["b"]["a"].Type == "plain_text_input" && cb.View.State.Values["b"]["a"].Value == "typed"
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb, err := slack.InteractionCallbackParse(formRequest(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cb) {
				t.Errorf("unexpected callback %+v", cb)
			}
		})
	}
}

func TestEnvelopes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     slacktest.Envelope
		typ     string
		accepts bool
	}{
		{"slash command", slacktest.SlashCommand(slacktest.SlashCommandPayload{Command: "/x"}), "slash_commands", true},
		{"block action", slacktest.BlockAction(slacktest.BlockActionPayload{}), "interactive", false},
		{"view submission", slacktest.ViewSubmission(slacktest.ViewSubmissionPayload{}), "interactive", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			var wire map[string]any
			if err := json.Unmarshal(b, &wire); err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{"envelope_id", "type", "payload", "accepts_response_payload", "retry_attempt", "retry_reason"} {
				if _, ok := wire[key]; !ok {
					t.Errorf("envelope lacks %q: %s", key, b)
				}
			}
			if wire["type"] != tc.typ || wire["accepts_response_payload"] != tc.accepts || tc.env.EnvelopeID == "" {
				t.Errorf("envelope = %s, want type %s, accepts_response_payload %v", b, tc.typ, tc.accepts)
			}
		})
	}
	a, b := slacktest.SlashCommand(slacktest.SlashCommandPayload{}), slacktest.SlashCommand(slacktest.SlashCommandPayload{})
	if a.EnvelopeID == b.EnvelopeID {
		t.Error("two envelopes share an ID")
	}
}

func TestSign(t *testing.T) {
	// The worked example from Slack's "Verifying requests from Slack".
	const (
		secret = "8f742231b10e8888abcd99yyyzzz85a5"
		body   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	)
	h := slacktest.Sign(secret, time.Unix(1531420618, 0), []byte(body))
	if got, want := h.Get("X-Slack-Request-Timestamp"), "1531420618"; got != want {
		t.Errorf("timestamp = %q, want %q", got, want)
	}
	if got, want := h.Get("X-Slack-Signature"), "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"; got != want {
		t.Errorf("signature = %q, want %q", got, want)
	}

	for _, tc := range []struct {
		name, secret string
		wantOK       bool
	}{
		{"right secret", "s3cret", true},
		{"wrong secret", "other", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := slacktest.Sign("s3cret", time.Now(), []byte("payload=x"))
			sv, err := slack.NewSecretsVerifier(h, tc.secret)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = sv.Write([]byte("payload=x"))
			if err := sv.Ensure(); (err == nil) != tc.wantOK {
				t.Errorf("Ensure = %v, want ok %v", err, tc.wantOK)
			}
		})
	}
}
