package githubtest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	gh "github.com/google/go-github/v60/github"

	"github.com/countersign/countersign/bot/github/githubtest"
)

func TestPullRequestDelivery_ParsesAndVerifiesAsGitHubs(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	d := githubtest.PullRequestDelivery("d1", githubtest.PullRequest{Action: "synchronize", Number: 3, Repo: "org/app",
		HeadRepo: "fork/app", HeadRef: "topic", HeadSHA: sha, Title: "T"})
	r, err := d.Request("http://countersign.test/webhooks/github", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	if got, want := r.Header.Get("X-Hub-Signature-256"), "sha256="+hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
	if r.Header.Get("X-GitHub-Event") != "pull_request" || r.Header.Get("X-GitHub-Delivery") != "d1" {
		t.Errorf("headers %v", r.Header)
	}
	ev, err := gh.ParseWebHook("pull_request", body)
	if err != nil {
		t.Fatal(err)
	}
	pr := ev.(*gh.PullRequestEvent)
	head := pr.GetPullRequest().GetHead()
	if pr.GetAction() != "synchronize" || pr.GetNumber() != 3 || pr.GetRepo().GetFullName() != "org/app" ||
		head.GetSHA() != sha || head.GetRef() != "topic" || head.GetRepo().GetFullName() != "fork/app" || pr.GetSender().GetLogin() != "fork" {
		t.Errorf("parsed %s", body)
	}
	deleted := githubtest.PullRequestDelivery("d2", githubtest.PullRequest{Action: "opened", Number: 3, Repo: "org/app", HeadRepo: "-", HeadSHA: sha})
	if !strings.Contains(string(deleted.Body), `"repo":null`) {
		t.Errorf("a deleted fork's head: %s", deleted.Body)
	}
}

func TestPullRequestDelivery_RefusesWhatGitHubNeverSends(t *testing.T) {
	for _, pr := range []githubtest.PullRequest{
		{Number: 1, Repo: "org/app", HeadSHA: "ab"},
		{Action: "opened", Repo: "org/app", HeadSHA: "ab"},
		{Action: "opened", Number: 1, Repo: "app", HeadSHA: "ab"},
		{Action: "opened", Number: 1, Repo: "org/app"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%+v: no panic", pr)
				}
			}()
			githubtest.PullRequestDelivery("d", pr)
		}()
	}
	if _, err := (githubtest.Delivery{ID: "d"}).Request("http://bad host/", "s"); err == nil {
		t.Error("a bad URL: no error")
	}
}
