package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	gh "github.com/google/go-github/v60/github"
)

// Need is what the config asks of GitHub for one repository. Each
// permission field says why it is needed ("commit statuses",
// "tarball for build: docker") and is empty when it is not.
type Need struct {
	Repo         string // owner/name
	Contents     string // Contents: read
	Statuses     string // Commit statuses: write
	Deployments  string // Deployments: write
	PullRequests string // Pull requests: read
}

// chkPerm is one repository permission a Need may ask for.
type chkPerm struct {
	name  string // as GitHub's settings show it
	key   string // as the API names it (an installation token's permissions)
	level string // "read" or "write"
	verb  string // what is refused: "read contents of"
	// scope is the classic scope besides repo that grants it on a private
	// repository ("" when only repo does).
	scope string
	// probe is a read-only path under /repos/{o}/{r}/ that needs it, for
	// fine-grained tokens, whose permissions GitHub does not list; %s is
	// the default branch.
	probe string
	why   func(Need) string
}

var chkPerms = []chkPerm{
	{"Contents", "contents", "read", "read contents of", "", "commits?per_page=1", func(n Need) string { return n.Contents }},
	{"Commit statuses", "statuses", "write", "write commit statuses of", "repo:status", "commits/%s/status", func(n Need) string { return n.Statuses }},
	{"Deployments", "deployments", "write", "create deployments of", "repo_deployment", "deployments?per_page=1", func(n Need) string { return n.Deployments }},
	{"Pull requests", "pull_requests", "read", "read pull requests of", "", "pulls?per_page=1", func(n Need) string { return n.PullRequests }},
}

// ErrCheckIncomplete is wrapped by Check's warnings when GitHub could not
// be asked (unreachable, 5xx, rate limited): start-up goes on, since a
// GitHub outage must not keep deploys from running.
var ErrCheckIncomplete = errors.New("github: the permission check could not finish")

// Check verifies at start-up, without changing anything, that the
// credentials work and may do what needs ask, and returns one error
// naming every missing permission ("GitHub token cannot read contents of
// acme/web: needs Contents: read (tarball for build: docker)"). What it
// could not ask is returned as warnings (each wrapping
// ErrCheckIncomplete), not as the error.
//
// How it knows: a classic token's scopes come in X-OAuth-Scopes, and
// GET /repos/{o}/{r} says whether the repository is private; an App
// installation's token comes with its permissions; a fine-grained
// token's permissions are not listed anywhere, so Check reads one
// endpoint per permission. Those reads prove read access only: a
// fine-grained token with Commit statuses or Deployments read-only passes
// the check and is refused at the first report.
func (c *Client) Check(ctx context.Context, needs []Need) (warnings []error, err error) {
	who := "GitHub token"
	app := c.installation()
	var appPerms map[string]string
	if app != nil {
		who = fmt.Sprintf("GitHub App installation %d", app.InstallationID())
		tctx, cancel := context.WithTimeout(ctx, c.timeout)
		_, err := app.Token(tctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("github: the GitHub App cannot get an installation token (check github.app_id, github.installation_id and github.private_key): %w", repClassify(err, nil))
		}
		if appPerms, err = chkAppPermissions(app.Permissions()); err != nil {
			return nil, fmt.Errorf("github: read the installation's permissions: %w", err)
		}
	}
	var problems []string
	for _, n := range needs {
		owner, name, err := repSplit(n.Repo)
		if err != nil {
			return nil, fmt.Errorf("github: %w", err)
		}
		repo, resp, err := c.gh.Repositories.Get(ctx, owner, name)
		scopes, classic := chkScopes(resp)
		switch status := chkStatus(err, resp); {
		case err == nil:
		case status == http.StatusUnauthorized:
			return nil, fmt.Errorf("github: the %s was refused (401 Bad credentials): check github.token (or the App's key)", who)
		case status == http.StatusNotFound || status == http.StatusForbidden && !chkRateLimited(err):
			problems = append(problems, fmt.Sprintf("%s cannot see %s (%d): %s", who, n.Repo, status, c.chkUnseen(classic, scopes)))
			continue
		default:
			warnings = append(warnings, fmt.Errorf("%w: read %s: %w", ErrCheckIncomplete, n.Repo, err))
			continue
		}
		for _, p := range chkPerms {
			why := p.why(n)
			if why == "" {
				continue
			}
			var ok bool
			switch {
			case app != nil:
				ok = chkLevel(appPerms[p.key], p.level)
			case classic:
				ok = chkScopeAllows(scopes, repo.GetPrivate(), p)
			default:
				if ok, err = c.chkProbe(ctx, owner, name, repo.GetDefaultBranch(), p); err != nil {
					warnings = append(warnings, fmt.Errorf("%w: %s %s: %w", ErrCheckIncomplete, p.verb, n.Repo, err))
					continue
				}
			}
			if !ok {
				problems = append(problems, fmt.Sprintf("%s cannot %s %s: needs %s: %s (%s)%s", who, p.verb, n.Repo, p.name, p.level, why, chkHint(app != nil, classic, p)))
			}
		}
	}
	if len(problems) > 0 {
		return warnings, errors.New("github: " + strings.Join(problems, "; "))
	}
	return warnings, nil
}

// chkUnseen says why a repository may be invisible to these credentials.
func (c *Client) chkUnseen(classic bool, scopes []string) string {
	switch {
	case c.installation() != nil:
		return "it does not exist, or the App is not installed on it: add it to the installation's repositories"
	case classic:
		return fmt.Sprintf("it does not exist, or it is private and the classic token lacks the repo scope (it has: %s)", chkList(scopes))
	}
	return "it does not exist, or it is not among the fine-grained token's repositories"
}

// chkHint is how to grant a missing permission to these credentials.
func chkHint(app, classic bool, p chkPerm) string {
	switch {
	case app:
		return ": add it under the App's Permissions and accept the change on the installation"
	case classic && p.scope != "":
		return fmt.Sprintf(": a classic token needs the repo or %s scope", p.scope)
	case classic:
		return ": a classic token needs the repo scope for a private repository"
	}
	return ": add it to the fine-grained token's repository permissions"
}

// chkProbe reads p.probe and reports whether GitHub allowed it: 403 is a
// missing permission; 404, 409 and 422 (no such branch, an empty
// repository) got past the permission check.
func (c *Client) chkProbe(ctx context.Context, owner, name, branch string, p chkPerm) (bool, error) {
	path := p.probe
	if strings.Contains(path, "%s") {
		path = fmt.Sprintf(path, url.PathEscape(branch))
	}
	req, err := c.gh.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/%s", owner, name, path), nil)
	if err != nil {
		return false, err
	}
	resp, err := c.gh.Do(ctx, req, nil)
	switch status := chkStatus(err, resp); {
	case err == nil:
		return true, nil
	case status == http.StatusForbidden && !chkRateLimited(err):
		return false, nil
	case status == http.StatusNotFound, status == http.StatusConflict, status == http.StatusUnprocessableEntity:
		return true, nil
	}
	return false, err
}

// chkScopes returns a classic token's scopes, and whether the answer
// carried X-OAuth-Scopes at all (fine-grained tokens and Apps get none).
func chkScopes(resp *gh.Response) ([]string, bool) {
	if resp == nil || resp.Response == nil {
		return nil, false
	}
	vals, ok := resp.Header[http.CanonicalHeaderKey("X-OAuth-Scopes")]
	if !ok {
		return nil, false
	}
	var scopes []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				scopes = append(scopes, s)
			}
		}
	}
	return scopes, true
}

// chkScopeAllows mirrors GitHub's scopes: repo grants everything, the
// narrow scope (repo:status, repo_deployment) its permission on any
// repository; a public repository can be read without a scope and
// written with public_repo.
func chkScopeAllows(scopes []string, private bool, p chkPerm) bool {
	switch {
	case slices.Contains(scopes, "repo"), p.scope != "" && slices.Contains(scopes, p.scope):
		return true
	case private:
		return false
	case p.level == "read":
		return true
	}
	return slices.Contains(scopes, "public_repo")
}

func chkLevel(have, want string) bool { return have == "write" || have == want }

// chkAppPermissions turns go-github's struct into key → level.
func chkAppPermissions(p gh.InstallationPermissions, err error) (map[string]string, error) {
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	return m, json.Unmarshal(b, &m)
}

func chkStatus(err error, resp *gh.Response) int {
	var er *gh.ErrorResponse
	switch {
	case errors.As(err, &er) && er.Response != nil:
		return er.Response.StatusCode
	case resp != nil && resp.Response != nil:
		return resp.StatusCode
	}
	return 0
}

func chkRateLimited(err error) bool {
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	return errors.As(err, &rl) || errors.As(err, &ab)
}

func chkList(s []string) string {
	if len(s) == 0 {
		return "no scopes"
	}
	return strings.Join(s, ", ")
}
