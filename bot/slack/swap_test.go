package slack_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// TestAdapter_SetSigningSecret: after a swap, an HTTP-mode request signed
// with the old secret is refused and one signed with the new secret is
// taken; an empty secret refuses every request.
func TestAdapter_SetSigningSecret(t *testing.T) {
	w := newWorld(t, false)
	form := slacktest.SlashCommandPayload{Command: "/cs", Text: "help", UserID: "U0DEV1", ChannelID: devChannel, TriggerID: "t1"}.Form()
	with := func(secret string) func(http.Header, []byte) {
		return func(h http.Header, body []byte) {
			for k, v := range slacktest.Sign(secret, w.now, body) {
				h[k] = v
			}
		}
	}
	const next = "the next signing secret"
	if code, body, _ := w.post("/slack/commands", form, with(signingSecret)); code != 200 {
		t.Fatalf("before the swap: %d %q", code, body)
	}
	w.adapter.SetSigningSecret(next)
	if code, _, _ := w.post("/slack/commands", form, with(signingSecret)); code != http.StatusUnauthorized {
		t.Errorf("after the swap, the old secret: %d, want 401", code)
	}
	if code, body, _ := w.post("/slack/commands", form, with(next)); code != 200 {
		t.Errorf("after the swap, the new secret: %d %q, want 200", code, body)
	}
	w.adapter.SetSigningSecret("")
	for _, secret := range []string{signingSecret, next, ""} {
		if code, _, _ := w.post("/slack/commands", form, with(secret)); code != http.StatusUnauthorized {
			t.Errorf("with the secret removed, signed with %q: %d, want 401", secret, code)
		}
	}
	w.idle()
}

// TestClient_SetBotToken: after a swap, Web API calls carry the new
// token; a refused swap keeps the token in force.
func TestClient_SetBotToken(t *testing.T) {
	srv := slacktest.New(slacktest.Options{BotToken: "xoxb-the-new-token"})
	t.Cleanup(srv.Close)
	c := newClient(t, srv) // the old token, which the fake refuses
	msg := bot.Message{Channel: deployChannel, Text: "hello"}
	ctx := context.Background()
	if _, err := c.Post(ctx, msg); err == nil {
		t.Fatal("the fake took a token it does not know: the test cannot tell the tokens apart")
	}
	if err := c.SetBotToken("xoxb-the-new-token"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(ctx, msg); err != nil {
		t.Fatalf("a post after the swap: %v", err)
	}
	for _, bad := range []string{"", "xoxb-with space"} {
		if err := c.SetBotToken(bad); err == nil {
			t.Errorf("SetBotToken(%q): accepted", bad)
		}
	}
	if _, err := c.Post(ctx, msg); err != nil {
		t.Fatalf("after refused swaps the token in force changed: %v", err)
	}
	if err := c.SetBotToken("xoxb-another-token"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(ctx, msg); err == nil {
		t.Error("after a swap away from the right token, a post was still taken")
	}
}
