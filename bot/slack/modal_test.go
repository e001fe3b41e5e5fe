package slack

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

func TestDenyModal_Golden(t *testing.T) {
	v := DenyModal(bot.ButtonValue("R42", fingerprint), "R42")
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "deny_modal", append(got, '\n'))
}

func TestDenyModal_Limits(t *testing.T) {
	for _, id := range []string{"R1", "R42", "R1234567890123456789"} {
		v := DenyModal(bot.ButtonValue(cs.RequestID(id), fingerprint), cs.RequestID(id))
		for _, o := range []*slackapi.TextBlockObject{v.Title, v.Submit, v.Close} {
			if o == nil || o.Type != slackapi.PlainTextType || o.Text == "" || utf8.RuneCountInString(o.Text) > MaxModalTitle {
				t.Errorf("%s: title, submit or close %+v breaks Slack's limits", id, o)
			}
		}
		if v.Type != slackapi.VTModal || v.CallbackID != DenyCallbackID || len(v.Blocks.BlockSet) != 1 {
			t.Errorf("%s: got type %q, callback_id %q, %d blocks", id, v.Type, v.CallbackID, len(v.Blocks.BlockSet))
		}
		in := v.Blocks.BlockSet[0].(*slackapi.InputBlock)
		el := in.Element.(*slackapi.PlainTextInputBlockElement)
		if in.BlockID != DenyReasonBlockID || el.ActionID != DenyReasonActionID || !el.Multiline || el.MaxLength != MaxDenyReason {
			t.Errorf("%s: input block %q, element %+v", id, in.BlockID, el)
		}
	}
}

func TestDenyRefusedModal_Limits(t *testing.T) {
	for _, id := range []string{"R1", "R1234567890123456789"} {
		v := DenyRefusedModal(cs.RequestID(id))
		for _, o := range []*slackapi.TextBlockObject{v.Title, v.Close} {
			if o == nil || o.Type != slackapi.PlainTextType || o.Text == "" || utf8.RuneCountInString(o.Text) > MaxModalTitle {
				t.Errorf("%s: title or close %+v breaks Slack's limits", id, o)
			}
		}
		if v.Type != slackapi.VTModal || v.Submit != nil || v.CallbackID == DenyCallbackID || len(v.Blocks.BlockSet) != 1 {
			t.Errorf("%s: type %q, submit %v, callback_id %q, %d blocks; want a modal that cannot be submitted", id, v.Type, v.Submit, v.CallbackID, len(v.Blocks.BlockSet))
		}
	}
}

// submission is what Slack posts when the deny modal is submitted.
func submission(t *testing.T, kind, callbackID, meta string, values map[string]map[string]string) slackapi.InteractionCallback {
	t.Helper()
	payload := slacktest.ViewSubmissionPayload{UserID: "U0OPS2", ViewID: "V1", CallbackID: callbackID, PrivateMetadata: meta, Values: values}.JSON()
	if kind != "view_submission" {
		payload = json.RawMessage(strings.Replace(string(payload), `"view_submission"`, `"`+kind+`"`, 1))
	}
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal(payload, &cb); err != nil {
		t.Fatal(err)
	}
	return cb
}

func TestDenyFromSubmission(t *testing.T) {
	meta := bot.ButtonValue("R42", fingerprint) + " C0DEPLOYS"
	reason := func(s string) map[string]map[string]string {
		return map[string]map[string]string{DenyReasonBlockID: {DenyReasonActionID: s}}
	}
	tests := []struct {
		name       string
		kind, cbID string
		values     map[string]map[string]string
		want       string
		err        error
	}{
		{"reason", "view_submission", DenyCallbackID, reason("  not during the demo\n"), "not during the demo", nil},
		{"multiline", "view_submission", DenyCallbackID, reason("freeze\nuntil Monday"), "freeze\nuntil Monday", nil},
		{"empty", "view_submission", DenyCallbackID, reason(""), "", ErrNoReason},
		{"blank", "view_submission", DenyCallbackID, reason(" \n\t "), "", ErrNoReason},
		{"no field", "view_submission", DenyCallbackID, nil, "", ErrNoReason},
		{"too long", "view_submission", DenyCallbackID, reason(strings.Repeat("é", MaxDenyReason+1)), "", ErrReasonTooLong},
		{"longest", "view_submission", DenyCallbackID, reason(strings.Repeat("é", MaxDenyReason)), strings.Repeat("é", MaxDenyReason), nil},
		{"other modal", "view_submission", "lock_reason", reason("x"), "", ErrNotDenyModal},
		{"closed", "view_closed", DenyCallbackID, reason("x"), "", ErrNotDenyModal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			value, got, err := DenyFromSubmission(submission(t, tt.kind, tt.cbID, meta, tt.values))
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("got %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
			if err == nil && value != meta {
				t.Errorf("value %q, want %q", value, meta)
			}
			if err != nil && value != "" {
				t.Errorf("value %q with an error", value)
			}
		})
	}
}

// TestDenyFromSubmission_FieldErrors checks that what the user may see
// under the field reads as a sentence about the reason, not as a chain.
func TestDenyFromSubmission_FieldErrors(t *testing.T) {
	for _, err := range []error{ErrNoReason, ErrReasonTooLong} {
		if msg := err.Error(); strings.Contains(msg, ": ") || len(msg) > 150 || !strings.Contains(msg, "reason") {
			t.Errorf("%q is not fit for a field error", msg)
		}
	}
}
