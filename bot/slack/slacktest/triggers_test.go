package slacktest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/countersign/countersign/bot/slack/slacktest"
)

func TestServer_TriggerExpires(t *testing.T) {
	srv := newServer(t, slacktest.Options{Usergroups: map[string][]string{"S1": {"U1"}}})
	api := newClient(srv, srv.Options().BotToken)
	view := slack.ModalViewRequest{Type: slack.VTModal, ExternalID: "x1",
		Title: slack.NewTextBlockObject(slack.PlainTextType, "t", false, false)}

	late := srv.Trigger()
	fresh := srv.Trigger()
	srv.Slow("usergroups.users.list", 1, 2*time.Second)
	if _, err := api.GetUserGroupMembers("S1"); err != nil {
		t.Fatal(err)
	}
	if _, err := api.OpenView(fresh, view); err != nil {
		t.Fatalf("OpenView 2 s after the trigger: %v", err)
	}
	srv.Slow("usergroups.users.list", 1, 2*time.Second)
	if _, err := api.GetUserGroupMembers("S1"); err != nil {
		t.Fatal(err)
	}
	if _, err := api.OpenView(late, view); slackError(t, err) != "expired_trigger_id" {
		t.Errorf("OpenView 4 s after the trigger = %v, want expired_trigger_id", err)
	}
	if _, err := api.OpenView("made-elsewhere", view); err != nil {
		t.Errorf("OpenView with a trigger the server did not make: %v", err)
	}
}

func TestServer_UpdateView(t *testing.T) {
	srv := newServer(t, slacktest.Options{})
	api := newClient(srv, srv.Options().BotToken)
	title := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	if _, err := api.OpenView(srv.Trigger(), slack.ModalViewRequest{Type: slack.VTModal, ExternalID: "x1", Title: title("first")}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.UpdateView(slack.ModalViewRequest{Type: slack.VTModal, Title: title("second")}, "x1", "", ""); err != nil {
		t.Fatalf("UpdateView by external_id: %v", err)
	}
	if v := srv.Views(); len(v) != 1 || !strings.Contains(string(v[0].View), "second") {
		t.Errorf("views = %+v, want the one view replaced", v)
	}
	if _, err := api.UpdateView(slack.ModalViewRequest{Type: slack.VTModal, Title: title("x")}, "nope", "", ""); slackError(t, err) != "not_found" {
		t.Errorf("UpdateView of an unknown view = %v, want not_found", err)
	}
}
