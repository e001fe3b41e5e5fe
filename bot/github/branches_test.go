package github_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
)

func TestClient_ReadBranch(t *testing.T) {
	gh := githubtest.New(githubtest.Options{Token: "ghp-read"})
	defer gh.Close()
	c, err := github.NewClient(github.Auth{Token: "ghp-read"}, github.Options{APIURL: gh.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sha := strings.Repeat("ab", 20)
	gh.SetBranch("acme/web", "release/1.x", githubtest.Commit{SHA: sha, Message: "Fix the thing\r\n\nLonger text", Author: "alice", Committer: "bob"})

	first, err := c.ReadBranch(ctx, "acme/web", "release/1.x", "")
	if err != nil {
		t.Fatal(err)
	}
	if first.NotModified || first.SHA != sha || first.Title != "Fix the thing" || first.Author != "alice" || first.Committer != "bob" ||
		!strings.HasSuffix(first.URL, "/acme/web/commit/"+sha) || first.ETag == "" ||
		first.RateRemaining != githubtest.DefaultRateLimit-1 || first.RateResetIn <= 0 {
		t.Errorf("first read = %+v", first)
	}
	again, err := c.ReadBranch(ctx, "acme/web", "release/1.x", first.ETag)
	if err != nil || !again.NotModified || again.ETag != first.ETag || again.SHA != "" {
		t.Errorf("unchanged read = %+v, %v; want NotModified with the same ETag", again, err)
	}
	if used := gh.Rate().Used; used != 1 {
		t.Errorf("rate limit used %d, want 1 (the 304 is free)", used)
	}

	for _, tc := range []struct {
		name, repo, branch, want string
	}{
		{"missing branch", "acme/web", "main", "GitHub does not show it"},
		{"not a repository", "acme", "main", "not a GitHub repository"},
		{"path in the name", "acme/../x", "main", "not a GitHub repository"},
		{"no branch", "acme/web", "", "no branch name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ReadBranch(ctx, tc.repo, tc.branch, "")
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "ghp-read") {
				t.Errorf("err = %v, want one that says %q", err, tc.want)
			}
		})
	}

	t.Run("a long message", func(t *testing.T) {
		gh.SetBranch("acme/web", "long", githubtest.Commit{SHA: sha, Message: strings.Repeat("é", 5000) + "\nbody", Author: strings.Repeat("a", 300)})
		read, err := c.ReadBranch(ctx, "acme/web", "long", "")
		if err != nil {
			t.Fatal(err)
		}
		if n := utf8.RuneCountInString(read.Title); n != bot.MaxCommitTitle || !strings.HasPrefix(read.Title, "éé") {
			t.Errorf("title of %d characters (%q…), want it cut to %d", n, read.Title[:10], bot.MaxCommitTitle)
		}
		if len(read.Author) >= 300 {
			t.Errorf("author login of %d bytes kept whole", len(read.Author))
		}
	})
	t.Run("secondary rate limit", func(t *testing.T) {
		gh.SecondaryRateLimit("/repos/", 1)
		_, err := c.ReadBranch(ctx, "acme/web", "release/1.x", first.ETag)
		var rl *bot.RateLimitedError
		if !errors.As(err, &rl) || rl.Wait <= 0 {
			t.Errorf("err = %v, want a *bot.RateLimitedError with a wait", err)
		}
	})
}
