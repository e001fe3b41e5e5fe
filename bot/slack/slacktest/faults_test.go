package slacktest_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/countersign/countersign/bot/slack/slacktest"
)

func TestServer_RateLimit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter time.Duration
		want       time.Duration
	}{
		{"whole seconds", 3 * time.Second, 3 * time.Second},
		{"rounded up", 1500 * time.Millisecond, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, slacktest.Options{})
			api := newClient(srv, srv.Options().BotToken)
			srv.RateLimit("chat.postMessage", 1, tc.retryAfter)

			_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
			var rl *slack.RateLimitedError
			if !errors.As(err, &rl) || rl.RetryAfter != tc.want {
				t.Fatalf("PostMessage error = %v, want *slack.RateLimitedError after %v", err, tc.want)
			}
			if _, err := api.AuthTest(); err != nil {
				t.Errorf("other method limited too: %v", err)
			}
			if _, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false)); err != nil {
				t.Errorf("second PostMessage: %v", err)
			}
			calls := srv.Calls()
			if c := calls[0]; c.Method != "chat.postMessage" || c.Status != http.StatusTooManyRequests || c.OK || c.Error != "ratelimited" {
				t.Errorf("limited call = %+v", c)
			}
			if got := srv.CallCount("chat.postMessage"); got != 2 {
				t.Errorf("CallCount = %d, want 2 (the limited call counts)", got)
			}
			if got := len(srv.Messages("C1")); got != 1 {
				t.Errorf("Messages = %d, want 1", got)
			}
		})
	}
}

func TestServer_Fail(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	api := newClient(srv, srv.Options().BotToken)
	srv.Fail("", 2, http.StatusServiceUnavailable)
	for i := range 3 {
		_, err := api.AuthTest()
		var sc slack.StatusCodeError
		if i < 2 && (!errors.As(err, &sc) || sc.Code != http.StatusServiceUnavailable) {
			t.Errorf("call %d error = %v, want StatusCodeError 503", i, err)
		}
		if i == 2 && err != nil {
			t.Errorf("call %d after the faults: %v", i, err)
		}
	}
	if got := srv.CallCount("auth.test"); got != 3 {
		t.Errorf("CallCount = %d, want 3", got)
	}
}

func TestServer_FailWith(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	api := newClient(srv, srv.Options().BotToken)
	srv.FailWith("views.open", 1, "expired_trigger_id")
	view := slack.ModalViewRequest{Type: slack.VTModal, Title: slack.NewTextBlockObject("plain_text", "x", false, false)}
	if _, err := api.OpenView("trig", view); slackError(t, err) != "expired_trigger_id" {
		t.Errorf("OpenView error = %v, want expired_trigger_id", err)
	}
	if _, err := api.OpenView("trig", view); err != nil {
		t.Errorf("second OpenView: %v", err)
	}
}

func TestServer_DownUp(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	api := newClient(srv, srv.Options().BotToken)
	srv.Down()
	var sc slack.StatusCodeError
	if _, err := api.AuthTest(); !errors.As(err, &sc) || sc.Code != http.StatusServiceUnavailable {
		t.Errorf("AuthTest while down = %v, want StatusCodeError 503", err)
	}
	srv.Up()
	if _, err := api.AuthTest(); err != nil {
		t.Errorf("AuthTest after Up: %v", err)
	}
	if got := srv.Calls(); len(got) != 2 || got[0].Status != http.StatusServiceUnavailable {
		t.Errorf("Calls = %+v, want the 503 recorded", got)
	}
}

func TestServer_FaultsConcurrent(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	api := newClient(srv, srv.Options().BotToken)
	srv.RateLimit("", 5, time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	limited := 0
	for range 20 {
		wg.Go(func() {
			_, err := api.AuthTest()
			var rl *slack.RateLimitedError
			if errors.As(err, &rl) {
				mu.Lock()
				limited++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if limited != 5 || srv.CallCount("") != 20 {
		t.Errorf("limited %d of %d calls, want 5 of 20", limited, srv.CallCount(""))
	}
}
