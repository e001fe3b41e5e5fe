package slack_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

func newClient(t *testing.T, srv *slacktest.Server) *slack.Client {
	t.Helper()
	return slack.NewClient(botToken, slack.Options{APIURL: srv.APIURL(), HTTPClient: srv.HTTPClient(),
		RateLimitWaitCap: time.Millisecond, ChannelBurst: 1000, ChannelInterval: time.Millisecond})
}

// TestClient_RetriesOnlyWhatHeals: only errors known to heal are left to
// the outbox to retry; any other refusal, including a code Slack adds
// later, is rejected, so that it cannot hold up the messages after it.
func TestClient_RetriesOnlyWhatHeals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fail     func(*slacktest.Server)
		rejected bool
	}{
		{"blocks too long", func(s *slacktest.Server) { s.FailWith("chat.postMessage", 1, "msg_blocks_too_long") }, true},
		{"channel not found", func(s *slacktest.Server) { s.FailWith("chat.postMessage", 1, "channel_not_found") }, true},
		{"a code Slack adds next year", func(s *slacktest.Server) { s.FailWith("chat.postMessage", 1, "frobnication_refused") }, true},
		{"HTTP 400", func(s *slacktest.Server) { s.Fail("chat.postMessage", 1, http.StatusBadRequest) }, true},
		{"HTTP 404", func(s *slacktest.Server) { s.Fail("chat.postMessage", 1, http.StatusNotFound) }, true},
		{"ratelimited", func(s *slacktest.Server) { s.FailWith("chat.postMessage", 1, "ratelimited") }, false},
		{"service_unavailable", func(s *slacktest.Server) { s.FailWith("chat.postMessage", 1, "service_unavailable") }, false},
		{"internal_error", func(s *slacktest.Server) { s.FailWith("chat.postMessage", 1, "internal_error") }, false},
		{"fatal_error", func(s *slacktest.Server) { s.FailWith("chat.postMessage", 1, "fatal_error") }, false},
		{"request_timeout", func(s *slacktest.Server) { s.FailWith("chat.postMessage", 1, "request_timeout") }, false},
		{"token revoked", func(s *slacktest.Server) { s.FailWith("chat.postMessage", 1, "token_revoked") }, false},
		{"HTTP 429", func(s *slacktest.Server) { s.RateLimit("chat.postMessage", 10, time.Second) }, false},
		{"HTTP 500", func(s *slacktest.Server) { s.Fail("chat.postMessage", 1, http.StatusInternalServerError) }, false},
		{"HTTP 503", func(s *slacktest.Server) { s.Fail("chat.postMessage", 1, http.StatusServiceUnavailable) }, false},
		{"down", func(s *slacktest.Server) { s.Down() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := slacktest.New(slacktest.Options{BotToken: botToken})
			defer srv.Close()
			tc.fail(srv)
			_, err := newClient(t, srv).Post(context.Background(), bot.Message{Channel: "C0DEPLOYS", Text: "hello"})
			if err == nil {
				t.Fatal("Post succeeded")
			}
			if got := errors.Is(err, bot.ErrChatRejected); got != tc.rejected {
				t.Errorf("rejected = %v, want %v (%v)", got, tc.rejected, err)
			}
		})
	}
}

// TestClient_ResponseURLUsedUp: a response_url Slack no longer takes (used
// five times, or older than 30 minutes) is rejected, not retried.
func TestClient_ResponseURLUsedUp(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	srv := slacktest.New(slacktest.Options{BotToken: botToken, Now: func() time.Time { return now }})
	defer srv.Close()
	c := newClient(t, srv)
	to := bot.Caller{User: "U0DEV1", Channel: "D0DM", ReplyURL: srv.ResponseURL("cmd1")}
	for i := range slacktest.ResponseURLUses {
		if err := c.Ephemeral(context.Background(), to, bot.Message{Text: "answer"}); err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
	}
	err := c.Ephemeral(context.Background(), to, bot.Message{Text: "one too many"})
	if !errors.Is(err, bot.ErrChatRejected) {
		t.Errorf("a used up response_url: %v, want rejected", err)
	}

	to.ReplyURL = srv.ResponseURL("cmd2")
	now = now.Add(slacktest.ResponseURLLifetime)
	if err := c.Ephemeral(context.Background(), to, bot.Message{Text: "late"}); !errors.Is(err, bot.ErrChatRejected) {
		t.Errorf("an expired response_url: %v, want rejected", err)
	}
	if n := len(srv.Responses()); n != slacktest.ResponseURLUses {
		t.Errorf("%d answers taken, want %d", n, slacktest.ResponseURLUses)
	}
}

// TestClient_StalledCallTimesOut: a connection that never answers does
// not hold the caller (and so the outbox's chat lane) for ever; the
// response_url, which lets anyone answer the user as the app, stays out
// of the error.
func TestClient_StalledCallTimesOut(t *testing.T) {
	release := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stalled.Close()
	defer close(release)
	c := slack.NewClient(botToken, slack.Options{APIURL: stalled.URL + "/api/", HTTPClient: stalled.Client(),
		CallTimeout: 50 * time.Millisecond, MaxRateLimitWaits: -1})
	secret := "/response/T0TEAM/1234/s3cr3t"
	for name, call := range map[string]func() error{
		"chat.postMessage": func() error {
			_, err := c.Post(context.Background(), bot.Message{Channel: "C0DEPLOYS", Text: "hello"})
			return err
		},
		"response_url": func() error {
			return c.Ephemeral(context.Background(), bot.Caller{User: "U0DEV1", Channel: "D0DM", ReplyURL: stalled.URL + secret}, bot.Message{Text: "hi"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- call() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the call is still waiting for a server that never answers")
			}
			if err == nil || errors.Is(err, bot.ErrChatRejected) {
				t.Errorf("err = %v, want a failure to retry", err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error shows the response_url: %v", err)
			}
		})
	}
}

// TestClient_LongMessagesFitSlack: the longest text the bot may send
// (an audit list, a long status) is drawn within what Slack takes, as a
// post, an edit and an ephemeral answer.
func TestClient_LongMessagesFitSlack(t *testing.T) {
	srv := slacktest.New(slacktest.Options{BotToken: botToken})
	defer srv.Close()
	c := newClient(t, srv)
	ctx := context.Background()
	long := bot.Message{Channel: "C0DEPLOYS", Text: bot.Markup(strings.Repeat("00042 <@U0OPS1> approved R42 &lt;x&gt; &amp; more\n", 3000))}
	ref, err := c.Post(ctx, long)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	if err := c.Update(ctx, ref, long); err != nil {
		t.Errorf("update: %v", err)
	}
	if err := c.Ephemeral(ctx, bot.Caller{User: "U0DEV1", Channel: "C0DEPLOYS"}, long); err != nil {
		t.Errorf("ephemeral: %v", err)
	}
}
