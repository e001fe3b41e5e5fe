package githubtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Delivery is a webhook delivery as GitHub sends it: the event, its
// delivery ID and the exact body that is signed.
type Delivery struct {
	Event string // X-GitHub-Event
	ID    string // X-GitHub-Delivery
	Body  []byte
}

// Request returns d as a POST to url, signed with secret in
// X-Hub-Signature-256 as GitHub signs it (HMAC-SHA256 of the body).
func (d Delivery) Request(url, secret string) (*http.Request, error) {
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return nil, fmt.Errorf("delivery %s: %w", d.ID, err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(d.Body)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "GitHub-Hookshot/githubtest")
	r.Header.Set("X-GitHub-Event", d.Event)
	r.Header.Set("X-GitHub-Delivery", d.ID)
	r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	return r, nil
}

// PullRequest is what a pull_request delivery says about a pull request.
type PullRequest struct {
	Action string // opened, synchronize, reopened, closed, …
	Number int
	Repo   string // the base repository, owner/name
	Base   string // the base branch (default main)
	// HeadRepo is the head's repository (default Repo; another one for
	// a fork). "-" sends "repo": null, as GitHub does once the fork is
	// deleted.
	HeadRepo string
	HeadRef  string // the head branch
	HeadSHA  string
	Title    string
	Sender   string // sender.login (default the head repository's owner)
}

// PullRequestDelivery returns the pull_request delivery id of pr, in the
// shape GitHub sends (the fields a client reads; GitHub sends many more).
// It panics on what GitHub never sends: no action, number, repository or
// head SHA.
func PullRequestDelivery(id string, pr PullRequest) Delivery {
	if pr.Action == "" || pr.Number <= 0 || !strings.Contains(pr.Repo, "/") || pr.HeadSHA == "" {
		panic(fmt.Sprintf("githubtest: GitHub never sends a pull_request delivery like %+v", pr))
	}
	if pr.Base == "" {
		pr.Base = "main"
	}
	if pr.HeadRepo == "" {
		pr.HeadRepo = pr.Repo
	}
	if pr.Sender == "" {
		pr.Sender, _, _ = strings.Cut(pr.HeadRepo, "/")
	}
	repo := func(full string) any {
		if full == "-" {
			return nil
		}
		owner, name, _ := strings.Cut(full, "/")
		return map[string]any{"name": name, "full_name": full, "owner": map[string]any{"login": owner},
			"fork": full != pr.Repo, "html_url": "https://github.com/" + full}
	}
	headOwner, _, _ := strings.Cut(pr.HeadRepo, "/")
	body := map[string]any{
		"action": pr.Action,
		"number": pr.Number,
		"pull_request": map[string]any{
			"number": pr.Number, "state": "open", "title": pr.Title,
			"html_url": fmt.Sprintf("https://github.com/%s/pull/%d", pr.Repo, pr.Number),
			"head":     map[string]any{"label": headOwner + ":" + pr.HeadRef, "ref": pr.HeadRef, "sha": pr.HeadSHA, "repo": repo(pr.HeadRepo)},
			"base":     map[string]any{"ref": pr.Base, "repo": repo(pr.Repo)},
		},
		"repository": repo(pr.Repo),
		"sender":     map[string]any{"login": pr.Sender},
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // maps of strings and numbers
	}
	return Delivery{Event: "pull_request", ID: id, Body: b}
}
