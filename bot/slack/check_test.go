package slack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot/slack"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

func TestClient_CheckFailsLoudly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     slacktest.Options
		token    string
		socket   bool
		channels []string
		want     []string
	}{
		{name: "bad token", token: "xoxb-wrong", want: []string{"the bot token does not work", "invalid_auth", "xoxb-"}},
		{name: "missing scopes", opts: slacktest.Options{BotScopes: []string{"chat:write", "channels:read"}},
			want: []string{"lacks the scopes commands, usergroups:read", "reinstall"}},
		{name: "private channel needs groups:read", opts: slacktest.Options{BotScopes: []string{"chat:write", "commands", "usergroups:read", "channels:read"}},
			channels: []string{"G0PRIVATE"}, want: []string{"lacks the scopes groups:read"}},
		{name: "not in the channel", opts: slacktest.Options{Members: map[string]bool{"C0DEPLOYS": false}},
			channels: []string{"C0DEPLOYS"}, want: []string{"the bot is not in channel C0DEPLOYS", "/invite"}},
		{name: "unknown channel", opts: slacktest.Options{Members: map[string]bool{"C0OTHER": true}},
			channels: []string{"C0GONE"}, want: []string{"channel C0GONE cannot be read", "channel_not_found"}},
		{name: "unknown channel name", opts: slacktest.Options{ChannelNames: map[string]string{"C0DEPLOYS": "deploys"}},
			channels: []string{"#deploys", "#deplyos"}, want: []string{"channel #deplyos not found", "give its ID"}},
		{name: "not in the named channel", opts: slacktest.Options{Members: map[string]bool{"C0DEPLOYS": false}, ChannelNames: map[string]string{"C0DEPLOYS": "deploys"}},
			channels: []string{"#deploys"}, want: []string{"the bot is not in channel #deploys (C0DEPLOYS)", "/invite"}},
		{name: "names without channels:read", opts: slacktest.Options{BotScopes: []string{"chat:write", "commands", "usergroups:read"}, ChannelNames: map[string]string{"C0DEPLOYS": "deploys"}},
			channels: []string{"#deploys"}, want: []string{"channel names cannot be looked up (conversations.list: missing_scope: needs channels:read)"}},
		{name: "app token without connections:write", socket: true, opts: slacktest.Options{AppScopes: []string{}},
			want: []string{"Socket Mode cannot connect", "missing_scope", "connections:write"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.BotToken, tc.opts.AppToken = botToken, appToken
			srv := slacktest.New(tc.opts)
			defer srv.Close()
			token := botToken
			if tc.token != "" {
				token = tc.token
			}
			o := slack.Options{APIURL: srv.APIURL(), HTTPClient: srv.HTTPClient()}
			if tc.socket {
				o.AppToken = appToken
			}
			_, err := slack.NewClient(token, o).Check(context.Background(), tc.channels, tc.socket)
			if err == nil {
				t.Fatal("Check passed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, secret := range []string{botToken, appToken, "xoxb-wrong"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a token: %q", err)
				}
			}
		})
	}
}

func TestClient_CheckPasses(t *testing.T) {
	srv := slacktest.New(slacktest.Options{BotToken: botToken, AppToken: appToken, Members: map[string]bool{"C0DEPLOYS": true},
		ChannelNames: map[string]string{"C0DEPLOYS": "deploys"}})
	defer srv.Close()
	c := slack.NewClient(botToken, slack.Options{APIURL: srv.APIURL(), HTTPClient: srv.HTTPClient(), AppToken: appToken})
	id, err := c.Check(context.Background(), []string{"C0DEPLOYS", "#deploys", ""}, true)
	if err != nil {
		t.Fatal(err)
	}
	if id.UserID == "" || id.TeamID == "" {
		t.Errorf("identity = %+v", id)
	}
	if got := id.Channels["#deploys"]; got != "C0DEPLOYS" {
		t.Errorf("#deploys resolved to %q, want C0DEPLOYS", got)
	}
	if ok, _ := c.Healthy(); !ok {
		t.Error("not healthy after a good check")
	}
}

func TestIdentity_Permalink(t *testing.T) {
	ref := cs.MessageRef{ID: "m1", Channel: "C0DEPLOYS", TS: "1700000000.000100"}
	const want = "https://team.slack.com/archives/C0DEPLOYS/p1700000000000100"
	for _, tc := range []struct {
		name string
		url  string
		ref  cs.MessageRef
		want string
	}{
		{"workspace URL", "https://team.slack.com/", ref, want},
		{"no trailing slash", "https://team.slack.com", ref, want},
		{"no workspace URL", "", ref, ""},
		{"not delivered", "https://team.slack.com/", cs.MessageRef{ID: "m1", Channel: "C0DEPLOYS"}, ""},
		{"no channel", "https://team.slack.com/", cs.MessageRef{TS: "1700000000.000100"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (slack.Identity{URL: tc.url}).Permalink(tc.ref); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// A name on a later page of conversations.list is found, and a private
// channel's name with groups:read.
func TestClient_CheckResolvesNamesAcrossPages(t *testing.T) {
	names := map[string]string{"G0SECRET": "secret"}
	for i := range 450 {
		names[fmt.Sprintf("C%04d", i)] = fmt.Sprintf("chan-%d", i)
	}
	srv := slacktest.New(slacktest.Options{BotToken: botToken, ChannelNames: names})
	defer srv.Close()
	c := slack.NewClient(botToken, slack.Options{APIURL: srv.APIURL(), HTTPClient: srv.HTTPClient()})
	id, err := c.Check(context.Background(), []string{"#chan-449", "#Secret"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if id.Channels["#chan-449"] != "C0449" || id.Channels["#Secret"] != "G0SECRET" {
		t.Errorf("channels = %v", id.Channels)
	}
	var pages int
	for _, call := range srv.Calls() {
		if call.Method == "conversations.list" {
			pages++
		}
	}
	if pages != 3 {
		t.Errorf("%d pages read, want 3 (200 a page)", pages)
	}
}
