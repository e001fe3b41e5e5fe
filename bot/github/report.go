package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"

	"github.com/countersign/countersign/bot"
)

var _ bot.Reporter = (*Client)(nil)

// repMaxDescription is GitHub's limit on status descriptions, in
// characters.
const repMaxDescription = 140

var (
	// repOwnerRE and repNameRE are GitHub's account and repository names;
	// checking them keeps a stray "/", "?" or ".." out of the URL path.
	repOwnerRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repNameRE  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	// repSHARE is a full SHA-1 or SHA-256 commit ID.
	repSHARE = regexp.MustCompile(`^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$`)
)

// Report sends r to GitHub (bot.Reporter): a commit status (POST
// /repos/{o}/{r}/statuses/{sha}), a deployment of r.SHA (POST
// /repos/{o}/{r}/deployments; it returns GitHub's deployment ID in
// decimal), an answer to a deployment protection rule (POST
// /repos/{o}/{r}/actions/runs/{run}/deployment_protection_rule, GitHub
// App installations only; it returns "answered"), or a deployment status (POST
// /repos/{o}/{r}/deployments/{id}/statuses, where
// r.DeploymentStatus.Deployment must by now be GitHub's numeric ID).
//
// Descriptions are cut to 140 characters, target and log URLs that are
// not http(s) are left out. Deployments are created with auto_merge
// false and no required contexts, so GitHub neither merges the default
// branch into the commit nor waits for its other statuses; a 202 Accepted
// is tried again a few times, a second apart, then returned as a plain
// error.
//
// Errors that retrying will not fix match bot.ErrChatRejected: a
// malformed report, and GitHub answering any 4xx but a rate limit (403
// with the rate limit headers), 408 and 429, on the call or on the App's
// token exchange. Rate limits, 408, 429, 5xx and network errors are
// plain; after a
// rate limit go-github fails calls at once, with the same plain error,
// until GitHub's reset time. No error carries a credential.
func (c *Client) Report(ctx context.Context, r bot.Report) (string, error) {
	owner, name, err := repSplit(r.Repo)
	if err != nil {
		return "", fmt.Errorf("report to GitHub: %w", err)
	}
	n := 0
	for _, set := range []bool{r.Status != nil, r.Deployment != nil, r.DeploymentStatus != nil, r.Gate != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return "", repRejectf("report to %s: %d of Status, Deployment, DeploymentStatus and Gate are set, want exactly one", r.Repo, n)
	}
	switch {
	case r.Status != nil:
		return "", c.repStatus(ctx, owner, name, r.SHA, r.Status)
	case r.Deployment != nil:
		return c.repDeployment(ctx, owner, name, r.SHA, r.Deployment)
	case r.Gate != nil:
		return c.repGate(ctx, owner, name, r.Gate)
	default:
		return "", c.repDeploymentStatus(ctx, owner, name, r.DeploymentStatus)
	}
}

func (c *Client) repStatus(ctx context.Context, owner, name, sha string, s *bot.CommitStatus) error {
	if !repSHARE.MatchString(sha) {
		return repRejectf("report status %s of %s/%s: %q is not a full commit SHA", s.Context, owner, name, sha)
	}
	st := &gh.RepoStatus{
		Context: gh.String(s.Context),
		State:   gh.String(string(s.State)),
	}
	if s.Description != "" {
		st.Description = gh.String(repCut(s.Description))
	}
	if repWebURL(s.TargetURL) {
		st.TargetURL = gh.String(s.TargetURL)
	} else if s.TargetURL != "" {
		c.log.Debug("github: leaving out a target_url that is not http(s)", "repo", owner+"/"+name, "context", s.Context)
	}
	_, resp, err := c.gh.Repositories.CreateStatus(ctx, owner, name, sha, st)
	if err != nil {
		return fmt.Errorf("report status %s of %s/%s@%s: %w", s.Context, owner, name, repShort(sha), repClassify(err, resp))
	}
	return nil
}

func (c *Client) repDeployment(ctx context.Context, owner, name, sha string, d *bot.Deployment) (string, error) {
	if !repSHARE.MatchString(sha) {
		return "", repRejectf("create deployment of %s/%s to %s: %q is not a full commit SHA", owner, name, d.Environment, sha)
	}
	req := &gh.DeploymentRequest{
		Ref: gh.String(sha),
		// false and a pointer to an empty list: otherwise GitHub merges
		// the default branch in first (202) or wants every other status
		// on the commit green, our own pending ones included (409).
		AutoMerge:        gh.Bool(false),
		RequiredContexts: &[]string{},
	}
	if d.Environment != "" {
		req.Environment = gh.String(d.Environment)
	}
	if d.Description != "" {
		req.Description = gh.String(repCut(d.Description))
	}
	if len(d.Payload) > 0 {
		req.Payload = d.Payload // a nil map would be sent as null
	}
	for attempt := 1; ; attempt++ {
		dep, resp, err := c.gh.Repositories.CreateDeployment(ctx, owner, name, req)
		var accepted *gh.AcceptedError
		if errors.As(err, &accepted) {
			if attempt > c.acceptedRetries {
				return "", fmt.Errorf("create deployment of %s/%s@%s to %s: GitHub answered 202 Accepted %d times%s: %w",
					owner, name, repShort(sha), d.Environment, attempt, repAcceptedMessage(accepted), err)
			}
			c.log.Info("github: deployment answered 202 Accepted, trying again",
				"repo", owner+"/"+name, "sha", sha, "environment", d.Environment, "attempt", attempt)
			t := time.NewTimer(c.acceptedWait)
			select {
			case <-ctx.Done():
				t.Stop()
				return "", fmt.Errorf("create deployment of %s/%s@%s to %s: %w", owner, name, repShort(sha), d.Environment, ctx.Err())
			case <-t.C:
			}
			continue
		}
		if err != nil {
			return "", fmt.Errorf("create deployment of %s/%s@%s to %s: %w", owner, name, repShort(sha), d.Environment, repClassify(err, resp))
		}
		if dep.GetID() == 0 {
			return "", fmt.Errorf("create deployment of %s/%s@%s to %s: GitHub returned no deployment ID", owner, name, repShort(sha), d.Environment)
		}
		return strconv.FormatInt(dep.GetID(), 10), nil
	}
}

// repAcceptedMessage returns GitHub's reason for a 202, for the error.
func repAcceptedMessage(e *gh.AcceptedError) string {
	var body struct{ Message string }
	if json.Unmarshal(e.Raw, &body) != nil || body.Message == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", repCut(body.Message))
}

func (c *Client) repDeploymentStatus(ctx context.Context, owner, name string, ds *bot.DeploymentStatus) error {
	id, err := strconv.ParseInt(ds.Deployment, 10, 64)
	if err != nil || id <= 0 {
		return repRejectf("report deployment status %s to %s/%s: deployment %q is not a GitHub deployment ID", ds.State, owner, name, ds.Deployment)
	}
	req := &gh.DeploymentStatusRequest{State: gh.String(ds.State)}
	if ds.Description != "" {
		req.Description = gh.String(repCut(ds.Description))
	}
	if repWebURL(ds.LogURL) {
		req.LogURL = gh.String(ds.LogURL)
	} else if ds.LogURL != "" {
		c.log.Debug("github: leaving out a log_url that is not http(s)", "repo", owner+"/"+name, "deployment", id)
	}
	_, resp, err := c.gh.Repositories.CreateDeploymentStatus(ctx, owner, name, id, req)
	if err != nil {
		return fmt.Errorf("report deployment status %s of %s/%s deployment %d: %w", ds.State, owner, name, id, repClassify(err, resp))
	}
	return nil
}

// repSplit splits "owner/name"; a malformed repo is rejected.
func repSplit(repo string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || !repOwnerRE.MatchString(owner) || !repNameRE.MatchString(name) || name == "." || name == ".." {
		return "", "", repRejectf("%q is not a GitHub repository (owner/name)", repo)
	}
	return owner, name, nil
}

// repCut cuts s to GitHub's 140 characters, at a rune boundary, ending
// a cut string in "…".
func repCut(s string) string {
	if utf8.RuneCountInString(s) <= repMaxDescription {
		return s
	}
	n := 0
	for i := range s {
		if n == repMaxDescription-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// repWebURL reports whether u is an absolute http(s) URL.
func repWebURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

// repShort is a SHA as people read it.
func repShort(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
