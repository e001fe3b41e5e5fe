package slack_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/countersign/countersign/bot/slack"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// countersign_slack_connected says what /healthz says (Adapter.Connected),
// in HTTP mode too, where it used to stay 0.
func TestMetrics_ConnectedIsHealthz(t *testing.T) {
	srv := slacktest.New(slacktest.Options{BotToken: botToken})
	defer srv.Close()
	reg := prometheus.NewRegistry()
	m := slack.NewMetrics(reg)
	c := slack.NewClient(botToken, slack.Options{APIURL: srv.APIURL(), HTTPClient: srv.HTTPClient(), Metrics: m})
	a := slack.NewAdapter(c, nil, slack.Config{Command: "/cs", SigningSecret: signingSecret})
	defer a.Close()
	gauge := func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "countersign_slack_connected" && len(mf.GetMetric()) == 1 {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no countersign_slack_connected")
		return 0
	}
	if _, err := c.Check(context.Background(), nil, false); err != nil {
		t.Fatal(err)
	}
	if !a.Connected() || gauge() != 1 {
		t.Errorf("after a good call: Connected %v, gauge %v; want true and 1", a.Connected(), gauge())
	}
	srv.Down()
	c.Check(context.Background(), nil, false)
	if a.Connected() || gauge() != 0 {
		t.Errorf("with Slack down: Connected %v, gauge %v; want false and 0", a.Connected(), gauge())
	}
}
