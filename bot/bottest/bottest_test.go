package bottest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/policies"
)

// TestChat_RefusesWhatSlackRefuses: every message the real adapter
// could not deliver is refused for good (bot.ErrChatRejected, with
// Slack's code), and nothing of it is recorded.
func TestChat_RefusesWhatSlackRefuses(t *testing.T) {
	ctx := context.Background()
	c := bottest.NewChat()
	long := bot.Markup(strings.Repeat("x", bottest.MaxText+1))
	for _, tc := range []struct {
		name, code string
		call       func() error
	}{
		{"post without channel", "channel_not_found", func() error { _, err := c.Post(ctx, bot.Message{Text: "hi"}); return err }},
		{"post without text", "no_text", func() error { _, err := c.Post(ctx, bot.Message{Channel: "C1"}); return err }},
		{"post too long", "msg_too_long", func() error { _, err := c.Post(ctx, bot.Message{Channel: "C1", Text: long}); return err }},
		{"update without ts", "message_not_found", func() error {
			return c.Update(ctx, cs.MessageRef{Channel: "C1"}, bot.Message{Channel: "C1", Text: "hi"})
		}},
		{"update too long", "msg_too_long", func() error {
			return c.Update(ctx, cs.MessageRef{Channel: "C1", TS: bottest.TS(1)}, bot.Message{Channel: "C1", Text: long})
		}},
		{"ephemeral without user", "user_not_found", func() error {
			return c.Ephemeral(ctx, bot.Caller{Channel: "C1"}, bot.Message{Text: "hi"})
		}},
		{"ephemeral in a DM without reply URL", "response_url", func() error {
			return c.Ephemeral(ctx, bot.Caller{User: "U1", Channel: "D1"}, bot.Message{Text: "hi"})
		}},
		{"ephemeral without text", "no_text", func() error {
			return c.Ephemeral(ctx, bot.Caller{User: "U1", Channel: "C1"}, bot.Message{})
		}},
	} {
		err := tc.call()
		if !errors.Is(err, bot.ErrChatRejected) || !strings.Contains(err.Error(), tc.code) {
			t.Errorf("%s: err = %v, want ErrChatRejected with %s", tc.name, err, tc.code)
		}
	}
	if text := c.AllText(); text != "" || c.UpdateCount() != 0 || c.Calls() != 8 {
		t.Errorf("refused calls left %d characters, %d updates, %d calls (want none, none, 8)", len(text), c.UpdateCount(), c.Calls())
	}
}

// TestChat_RecordsAndFails: what is taken is recorded; a chat that is
// down fails with ErrDown (retryable), a rejected channel for good, a
// stuck channel as if down.
func TestChat_RecordsAndFails(t *testing.T) {
	ctx := context.Background()
	c := bottest.NewChat().Reject("CGONE").Stick("CSTUCK")
	ref, err := c.Post(ctx, bot.Message{Channel: "C1", Text: "first", Request: &bot.RequestCard{ID: "R1"}})
	if err != nil || ref != (cs.MessageRef{Channel: "C1", TS: bottest.TS(1)}) {
		t.Fatalf("Post = %+v, %v", ref, err)
	}
	if err := c.Update(ctx, ref, bot.Message{Channel: "C1", Text: "second"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Ephemeral(ctx, bot.Caller{User: "U1", Channel: "D1", ReplyURL: "https://hooks.example/1"}, bot.Message{Text: "psst"}); err != nil {
		t.Fatal(err)
	}
	if m, ok := c.Updated(ref.TS); !ok || m.Text != "second" {
		t.Errorf("Updated = %+v, %v", m, ok)
	}
	if got := c.LastEphemeral("U1"); got != "psst" {
		t.Errorf("LastEphemeral = %q", got)
	}
	if len(c.Cards("R1")) != 1 || c.PostsContaining("first") != 1 || strings.Join(c.PostTexts(), ",") != "first" {
		t.Errorf("posts %+v", c.Posts())
	}
	if _, err := c.Post(ctx, bot.Message{Channel: "CGONE", Text: "x"}); !errors.Is(err, bot.ErrChatRejected) {
		t.Errorf("rejected channel: %v", err)
	}
	if _, err := c.Post(ctx, bot.Message{Channel: "CSTUCK", Text: "x"}); !errors.Is(err, bottest.ErrDown) {
		t.Errorf("stuck channel: %v", err)
	}
	c.SetDown(true)
	if _, err := c.Post(ctx, bot.Message{Channel: "C1", Text: "x"}); !errors.Is(err, bottest.ErrDown) || errors.Is(err, bot.ErrChatRejected) {
		t.Errorf("down: %v", err)
	}
	if n := len(c.Posts()); n != 1 {
		t.Errorf("%d posts, want the first only", n)
	}
}

func TestClock_MovesOnlyWhenTold(t *testing.T) {
	at := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	c := bottest.NewClock(at)
	c.Advance(time.Minute)
	if err := c.Sleep(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := c.Now(); !got.Equal(at.Add(time.Hour + time.Minute)) {
		t.Errorf("Now = %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on an ended context = %v", err)
	}
	c.Set(at)
	if !c.Now().Equal(at) {
		t.Errorf("Set: Now = %v", c.Now())
	}
}

// TestWorld_RequestSurvivesRestart: a request made in a world is read
// back by Request, also after a restart on the same file.
func TestWorld_RequestSurvivesRestart(t *testing.T) {
	engine, err := policies.New(policies.Set{Policies: []policies.Policy{
		{Name: "locks", Actions: []cs.ActionKind{cs.ActionLock, cs.ActionUnlock}, Targets: []string{"*"}, Request: []string{"U1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	w := bottest.NewWorld(t, bottest.Options{Clock: bottest.NewClock(time.Now()), Config: bot.Config{Policy: engine,
		Services: []bot.Service{{Name: "api", Kind: "swarm", Channel: "C1", Image: "reg/api", Executor: nopExec{}}}}})
	w.Bot.HandleCommand(w.Ctx, bot.Caller{User: "U1", Channel: "C1"}, "lock api maintenance")
	w.Idle()
	if r := w.Request("R1"); r.Action.Kind != cs.ActionLock || r.Action.Target != "api" {
		t.Fatalf("R1 = %+v\nchat: %s", r, w.Chat.(*bottest.Chat).AllText())
	}
	w.Restart(func(c *bot.Config) { c.ConfigHash = "after the restart" })
	if r := w.Request("R1"); r.Action.Kind != cs.ActionLock || w.Config().ConfigHash != "after the restart" {
		t.Errorf("after the restart: R1 = %+v, config hash %q", r, w.Config().ConfigHash)
	}
}

// nopExec is an executor never asked to run anything here.
type nopExec struct{}

func (nopExec) Describe(context.Context, cs.Request) (string, error) {
	return "nothing (test stand-in)", nil
}
func (nopExec) Execute(context.Context, cs.Request, func(string) error) (bot.Result, error) {
	return bot.Result{}, errors.New("nopExec: not expected to run")
}
