package slack_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bodytest"
	"github.com/countersign/countersign/bot/slack"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// TestHTTPMode_ForgedFloodMemory sends 400 forged 1 MiB requests at once
// (a fresh timestamp, a signature of the right form and the wrong value)
// and checks that the process's peak memory grows by far less than their
// sum, that none is taken, that the memory comes back, and that a real
// command is taken after. It runs in a process of its own so that the
// peak is its own.
func TestHTTPMode_ForgedFloodMemory(t *testing.T) {
	if !bodytest.InChild(t) {
		return
	}
	w := newWorld(t, false)
	got := bodytest.FloodWithin(t, w.http.URL+"/slack/commands", 400, 1<<20, func(h http.Header) {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(w.now.Unix(), 10))
		h.Set("X-Slack-Signature", "v0="+strings.Repeat("0", 64))
	}, bodytest.Bounds{Growth: 256 << 20, Kept: 40 << 20})
	if got[http.StatusOK] != 0 || got[http.StatusUnauthorized] == 0 {
		t.Errorf("answers %v: want no 200 and some 401", got)
	}
	httpMode{w}.command("U0DEV1", devChannel, "deploy www "+digest('f'))
	w.idle()
	if n := len(w.events(cs.EventRequestCreated)); n != 1 {
		t.Errorf("a real command after the flood made %d requests, want 1", n)
	}
}

// TestHTTPMode_Busy holds the whole body budget, as bodies in flight
// would: a request is answered 503 with Retry-After at once and audited,
// and taken once the budget is given back.
func TestHTTPMode_Busy(t *testing.T) {
	w := newWorld(t, false)
	budget := &bot.BodyBudget{Max: 1 << 20}
	a := slack.NewAdapter(w.client, w.bot, slack.Config{Command: "/cs", SigningSecret: signingSecret, TeamID: "T0TEAM",
		Now: func() time.Time { return w.now }, Bodies: budget})
	defer a.Close()
	held, err := budget.Read(strings.NewReader(""), budget.Size(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	send := func() *httptest.ResponseRecorder {
		body := []byte(slacktest.SlashCommandPayload{Command: "/cs", Text: "status", UserID: "U0DEV1", ChannelID: devChannel}.Form().Encode())
		req := httptest.NewRequest("POST", "/slack/commands", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w.signed(req.Header, body)
		rec := httptest.NewRecorder()
		a.Commands().ServeHTTP(rec, req)
		return rec
	}
	if rec := send(); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("request while the budget is spent: %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	var busy int
	for _, e := range w.events(cs.EventChatRefused) {
		if strings.Contains(string(e.Detail), `"reason":"busy"`) {
			busy++
		}
	}
	if busy != 1 {
		t.Errorf("busy refusals audited: %d, want 1", busy)
	}
	held.Release()
	if rec := send(); rec.Code != http.StatusOK {
		t.Errorf("the request again once the budget is back: %d %q", rec.Code, rec.Body)
	}
}
