package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

var _ bot.BranchReader = (*Client)(nil)

// secondaryWait is how long to hold off after a secondary rate limit
// that gave no Retry-After (GitHub asks for at least a minute).
const secondaryWait = time.Minute

// ReadBranch reads the head of repo's branch (bot.BranchReader): GET
// /repos/{owner}/{repo}/branches/{branch}, with If-None-Match: etag when
// etag is set, so that an unchanged head is answered 304 and costs no
// rate limit (go-github's GetBranch cannot send it). A spent primary or
// secondary rate limit, as GitHub answers it or as go-github remembers it
// from an earlier answer, is a *bot.RateLimitedError; a branch or
// repository GitHub does not show (404) is an error that says so.
func (c *Client) ReadBranch(ctx context.Context, repo, branch, etag string) (bot.HeadRead, error) {
	owner, name, err := repSplit(repo)
	if err != nil {
		return bot.HeadRead{}, fmt.Errorf("read branch: %w", err)
	}
	if branch == "" {
		return bot.HeadRead{}, errors.New("read branch: no branch name")
	}
	req, err := c.gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/branches/%s", owner, name, url.PathEscape(branch)), nil)
	if err != nil {
		return bot.HeadRead{}, fmt.Errorf("read branch %s of %s: %w", branch, repo, err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	var b gh.Branch
	resp, err := c.gh.Do(ctx, req, &b)
	var read bot.HeadRead
	if resp != nil && resp.Response != nil {
		if reset := resp.Rate.Reset.Time; !reset.IsZero() {
			read.RateRemaining, read.RateResetIn = resp.Rate.Remaining, max(time.Until(reset), 0)
		}
		if resp.StatusCode == http.StatusNotModified {
			read.NotModified, read.ETag = true, etag
			return read, nil
		}
	}
	if err != nil {
		return bot.HeadRead{}, branchError(repo, branch, err)
	}
	sha := strings.ToLower(b.GetCommit().GetSHA())
	if !repSHARE.MatchString(sha) {
		return bot.HeadRead{}, fmt.Errorf("read branch %s of %s: GitHub gave no commit SHA", branch, repo)
	}
	// Bounded as a webhook's are: a commit message can be megabytes.
	title, _, _ := strings.Cut(b.GetCommit().GetCommit().GetMessage(), "\n")
	read.ETag, read.SHA = hookClip(resp.Header.Get("ETag")), sha
	read.Title = cs.Clip(strings.TrimSuffix(title, "\r"), bot.MaxCommitTitle)
	read.Author, read.Committer = hookName(b.GetCommit().GetAuthor().GetLogin()), hookName(b.GetCommit().GetCommitter().GetLogin())
	if u := b.GetCommit().GetHTMLURL(); len(u) <= hookMaxURL {
		read.URL = u
	}
	return read, nil
}

// branchError says what went wrong with a read, as a
// *bot.RateLimitedError for GitHub's rate limits.
func branchError(repo, branch string, err error) error {
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	switch {
	case errors.As(err, &rl):
		return &bot.RateLimitedError{Wait: max(time.Until(rl.Rate.Reset.Time), 0), Err: fmt.Errorf("read branch %s of %s: %w", branch, repo, err)}
	case errors.As(err, &ab):
		wait := secondaryWait
		if ab.RetryAfter != nil && *ab.RetryAfter > 0 {
			wait = *ab.RetryAfter
		}
		return &bot.RateLimitedError{Wait: wait, Err: fmt.Errorf("read branch %s of %s: %w", branch, repo, err)}
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound:
		return fmt.Errorf("read branch %s of %s: GitHub does not show it (deleted, renamed, or the credentials cannot read the repository): %w", branch, repo, err)
	}
	return fmt.Errorf("read branch %s of %s: %w", branch, repo, err)
}
