package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// transport sends what Slack would send, in one of the two modes, and
// checks each is acknowledged.
type transport interface {
	command(user, channel, text string)
	click(user, channel string, msg slacktest.Message, actionID, value string)
	submit(user, viewID, meta, reason string)
}

var triggers atomic.Int64

func trigger() string { return fmt.Sprintf("%d.trigger", triggers.Add(1)) }

type httpMode struct{ w *world }

func (h httpMode) command(user, channel, text string) {
	h.w.t.Helper()
	p := slacktest.SlashCommandPayload{Command: "/cs", Text: text, UserID: user, ChannelID: channel, TriggerID: trigger(),
		ResponseURL: h.w.slack.ResponseURL(trigger())}
	if code, body, _ := h.w.post("/slack/commands", p.Form(), h.w.signed); code != 200 || body != "" {
		h.w.t.Fatalf("slash command: %d %q", code, body)
	}
}

func (h httpMode) click(user, channel string, msg slacktest.Message, actionID, value string) {
	h.w.t.Helper()
	p := slacktest.BlockActionPayload{UserID: user, ChannelID: channel, MessageTS: msg.TS, Blocks: msg.Blocks, TriggerID: trigger(),
		Actions: []slacktest.Action{{ActionID: actionID, BlockID: "request", Value: value, ActionTS: trigger()}}}
	if code, body, _ := h.w.post("/slack/interactions", p.Form(), h.w.signed); code != 200 {
		h.w.t.Fatalf("click: %d %q", code, body)
	}
}

func (h httpMode) submit(user, viewID, meta, reason string) {
	h.w.t.Helper()
	p := slacktest.ViewSubmissionPayload{UserID: user, ViewID: viewID, CallbackID: "deny_reason", PrivateMetadata: meta,
		Values: map[string]map[string]string{"reason": {"reason": reason}}}
	if code, body, _ := h.w.post("/slack/interactions", p.Form(), h.w.signed); code != 200 || body != "" {
		h.w.t.Fatalf("view submission: %d %q", code, body)
	}
}

type socketMode struct{ w *world }

func (s socketMode) send(env slacktest.Envelope) slacktest.Ack {
	s.w.t.Helper()
	ctx, cancel := context.WithTimeout(s.w.ctx, 5*time.Second)
	defer cancel()
	if err := s.w.slack.Send(ctx, env); err != nil {
		s.w.t.Fatal(err)
	}
	ack, err := s.w.slack.WaitAck(ctx, env.EnvelopeID)
	if err != nil {
		s.w.t.Fatalf("no ack for %s: %v", env.Type, err)
	}
	return ack
}

func (s socketMode) command(user, channel, text string) {
	s.send(slacktest.SlashCommand(slacktest.SlashCommandPayload{Command: "/cs", Text: text, UserID: user, ChannelID: channel,
		TriggerID: trigger(), ResponseURL: s.w.slack.ResponseURL(trigger())}))
}

func (s socketMode) click(user, channel string, msg slacktest.Message, actionID, value string) {
	s.send(slacktest.BlockAction(slacktest.BlockActionPayload{UserID: user, ChannelID: channel, MessageTS: msg.TS, Blocks: msg.Blocks,
		TriggerID: trigger(), Actions: []slacktest.Action{{ActionID: actionID, BlockID: "request", Value: value, ActionTS: trigger()}}}))
}

func (s socketMode) submit(user, viewID, meta, reason string) {
	ack := s.send(slacktest.ViewSubmission(slacktest.ViewSubmissionPayload{UserID: user, ViewID: viewID, CallbackID: "deny_reason",
		PrivateMetadata: meta, Values: map[string]map[string]string{"reason": {"reason": reason}}}))
	if len(ack.Payload) > 0 && string(ack.Payload) != "null" {
		s.w.t.Fatalf("view submission acked with %s", ack.Payload)
	}
}

func TestFlow_HTTPMode(t *testing.T) {
	w := newWorld(t, false)
	runFlow(t, w, httpMode{w})
}

func TestFlow_SocketMode(t *testing.T) {
	w := newWorld(t, true)
	runFlow(t, w, socketMode{w})
}

// runFlow is the full flow: a deploy is requested, refused to the
// requester's own click, denied with a reason through the modal; a second
// one is approved by ops and by an owner (from a Slack user group), runs,
// and its message ends as succeeded without buttons.
func runFlow(t *testing.T, w *world, tr transport) {
	tr.command("U0DEV1", devChannel, "deploy www "+digest('a'))
	w.idle()
	r1, v1, ok := w.requestCard("R1")
	if !ok || v1 == "" {
		t.Fatalf("no approval message with buttons for R1: %+v", w.slack.Messages(deployChannel))
	}
	if got := w.lastEphemeral("U0DEV1"); !strings.Contains(got, "R1 posted in <#C0DEPLOYS>") {
		t.Errorf("requester told %q", got)
	}

	tr.click("U0DEV1", deployChannel, r1, "approve", v1)
	w.idle()
	if got := w.lastEphemeral("U0DEV1"); !strings.Contains(got, "you cannot approve R1") {
		t.Errorf("self-approval answered %q", got)
	}
	if n := len(w.events(cs.EventApprovalRefused)); n != 1 {
		t.Errorf("approval.refused records = %d, want 1", n)
	}

	tr.click("U0OPS1", deployChannel, r1, "deny", v1)
	w.eventually("the deny dialog", func() bool { return len(w.slack.Views()) == 1 })
	view := w.slack.Views()[0]
	var v struct {
		PrivateMetadata string `json:"private_metadata"`
	}
	json.Unmarshal(view.View, &v)
	tr.submit("U0OPS1", view.ID, v.PrivateMetadata, "<!channel> not during the release")
	w.idle()
	if got := w.request("R1"); got.State != cs.StateDenied {
		t.Fatalf("R1 is %s, want denied", got.State)
	}
	r1, _ = w.slack.Message(deployChannel, r1.TS)
	if strings.Contains(unjson(r1.Blocks), `"actions"`) || !strings.Contains(unjson(r1.Blocks), "&lt;!channel&gt; not during the release") {
		t.Errorf("denied R1 still has buttons or shows the reason unescaped: %s", r1.Blocks)
	}

	tr.command("U0DEV1", devChannel, "deploy www "+digest('b'))
	w.idle()
	r2, v2, ok := w.requestCard("R2")
	if !ok {
		t.Fatal("no message for R2")
	}
	tr.click("U0OPS1", deployChannel, r2, "approve", v2)
	w.idle()
	if got := w.request("R2"); got.State != cs.StatePending || len(got.Approvals) != 1 {
		t.Fatalf("R2 after one approval: %s %v", got.State, got.Approvals)
	}
	tr.click("U0OWN2", deployChannel, r2, "approve", v2)
	w.idle()
	got := w.request("R2")
	if got.State != cs.StateSucceeded || w.exec.count("R2") != 1 {
		t.Fatalf("R2 is %s after %d runs, want succeeded once (approvals %v)", got.State, w.exec.count("R2"), got.Approvals)
	}
	r2, _ = w.slack.Message(deployChannel, r2.TS)
	if strings.Contains(unjson(r2.Blocks), `"actions"`) || !strings.Contains(r2.Text, "succeeded") {
		t.Errorf("finished R2 message: %s / %s", r2.Text, r2.Blocks)
	}
	var progress, done int
	for _, m := range w.slack.Messages(deployChannel) {
		if m.ThreadTS != r2.TS {
			continue
		}
		if strings.HasPrefix(m.Text, "R2 progress:") {
			progress++
			if !strings.Contains(m.Text, "3/3") || strings.Contains(m.Text, "1/3") {
				t.Errorf("progress reply not edited to the last step: %q", m.Text)
			}
		}
		if strings.Contains(m.Text, "R2 succeeded") && strings.Contains(m.Text, "<@U0DEV1>") {
			done++
		}
	}
	if progress != 1 || done != 1 {
		t.Errorf("thread of R2: %d progress replies, %d outcome replies mentioning the requester; want 1 and 1", progress, done)
	}

	// A late click on the closed request changes nothing and says why.
	tr.click("U0OPS2", deployChannel, r2, "approve", v2)
	w.idle()
	if got := w.lastEphemeral("U0OPS2"); !strings.Contains(got, "R2 is already approved") {
		t.Errorf("late click answered %q", got)
	}
	if w.exec.count("R2") != 1 {
		t.Error("a late click ran R2 again")
	}
}

func TestSocketMode_RedeliveryAndReconnect(t *testing.T) {
	w := newWorld(t, true)
	tr := socketMode{w}
	env := slacktest.SlashCommand(slacktest.SlashCommandPayload{Command: "/cs", Text: "deploy www " + digest('c'), UserID: "U0DEV1",
		ChannelID: devChannel, TriggerID: trigger()})
	tr.send(env)
	env.RetryAttempt, env.RetryReason = 1, "timeout"
	tr.send(env) // Slack redelivers an envelope it thinks was not acked
	w.idle()
	if _, _, ok := w.requestCard("R2"); ok {
		t.Error("a redelivered envelope created a second request")
	}
	w.slack.Disconnect("refresh_requested")
	w.eventually("the reconnect", func() bool { return w.slack.Connections() >= 2 && w.adapter.Connected() })
	tr.command("U0DEV1", devChannel, "status")
	w.idle()
	if got := w.lastEphemeral("U0DEV1"); !strings.Contains(got, "www") {
		t.Errorf("status after reconnect: %q", got)
	}
}

func TestHTTPMode_RefusesUnverified(t *testing.T) {
	w := newWorld(t, false)
	form := slacktest.SlashCommandPayload{Command: "/cs", Text: "deploy www " + digest('d'), UserID: "U0DEV1", ChannelID: devChannel}.Form()
	for _, tc := range []struct {
		name string
		sign func(h http.Header, body []byte)
		want int
	}{
		{"unsigned", nil, 401},
		{"wrong secret", func(h http.Header, body []byte) {
			for k, v := range slacktest.Sign("not-the-secret", w.now, body) {
				h[k] = v
			}
		}, 401},
		{"stale", func(h http.Header, body []byte) {
			for k, v := range slacktest.Sign(signingSecret, w.now.Add(-6*time.Minute), body) {
				h[k] = v
			}
		}, 401},
		{"from the future", func(h http.Header, body []byte) {
			for k, v := range slacktest.Sign(signingSecret, w.now.Add(6*time.Minute), body) {
				h[k] = v
			}
		}, 401},
		{"signature for another body", func(h http.Header, body []byte) {
			for k, v := range slacktest.Sign(signingSecret, w.now, append(body, '&')) {
				h[k] = v
			}
		}, 401},
		{"timestamp not a number", func(h http.Header, body []byte) {
			w.signed(h, body)
			h.Set("X-Slack-Request-Timestamp", "soon")
		}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(w.events(cs.EventChatRefused))
			code, body, _ := w.post("/slack/commands", form, tc.sign)
			if code != tc.want || strings.TrimSpace(body) != "unauthorized" {
				t.Errorf("got %d %q, want %d unauthorized", code, body, tc.want)
			}
			if n := len(w.events(cs.EventChatRefused)); n != before+1 {
				t.Errorf("chat.refused records %d → %d, want one more", before, n)
			}
		})
	}
	t.Run("oversized", func(t *testing.T) {
		big := slacktest.SlashCommandPayload{Command: "/cs", Text: strings.Repeat("x", 2<<20), UserID: "U0DEV1", ChannelID: devChannel}.Form()
		if code, _, _ := w.post("/slack/commands", big, w.signed); code != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized body: %d, want 413", code)
		}
	})
	w.idle()
	if msgs := w.slack.Messages(deployChannel); len(msgs) != 0 {
		t.Errorf("refused requests posted %d messages", len(msgs))
	}
	if n := len(w.events(cs.EventRequestCreated)); n != 0 {
		t.Errorf("refused requests created %d requests", n)
	}
}

// TestFlow_SlackTroubleLosesNothing runs the flow while Slack rate-limits
// and then fails for a while, in both modes: every message must end in its
// final state, and nothing may be posted twice.
func TestFlow_SlackTroubleLosesNothing(t *testing.T) {
	for _, socket := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "socket"}[socket], func(t *testing.T) {
			w := newWorld(t, socket)
			var tr transport = httpMode{w}
			if socket {
				tr = socketMode{w}
			}
			troubleFlow(t, w, tr, socket)
		})
	}
}

func troubleFlow(t *testing.T, w *world, tr transport, socket bool) {
	w.slack.RateLimit("chat.postMessage", 2, time.Second)
	tr.command("U0DEV1", devChannel, "deploy www "+digest('e'))
	w.idle()
	r1, v1, ok := w.requestCard("R1")
	if !ok {
		t.Fatal("no message for R1 after the rate limit")
	}
	tr.click("U0OPS1", deployChannel, r1, "approve", v1)
	w.idle()

	// Slack goes down right after the last approval: the execution's
	// messages and the edits of the request's message must wait.
	w.exec.mu.Lock()
	w.exec.delay = 300 * time.Millisecond
	w.exec.mu.Unlock()
	tr.click("U0OWN1", deployChannel, r1, "approve", v1)
	w.slack.Down()
	w.eventually("the execution", func() bool { return w.request("R1").State == cs.StateSucceeded })
	w.eventually("Connected() to say so", func() bool { return !w.adapter.Connected() })
	time.Sleep(1500 * time.Millisecond) // a few retries fail
	w.slack.Up()
	if socket {
		w.eventually("the reconnect", func() bool { return w.adapter.Connected() })
	}
	w.idle()

	r1, _ = w.slack.Message(deployChannel, r1.TS)
	if !strings.Contains(r1.Text, "R1 · deploy www · succeeded") || strings.Contains(unjson(r1.Blocks), `"actions"`) {
		t.Errorf("R1's message did not reach its final state: %q", r1.Text)
	}
	seen := map[string]int{}
	var replies []string
	for _, m := range w.slack.Messages(deployChannel) {
		seen[m.ThreadTS+"\x00"+m.Text]++
		if m.ThreadTS == r1.TS {
			replies = append(replies, m.Text)
		}
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("posted %d times: %q", n, k)
		}
	}
	joined := strings.Join(replies, "\n")
	for _, want := range []string{"approved R1: 2 of 2", "R1 started", "R1 progress:", "R1 succeeded"} {
		if !strings.Contains(joined, want) {
			t.Errorf("thread lacks %q:\n%s", want, joined)
		}
	}
	if w.exec.count("R1") != 1 {
		t.Errorf("R1 ran %d times", w.exec.count("R1"))
	}
	var limited, failed int
	for _, c := range w.slack.Calls() {
		switch c.Status {
		case 429:
			limited++
		case 503:
			failed++
		}
	}
	if limited != 2 || failed == 0 {
		t.Errorf("rate-limited calls = %d (want the 2 injected), failed calls = %d (want some)", limited, failed)
	}
}

// TestFlow_DoubleClickAndDM: a second click of an approval that counted
// says nothing and changes nothing; a command typed in a DM, where the bot
// cannot post ephemerally, is answered through the response_url.
func TestFlow_DoubleClickAndDM(t *testing.T) {
	w := newWorld(t, false)
	tr := httpMode{w}
	tr.command("U0DEV1", devChannel, "deploy www "+digest('a'))
	w.idle()
	r1, v1, _ := w.requestCard("R1")
	ephemerals := len(w.slack.Ephemerals())
	tr.click("U0OPS1", deployChannel, r1, "approve", v1)
	tr.click("U0OPS1", deployChannel, r1, "approve", v1)
	w.idle()
	if got := w.request("R1"); len(got.Approvals) != 1 {
		t.Errorf("approvals after a double click: %v", got.Approvals)
	}
	if n := len(w.slack.Ephemerals()); n != ephemerals {
		t.Errorf("a double click got %d replies", n-ephemerals)
	}
	if n := len(w.events("approval.granted")); n != 1 {
		t.Errorf("approval.granted records = %d", n)
	}

	p := slacktest.SlashCommandPayload{Command: "/cs", Text: "help deploy", UserID: "U0DEV1", ChannelID: "D0DM",
		TriggerID: trigger(), ResponseURL: w.slack.ResponseURL("dm1")}
	if code, _, _ := w.post("/slack/commands", p.Form(), w.signed); code != 200 {
		t.Fatalf("command in a DM: %d", code)
	}
	w.idle()
	var found bool
	for _, r := range w.slack.Responses() {
		if r.ID == "dm1" && r.ResponseType == "ephemeral" && strings.Contains(r.Text, "deploy SERVICE") {
			found = true
		}
	}
	if !found {
		t.Errorf("no ephemeral answer through the response_url: %+v", w.slack.Responses())
	}
}

// TestFlow_UsergroupUnreadable: when Slack cannot list a user group, its
// members do not count, and the clicker is told why.
func TestFlow_UsergroupUnreadable(t *testing.T) {
	w := newWorld(t, false)
	tr := httpMode{w}
	w.slack.FailWith("usergroups.users.list", 100, "fatal_error")
	tr.command("U0DEV1", devChannel, "deploy www "+digest('a'))
	w.idle()
	r1, v1, _ := w.requestCard("R1")
	if !strings.Contains(unjson(r1.Blocks), "user group S0OWNERS could not be read") {
		t.Errorf("the request message does not say the user group could not be read: %s", unjson(r1.Blocks))
	}
	tr.click("U0OWN1", deployChannel, r1, "approve", v1)
	w.idle()
	if got := w.request("R1"); len(got.Approvals) != 0 {
		t.Errorf("an unreadable user group's member counted: %v", got.Approvals)
	}
	if got := w.lastEphemeral("U0OWN1"); !strings.Contains(got, "user group S0OWNERS could not be read") {
		t.Errorf("clicker told %q", got)
	}
}

// TestFlow_RefusedMessageHoldsUpNothing: a message Slack refuses with an
// error the bot has never heard of, and answers through a response_url
// Slack no longer takes, are set aside; what was queued after them still
// arrives.
func TestFlow_RefusedMessageHoldsUpNothing(t *testing.T) {
	w := newWorld(t, false)
	tr := httpMode{w}
	w.slack.FailWith("chat.postMessage", 1, "message_quota_exceeded_2027")
	tr.command("U0DEV1", devChannel, "deploy www "+digest('a'))
	w.idle()
	if got := w.lastEphemeral("U0DEV1"); !strings.Contains(got, "R1 could not be posted in <#C0DEPLOYS>") {
		t.Errorf("the requester was told %q", got)
	}

	for range slacktest.ResponseURLUses + 1 {
		p := slacktest.SlashCommandPayload{Command: "/cs", Text: "help", UserID: "U0DEV1", ChannelID: "D0DM",
			TriggerID: trigger(), ResponseURL: w.slack.ResponseURL("dm1")}
		if code, _, _ := w.post("/slack/commands", p.Form(), w.signed); code != 200 {
			t.Fatalf("command in a DM: %d", code)
		}
	}
	w.idle()
	tr.command("U0DEV1", devChannel, "status www")
	w.idle()
	if got := w.lastEphemeral("U0DEV1"); !strings.Contains(got, "R1") {
		t.Errorf("the answer after the refused ones: %q", got)
	}

	aside, err := w.bot.SetAside(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	for _, a := range aside {
		if a.Reason != bot.AsideRefused {
			t.Errorf("set aside as %q: %+v", a.Reason, a)
		}
		errs = append(errs, a.Error)
	}
	if got := strings.Join(errs, "\n"); len(aside) != 2 || !strings.Contains(got, "message_quota_exceeded_2027") || !strings.Contains(got, "404") {
		t.Errorf("set aside: %d entries:\n%s", len(aside), got)
	}
	if n := len(w.events(cs.EventOutboxAbandoned)); n != 2 {
		t.Errorf("%d outbox.abandoned records, want 2", n)
	}
}
