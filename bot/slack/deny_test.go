package slack_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot/slack"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// denyClick clicks Deny on R1's card with a trigger_id the fake Slack
// lets expire on its own clock.
func denyClick(w *world, user string) {
	w.t.Helper()
	r1, v1, ok := w.requestCard("R1")
	if !ok {
		w.t.Fatal("no card for R1")
	}
	p := slacktest.BlockActionPayload{UserID: user, ChannelID: deployChannel, MessageTS: r1.TS, Blocks: r1.Blocks,
		TriggerID: w.slack.Trigger(), Actions: []slacktest.Action{{ActionID: "deny", BlockID: "request", Value: v1, ActionTS: trigger()}}}
	if code, body, _ := w.post("/slack/interactions", p.Form(), w.signed); code != 200 {
		w.t.Fatalf("click: %d %q", code, body)
	}
	w.idle()
}

// slowGroupsWorld has a request R1 pending and a Slack whose user group
// reads each take 5 s of the fake's clock: longer than a trigger_id
// lives. No real time passes.
func slowGroupsWorld(t *testing.T) *world {
	w := newWorldTuned(t, false, 0, func(o *slack.Options) { o.UsergroupTTL = time.Nanosecond })
	httpMode{w}.command("U0DEV1", devChannel, "deploy www "+digest('a'))
	w.idle()
	w.slack.Slow("usergroups.users.list", 100, 5*time.Second)
	return w
}

// TestFlow_DenyModalBeforeSlowCheck: the Deny click's permission check
// reads user groups, which may be slow (or wait out a rate limit); the
// modal opens within the trigger_id's 3 s all the same.
func TestFlow_DenyModalBeforeSlowCheck(t *testing.T) {
	w := slowGroupsWorld(t)
	denyClick(w, "U0OPS1")
	if got := w.lastEphemeral("U0OPS1"); got != "" {
		t.Errorf("clicker told %q", got)
	}
	views := w.slack.Views()
	if len(views) != 1 || !strings.Contains(string(views[0].View), `"callback_id":"deny_reason"`) {
		t.Fatalf("views = %+v, want the deny dialog", views)
	}
	httpMode{w}.submit("U0OPS1", views[0].ID, metaOf(t, views[0]), "not today")
	w.idle()
	if got := w.request("R1"); got.State != cs.StateDenied {
		t.Errorf("R1 is %s, want denied", got.State)
	}
}

// TestFlow_DenyModalRefused: someone who may not deny sees the modal
// open and then turn into a refusal; the click is refused and audited,
// and R1 stays pending.
func TestFlow_DenyModalRefused(t *testing.T) {
	w := slowGroupsWorld(t)
	denyClick(w, "U0STRANGER")
	views := w.slack.Views()
	if len(views) != 1 || !strings.Contains(string(views[0].View), "You cannot deny R1 now") || strings.Contains(string(views[0].View), `"submit"`) {
		t.Fatalf("views = %+v, want the dialog turned into a refusal without a submit button", views)
	}
	if got := w.lastEphemeral("U0STRANGER"); !strings.Contains(got, "you cannot deny R1") {
		t.Errorf("clicker told %q", got)
	}
	if n := len(w.events(cs.EventApprovalRefused)); n != 1 {
		t.Errorf("approval.refused records = %d, want 1", n)
	}
	if got := w.request("R1"); got.State != cs.StatePending {
		t.Errorf("R1 is %s, want pending", got.State)
	}
}

// metaOf is the private_metadata a view was opened with.
func metaOf(t *testing.T, v slacktest.View) string {
	t.Helper()
	var m struct {
		PrivateMetadata string `json:"private_metadata"`
	}
	if err := json.Unmarshal(v.View, &m); err != nil {
		t.Fatal(err)
	}
	return m.PrivateMetadata
}
