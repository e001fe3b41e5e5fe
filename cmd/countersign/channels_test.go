package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack"
	"github.com/countersign/countersign/bot/slack/slacktest"
	"github.com/countersign/countersign/cmd/countersign/config"
)

func TestUseChannelIDs(t *testing.T) {
	bc := bot.Config{AuditChannel: "#audit", Services: []bot.Service{{Name: "a", Channel: "#deploys", Checks: bot.Checks{Channel: "#prs"}}, {Name: "b", Channel: "C0OTHER"}}}
	useChannelIDs(&bc, slack.Identity{Channels: map[string]string{"#deploys": "C0DEPLOYS", "#audit": "G0AUDIT", "#prs": "C0PRS"}})
	got := []string{bc.AuditChannel, bc.Services[0].Channel, bc.Services[1].Channel, bc.Services[0].Checks.Channel, bc.Services[1].Checks.Channel}
	if want := []string{"G0AUDIT", "C0DEPLOYS", "C0OTHER", "C0PRS", ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("channels = %v, want %v", got, want)
	}
}

// A channel name in the config is looked up at start; one Slack does not
// know stops start-up, naming it.
func TestNewServer_ChannelNames(t *testing.T) {
	for _, tc := range []struct {
		channel, want string
	}{
		{"'#deploys'", ""},
		{"'#deplyos'", "channel #deplyos not found"},
		{"C0DEPLOYS\n    pull_requests: true\n    pull_requests_channel: '#deploys'", ""},
		{"C0DEPLOYS\n    pull_requests: true\n    pull_requests_channel: '#prs'", "channel #prs not found"},
	} {
		t.Run(tc.channel, func(t *testing.T) {
			sl := slacktest.New(slacktest.Options{BotToken: "xoxb-test", ChannelNames: map[string]string{"C0DEPLOYS": "deploys"}})
			defer sl.Close()
			path := serveConfig(t, t.TempDir(), sl.APIURL(), "")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(b), "channel: C0DEPLOYS", "channel: "+tc.channel, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := newServer(context.Background(), cfg, true, slog.New(slog.NewTextHandler(io.Discard, nil)),
				serveDeps{SlackHTTP: sl.HTTPClient(), SlackDialer: sl.Dialer()})
			if err == nil {
				srv.Close()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("newServer: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("newServer = %v, want %q", err, tc.want)
			}
		})
	}
}
