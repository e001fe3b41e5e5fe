package slacktest_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/countersign/countersign/bot/slack/slacktest"
)

// runSocketMode starts a real socketmode client against srv. Each
// request-carrying event is acked (with ackPayload for slash commands) and
// then handed to the returned channel. Cleanup stops the client.
func runSocketMode(t *testing.T, srv *slacktest.Server, ackPayload any) (*socketmode.Client, <-chan socketmode.Event) {
	t.Helper()
	api := slack.New(srv.Options().BotToken,
		slack.OptionAPIURL(srv.APIURL()),
		slack.OptionHTTPClient(srv.HTTPClient()),
		slack.OptionAppLevelToken(srv.Options().AppToken))
	sm := socketmode.New(api, socketmode.OptionDialer(srv.Dialer()),
		socketmode.OptionLog(log.New(io.Discard, "", 0)))
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan socketmode.Event, 100)
	var wg sync.WaitGroup
	wg.Go(func() { _ = sm.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-sm.Events:
				switch evt.Type {
				case socketmode.EventTypeSlashCommand:
					_ = sm.Ack(*evt.Request, ackPayload)
				case socketmode.EventTypeInteractive:
					_ = sm.Ack(*evt.Request)
				}
				select {
				case events <- evt:
				default: // nobody is looking at connection chatter
				}
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return sm, events
}

// next returns the next event of type want, skipping others.
func next(t *testing.T, events <-chan socketmode.Event, want socketmode.EventType) socketmode.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case evt := <-events:
			if evt.Type == want {
				return evt
			}
		case <-timeout:
			t.Fatalf("no %s event within 10s", want)
		}
	}
}

func TestServer_SocketMode(t *testing.T) {
	srv := newServer(t, slacktest.Options{AppID: "A1"})
	_, events := runSocketMode(t, srv, map[string]string{"text": "queued"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := srv.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	hello := next(t, events, socketmode.EventTypeHello)
	if r := hello.Request; r.ConnectionInfo.AppID != "A1" || r.NumConnections != 1 || r.DebugInfo.Host == "" {
		t.Errorf("hello = %+v, want app A1, 1 connection, a debug host", r)
	}

	env := slacktest.SlashCommand(slacktest.SlashCommandPayload{
		Command: "/deploy", Text: "web prod", UserID: "U2", UserName: "ann",
		ChannelID: "C1", ChannelName: "ops", ResponseURL: srv.ResponseURL("r1"),
	})
	if err := srv.Send(ctx, env); err != nil {
		t.Fatal(err)
	}
	ack, err := srv.WaitAck(ctx, env.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	if string(ack.Payload) != `{"text":"queued"}` || ack.Elapsed <= 0 {
		t.Errorf("ack = %+v, want payload {\"text\":\"queued\"} and an elapsed time", ack)
	}
	evt := next(t, events, socketmode.EventTypeSlashCommand)
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok || cmd.Command != "/deploy" || cmd.Text != "web prod" || cmd.UserID != "U2" || cmd.ChannelID != "C1" ||
		cmd.ResponseURL != srv.ResponseURL("r1") || cmd.TriggerID == "" || cmd.TeamID == "" {
		t.Errorf("slash command = %+v", evt.Data)
	}
	if !evt.Request.AcceptsResponsePayload || evt.Request.EnvelopeID != env.EnvelopeID {
		t.Errorf("slash command request = %+v", evt.Request)
	}

	srv.Disconnect("")
	if err := srv.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if got := srv.Connections(); got != 2 {
		t.Errorf("Connections after Disconnect = %d, want 2", got)
	}
	if got := srv.CallCount("apps.connections.open"); got != 2 {
		t.Errorf("apps.connections.open calls = %d, want 2", got)
	}
	again := slacktest.SlashCommand(slacktest.SlashCommandPayload{Command: "/deploy", UserID: "U2", ChannelID: "C1"})
	if err := srv.Send(ctx, again); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitAck(ctx, again.EnvelopeID); err != nil {
		t.Errorf("no ack after reconnect: %v", err)
	}
	if c := srv.Calls()[0]; c.Method != "apps.connections.open" || c.Token != "app" {
		t.Errorf("first call = %+v, want apps.connections.open with the app token", c)
	}
}

func TestServer_SocketModeInteractive(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	_, events := runSocketMode(t, srv, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	press := slacktest.BlockAction(slacktest.BlockActionPayload{
		UserID: "U2", ChannelID: "C1", MessageTS: "1700000000.000100", ResponseURL: srv.ResponseURL("b1"),
		Actions: []slacktest.Action{{ActionID: "approve", BlockID: "req-1", Value: "req-1", Text: "Approve"}},
	})
	if err := srv.Send(ctx, press); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitAck(ctx, press.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	cb, ok := next(t, events, socketmode.EventTypeInteractive).Data.(slack.InteractionCallback)
	if !ok || cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U2" || cb.Channel.ID != "C1" ||
		cb.Container.MessageTs != "1700000000.000100" || cb.Message.Timestamp != "1700000000.000100" || cb.TriggerID == "" {
		t.Fatalf("block action = %+v", cb)
	}
	if acts := cb.ActionCallback.BlockActions; len(acts) != 1 || acts[0].ActionID != "approve" || acts[0].Value != "req-1" || acts[0].Type != "button" || acts[0].ActionTs == "" {
		t.Errorf("actions = %+v", acts)
	}

	submit := slacktest.ViewSubmission(slacktest.ViewSubmissionPayload{
		UserID: "U2", ViewID: "V1", CallbackID: "deny", PrivateMetadata: "req-1",
		Values: map[string]map[string]string{"reason": {"text": "not today"}},
	})
	if err := srv.Send(ctx, submit); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitAck(ctx, submit.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	cb, ok = next(t, events, socketmode.EventTypeInteractive).Data.(slack.InteractionCallback)
	if !ok || cb.Type != slack.InteractionTypeViewSubmission || cb.View.ID != "V1" || cb.View.CallbackID != "deny" ||
		cb.View.PrivateMetadata != "req-1" || cb.View.State == nil || cb.View.State.Values["reason"]["text"].Value != "not today" {
		t.Errorf("view submission = %+v", cb.View)
	}
}

func TestServer_SocketModeDownUp(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	runSocketMode(t, srv, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	srv.Down()
	// The client retries with backoff; let it fail at least once.
	for srv.CallCount("apps.connections.open") < 2 {
		select {
		case <-ctx.Done():
			t.Fatal("client did not retry apps.connections.open while down")
		case <-time.After(10 * time.Millisecond):
		}
	}
	srv.Up()
	if err := srv.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if got := srv.Connections(); got != 2 {
		t.Errorf("Connections = %d, want 2", got)
	}
}

func TestServer_SendWithoutID(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	env := slacktest.Envelope{Type: "events_api", Payload: json.RawMessage(`{}`)}
	if err := srv.Send(context.Background(), env); err == nil {
		t.Error("Send without an envelope ID succeeded")
	}
}

func TestServer_WaitAfterClose(t *testing.T) {
	srv := slacktest.New(slacktest.Options{})
	srv.Close()
	if err := srv.WaitConnected(context.Background()); err == nil {
		t.Error("WaitConnected on a closed server returned nil")
	}
}
