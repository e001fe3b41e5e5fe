package github

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gh "github.com/google/go-github/v60/github"
)

// TestPushPayload_ReadsWhatGoGithubReads decodes real push deliveries and
// edge shapes both ways: pushPayload must give every field the intake
// uses as go-github's PushEvent does, and fail where it fails on them.
func TestPushPayload_ReadsWhatGoGithubReads(t *testing.T) {
	payloads := map[string][]byte{}
	files, err := filepath.Glob("testdata/push-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no push fixtures: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		payloads[f] = b
	}
	for name, b := range map[string]string{
		"nulls":                  `{"ref":null,"before":null,"after":null,"deleted":null,"repository":null,"pusher":null,"sender":null,"head_commit":null}`,
		"empty":                  `{}`,
		"head commit, no author": `{"ref":"refs/heads/x","head_commit":{"id":"abc","message":"m\nbody","url":"u"}}`,
		"wrong type ref":         `{"ref":42}`,
		"wrong type deleted":     `{"deleted":"yes"}`,
		"wrong type head":        `{"head_commit":"abc"}`,
		"wrong type username":    `{"head_commit":{"author":{"username":7}}}`,
		"not JSON":               `{"ref":`,
	} {
		payloads[name] = []byte(b)
	}
	decoders := map[string]func([]byte, *pushPayload) error{
		"decode":         func(b []byte, p *pushPayload) error { return p.decode(b) },
		"json.Unmarshal": func(b []byte, p *pushPayload) error { return json.Unmarshal(b, p) },
	}
	for name, b := range payloads {
		for how, decode := range decoders {
			pushPayloadAgrees(t, name+" ("+how+")", b, decode)
		}
	}
}

// pushPayloadAgrees checks that decode reads b as go-github does.
func pushPayloadAgrees(t *testing.T, name string, b []byte, decode func([]byte, *pushPayload) error) {
	t.Helper()
	var ours pushPayload
	ourErr := decode(b, &ours)
	parsed, theirErr := gh.ParseWebHook("push", b)
	if (ourErr != nil) != (theirErr != nil) {
		t.Errorf("%s: pushPayload error %v, go-github error %v", name, ourErr, theirErr)
		return
	}
	if ourErr != nil {
		return
	}
	ev := parsed.(*gh.PushEvent)
	got := []any{ours.Ref, ours.Before, ours.After, ours.Deleted, ours.Repository.FullName, ours.Pusher.Name, ours.Sender.Login, ours.HeadCommit == nil}
	want := []any{ev.GetRef(), ev.GetBefore(), ev.GetAfter(), ev.GetDeleted(), ev.GetRepo().GetFullName(), ev.GetPusher().GetName(), ev.GetSender().GetLogin(), ev.HeadCommit == nil}
	if ours.HeadCommit != nil {
		hc := ev.HeadCommit
		got = append(got, ours.HeadCommit.ID, ours.HeadCommit.Message, ours.HeadCommit.URL, ours.HeadCommit.Author.Username)
		want = append(want, hc.GetID(), hc.GetMessage(), hc.GetURL(), hc.GetAuthor().GetLogin())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: field %d = %#v, go-github reads %#v", name, i, got[i], want[i])
		}
	}
	if strings.HasPrefix(name, "testdata/push-branch-created.json") && (ours.HeadCommit == nil || ours.HeadCommit.ID == "" || ours.Repository.FullName == "") {
		t.Errorf("%s: read nothing: %+v", name, ours)
	}
}
