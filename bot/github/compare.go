package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	gh "github.com/google/go-github/v60/github"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

var _ bot.Comparer = (*Client)(nil)

var cmpSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Compare asks GitHub how head stands to base in repo (GET
// /repos/{o}/{r}/compare/{base}...{head}) and returns the first limit
// commits of base..head, oldest first, as GitHub's compare lists them
// (one page of limit, so that a comparison of thousands of commits costs
// no more than one of three). base and head must be full SHAs. A commit
// or repository GitHub does not know (404, also for commits without a
// common ancestor) gives an error wrapping cs.ErrNotFound; other refusals
// wrap bot.ErrChatRejected, as reports do.
func (c *Client) Compare(ctx context.Context, repo, base, head string, limit int) (bot.Comparison, error) {
	owner, name, err := repSplit(repo)
	if err != nil {
		return bot.Comparison{}, err
	}
	if !cmpSHA.MatchString(base) || !cmpSHA.MatchString(head) {
		return bot.Comparison{}, repRejectf("compare %s: %q and %q must be full commit SHAs", repo, base, head)
	}
	// GitHub pages at most 100 commits; 0 would mean its default.
	per := min(max(limit, 1), 100)
	got, resp, err := c.gh.Repositories.CompareCommits(ctx, owner, name, base, head, &gh.ListOptions{PerPage: per})
	if err != nil {
		var er *gh.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w: %w", cs.ErrNotFound, err)
		}
		return bot.Comparison{}, fmt.Errorf("compare %s %s...%s: %w", repo, repShort(base), repShort(head), repClassify(err, resp))
	}
	out := bot.Comparison{Status: got.GetStatus(), Ahead: got.GetAheadBy(), Behind: got.GetBehindBy(), URL: got.GetHTMLURL()}
	if !repWebURL(out.URL) {
		out.URL = ""
	}
	for _, k := range got.Commits[:min(len(got.Commits), max(limit, 0))] {
		out.Commits = append(out.Commits, cs.Commit{SHA: k.GetSHA(), Title: k.GetCommit().GetMessage(),
			Login: k.GetAuthor().GetLogin(), Name: k.GetCommit().GetAuthor().GetName()})
	}
	return out, nil
}
