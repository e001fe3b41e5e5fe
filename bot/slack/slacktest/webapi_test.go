package slacktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/countersign/countersign/bot/slack/slacktest"
)

func newServer(t *testing.T, opts slacktest.Options) *slacktest.Server {
	t.Helper()
	srv := slacktest.New(opts)
	t.Cleanup(srv.Close)
	return srv
}

func newClient(srv *slacktest.Server, token string) *slack.Client {
	return slack.New(token,
		slack.OptionAPIURL(srv.APIURL()),
		slack.OptionHTTPClient(srv.HTTPClient()),
		slack.OptionAppLevelToken(srv.Options().AppToken))
}

// slackError returns the Web API error code in err, or "" if err is not one.
func slackError(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a slack.SlackErrorResponse", err, err)
	}
	return se.Err
}

func TestServer_AuthTest(t *testing.T) {
	srv := newServer(t, slacktest.Options{BotUserID: "U1", TeamID: "T1", BotID: "B1"})
	got, err := newClient(srv, srv.Options().BotToken).AuthTest()
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != "U1" || got.TeamID != "T1" || got.BotID != "B1" || got.URL == "" {
		t.Errorf("AuthTest = %+v, want user U1, team T1, bot B1 and a url", got)
	}
	if got, want := got.Header.Get("X-OAuth-Scopes"), "chat:write,commands,"; len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("X-OAuth-Scopes = %q, want it to start with %q", got, want)
	}

	for _, tc := range []struct{ name, token, want string }{
		{"wrong token", "xoxb-wrong", "invalid_auth"},
		{"no token", "", "not_authed"},
		{"app token", srv.Options().AppToken, "not_allowed_token_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newClient(srv, tc.token).AuthTest()
			if got := slackError(t, err); got != tc.want {
				t.Errorf("AuthTest error = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestServer_PostMessage(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	api := newClient(srv, srv.Options().BotToken)
	blocks := slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*deploy?*", false, false), nil, nil)

	ch, ts, err := api.PostMessage("C1", slack.MsgOptionText("deploy?", false), slack.MsgOptionBlocks(blocks))
	if err != nil {
		t.Fatal(err)
	}
	if ch != "C1" || ts != "1700000000.000100" {
		t.Errorf("PostMessage = %q, %q; want C1, 1700000000.000100", ch, ts)
	}
	_, reply, err := api.PostMessage("C1", slack.MsgOptionText("approved", false), slack.MsgOptionTS(ts))
	if err != nil {
		t.Fatal(err)
	}
	if reply != "1700000000.000200" {
		t.Errorf("second ts = %q, want 1700000000.000200", reply)
	}

	msgs := srv.Messages("C1")
	if len(msgs) != 2 {
		t.Fatalf("Messages = %d, want 2", len(msgs))
	}
	if msgs[0].TS != ts || msgs[0].Text != "deploy?" || msgs[0].ThreadTS != "" {
		t.Errorf("first message = %+v", msgs[0])
	}
	var sent []map[string]any
	if err := json.Unmarshal(msgs[0].Blocks, &sent); err != nil || len(sent) != 1 || sent[0]["type"] != "section" {
		t.Errorf("first message blocks = %s (%v), want one section", msgs[0].Blocks, err)
	}
	if msgs[1].ThreadTS != ts || msgs[1].Text != "approved" || msgs[1].Blocks != nil {
		t.Errorf("reply = %+v, want text approved in thread %s", msgs[1], ts)
	}
	if got, ok := srv.Message("C1", reply); !ok || got.Text != "approved" {
		t.Errorf("Message(C1, %s) = %+v, %v", reply, got, ok)
	}
	if calls := srv.Calls(); calls[0].Form.Get("blocks") == "" || calls[0].Token != "bot" || !calls[0].OK {
		t.Errorf("first call = %+v, want blocks form field, bot token, ok", calls[0])
	}
}

func TestServer_PostMessageErrors(t *testing.T) {
	srv := newServer(t, slacktest.Options{Members: map[string]bool{"C1": true, "C2": false}})
	for _, tc := range []struct {
		name, channel, text, want string
	}{
		{"member", "C1", "hi", ""},
		{"not a member", "C2", "hi", "not_in_channel"},
		{"unknown channel", "C3", "hi", "channel_not_found"},
		{"no text", "C1", "", "no_text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := newClient(srv, srv.Options().BotToken).PostMessage(tc.channel, slack.MsgOptionText(tc.text, false))
			if got := slackError(t, err); got != tc.want {
				t.Errorf("PostMessage(%s) error = %q, want %q", tc.channel, got, tc.want)
			}
		})
	}
	srv.SetMember("C2", true)
	if _, _, err := newClient(srv, srv.Options().BotToken).PostMessage("C2", slack.MsgOptionText("hi", false)); err != nil {
		t.Errorf("PostMessage after SetMember: %v", err)
	}
}

func TestServer_UpdateMessage(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	api := newClient(srv, srv.Options().BotToken)
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("pending", false))
	if err != nil {
		t.Fatal(err)
	}
	done := slack.NewContextBlock("", slack.NewTextBlockObject("mrkdwn", "approved by <@U2>", false, false))
	for range 2 { // the second update changes nothing and must not count
		if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("approved", false), slack.MsgOptionBlocks(done)); err != nil {
			t.Fatal(err)
		}
	}
	got, ok := srv.Message("C1", ts)
	if !ok {
		t.Fatal("message gone after update")
	}
	if got.Text != "approved" || got.Blocks == nil || got.Updates != 1 {
		t.Errorf("updated message = %+v, want text approved, blocks, 1 update", got)
	}
	if len(got.History) != 1 || got.History[0].Text != "pending" {
		t.Errorf("History = %+v, want the pending version", got.History)
	}

	for _, tc := range []struct{ name, channel, ts, want string }{
		{"unknown ts", "C1", "1.2", "message_not_found"},
		{"other channel", "C9", ts, "message_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := api.UpdateMessage(tc.channel, tc.ts, slack.MsgOptionText("x", false))
			if got := slackError(t, err); got != tc.want {
				t.Errorf("UpdateMessage error = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestServer_PostEphemeral(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	api := newClient(srv, srv.Options().BotToken)
	ts, err := api.PostEphemeral("C1", "U2", slack.MsgOptionText("only you", false))
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Ephemerals()
	if ts == "" || len(got) != 1 || got[0].Channel != "C1" || got[0].User != "U2" || got[0].Text != "only you" || got[0].TS != ts {
		t.Errorf("PostEphemeral = %q; Ephemerals = %+v", ts, got)
	}
	if len(srv.Messages("C1")) != 0 {
		t.Error("an ephemeral message was recorded as a channel message")
	}
}

func TestServer_OpenView(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	api := newClient(srv, srv.Options().BotToken)
	view := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject("plain_text", "Reason", false, false),
		CallbackID:      "deny",
		PrivateMetadata: "req-1",
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("reason", slack.NewTextBlockObject("plain_text", "Why?", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "text")),
		}},
	}
	resp, err := api.OpenView("trig-1", view)
	if err != nil {
		t.Fatal(err)
	}
	if resp.View.ID == "" || resp.View.CallbackID != "deny" || resp.View.PrivateMetadata != "req-1" {
		t.Errorf("OpenView view = id %q callback %q metadata %q", resp.View.ID, resp.View.CallbackID, resp.View.PrivateMetadata)
	}
	views := srv.Views()
	if len(views) != 1 || views[0].TriggerID != "trig-1" || views[0].ID != resp.View.ID {
		t.Fatalf("Views = %+v", views)
	}
	var sent slack.ModalViewRequest
	if err := json.Unmarshal(views[0].View, &sent); err != nil || sent.CallbackID != "deny" {
		t.Errorf("recorded view %s (%v)", views[0].View, err)
	}
	if c := srv.Calls()[0]; c.Token != "bot" || c.Form.Get("trigger_id") != "trig-1" {
		t.Errorf("views.open call = %+v, want bot token and trigger_id decoded from JSON", c)
	}
}

func TestServer_GetUserGroupMembers(t *testing.T) {
	srv := newServer(t, slacktest.Options{Usergroups: map[string][]string{"S1": {"U1", "U2"}}})
	api := newClient(srv, srv.Options().BotToken)
	for _, tc := range []struct {
		group string
		want  []string
		err   string
	}{
		{"S1", []string{"U1", "U2"}, ""},
		{"S9", []string{}, "no_such_subteam"},
	} {
		t.Run(tc.group, func(t *testing.T) {
			got, err := api.GetUserGroupMembers(tc.group)
			if e := slackError(t, err); e != tc.err || !slices.Equal(got, tc.want) {
				t.Errorf("GetUserGroupMembers(%s) = %v, %q; want %v, %q", tc.group, got, e, tc.want, tc.err)
			}
		})
	}
}

func TestServer_GetConversationInfo(t *testing.T) {
	srv := newServer(t, slacktest.Options{Members: map[string]bool{"C1": true, "C2": false}})
	api := newClient(srv, srv.Options().BotToken)
	for _, tc := range []struct {
		channel    string
		wantMember bool
		err        string
	}{
		{"C1", true, ""},
		{"C2", false, ""},
		{"C3", false, "channel_not_found"},
	} {
		t.Run(tc.channel, func(t *testing.T) {
			ch, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: tc.channel})
			if e := slackError(t, err); e != tc.err {
				t.Fatalf("GetConversationInfo(%s) error = %q, want %q", tc.channel, e, tc.err)
			}
			if tc.err == "" && (ch.ID != tc.channel || ch.IsMember != tc.wantMember) {
				t.Errorf("GetConversationInfo(%s) = id %q member %v, want member %v", tc.channel, ch.ID, ch.IsMember, tc.wantMember)
			}
		})
	}
}

func TestServer_MissingScope(t *testing.T) {
	srv := newServer(t, slacktest.Options{BotScopes: []string{"channels:read", "commands"}, AppScopes: []string{}})
	api := newClient(srv, srv.Options().BotToken)

	_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "missing_scope" || se.Needed != "chat:write" || se.Provided != "channels:read,commands" {
		t.Errorf("PostMessage error = %#v, want missing_scope needing chat:write, providing channels:read,commands", err)
	}
	if _, err := api.GetUserGroupMembers("S1"); slackError(t, err) != "missing_scope" {
		t.Errorf("GetUserGroupMembers error = %v, want missing_scope", err)
	}
	if _, _, err := api.StartSocketModeContext(context.Background()); slackError(t, err) != "missing_scope" {
		t.Errorf("apps.connections.open error = %v, want missing_scope", err)
	}
	if _, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: "C1"}); err != nil {
		t.Errorf("GetConversationInfo with channels:read: %v", err)
	}
}

func TestServer_ResponseURL(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	api := newClient(srv, srv.Options().BotToken)
	url := srv.ResponseURL("cmd 1")
	_, _, err := api.PostMessage("", slack.MsgOptionResponseURL(url, slack.ResponseTypeEphemeral),
		slack.MsgOptionText("on it", false), slack.MsgOptionReplaceOriginal(url))
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Responses()
	if len(got) != 1 || got[0].ID != "cmd 1" || got[0].Text != "on it" || got[0].ResponseType != "ephemeral" || !got[0].ReplaceOriginal {
		t.Errorf("Responses = %+v", got)
	}
	if srv.CallCount("") != 0 {
		t.Error("a response_url post was recorded as a Web API call")
	}
}

// TestServer_RefusesOversizedMessages: what Slack refuses for its size is
// refused here too, on every method that takes a message.
func TestServer_RefusesOversizedMessages(t *testing.T) {
	section := func(n int) slack.Block {
		return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", n), false, false), nil, nil)
	}
	sections := func(count, n int) []slack.Block {
		out := make([]slack.Block, count)
		for i := range out {
			out[i] = section(n)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		text   string
		blocks []slack.Block
		want   string
	}{
		{"inside every limit", "hi", sections(4, slacktest.MaxBlockChars), ""},
		{"blocks too long together", "hi", sections(5, slacktest.MaxBlockChars), "msg_blocks_too_long"},
		{"one section too long", "hi", sections(1, slacktest.MaxBlockChars+1), "invalid_blocks"},
		{"too many blocks", "hi", sections(slacktest.MaxBlocks+1, 1), "invalid_blocks"},
		{"text too long", strings.Repeat("é", slacktest.MaxText+1), nil, "msg_too_long"},
		{"text at the limit", strings.Repeat("é", slacktest.MaxText), nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, slacktest.Options{})
			api := newClient(srv, srv.Options().BotToken)
			opts := []slack.MsgOption{slack.MsgOptionText(tc.text, false)}
			if tc.blocks != nil {
				opts = append(opts, slack.MsgOptionBlocks(tc.blocks...))
			}
			_, ts, err := api.PostMessage("C1", opts...)
			if got := slackError(t, err); got != tc.want {
				t.Fatalf("chat.postMessage: %q, want %q", got, tc.want)
			}
			if tc.want == "" {
				return
			}
			_, ts, _ = api.PostMessage("C1", slack.MsgOptionText("small", false))
			_, _, _, err = api.UpdateMessage("C1", ts, opts...)
			if got := slackError(t, err); got != tc.want {
				t.Errorf("chat.update: %q, want %q", got, tc.want)
			}
			_, err = api.PostEphemeral("C1", "U1", opts...)
			if got := slackError(t, err); got != tc.want {
				t.Errorf("chat.postEphemeral: %q, want %q", got, tc.want)
			}
		})
	}
}

// TestServer_ResponseURLLimits: a response_url takes five posts within 30
// minutes, then answers 404.
func TestServer_ResponseURLLimits(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	srv := newServer(t, slacktest.Options{Now: func() time.Time { return now }})
	post := func(u string) error {
		return slack.PostWebhookCustomHTTPContext(context.Background(), u, srv.HTTPClient(), &slack.WebhookMessage{Text: "hi"})
	}
	used := srv.ResponseURL("used")
	for i := range slacktest.ResponseURLUses {
		if err := post(used); err != nil {
			t.Fatalf("post %d: %v", i+1, err)
		}
	}
	var sc slack.StatusCodeError
	if err := post(used); !errors.As(err, &sc) || sc.Code != 404 {
		t.Errorf("post %d: %v, want 404", slacktest.ResponseURLUses+1, err)
	}
	late := srv.ResponseURL("late")
	now = now.Add(slacktest.ResponseURLLifetime - time.Second)
	if err := post(late); err != nil {
		t.Fatalf("a post within the lifetime: %v", err)
	}
	now = now.Add(time.Second)
	if err := post(late); !errors.As(err, &sc) || sc.Code != 404 {
		t.Errorf("a post after the lifetime: %v, want 404", err)
	}
}
