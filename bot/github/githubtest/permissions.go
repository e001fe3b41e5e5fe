package githubtest

import (
	"net/http"
	"slices"
	"strings"
)

// Repo is a repository the server knows (see [Options.Repos]).
type Repo struct {
	Private       bool
	DefaultBranch string // default "main"
}

// The permissions the server checks, by their GitHub App and
// fine-grained token names, and the levels.
const (
	PermContents     = "contents"
	PermStatuses     = "statuses"
	PermDeployments  = "deployments"
	PermPullRequests = "pull_requests"
	PermMetadata     = "metadata"
	Read             = "read"
	Write            = "write"
)

// DefaultScopes are a classic token's scopes when [Options.Scopes] is nil.
func DefaultScopes() []string { return []string{"repo"} }

// DefaultAppPermissions are an installation's permissions when
// [Options.AppPermissions] is nil.
func DefaultAppPermissions() map[string]string {
	return map[string]string{PermContents: Read, PermDeployments: Write, PermMetadata: Read, PermStatuses: Write, PermActions: Read}
}

// credKind is what kind of credential authenticated a call.
type credKind int

const (
	credClassic     credKind = iota // Options.Token without FineGrained
	credFineGrained                 // Options.Token with FineGrained
	credApp                         // an installation token
)

func (s *Server) kindOf(cred string) credKind {
	switch {
	case cred != s.opts.Token:
		return credApp
	case s.opts.FineGrained != nil:
		return credFineGrained
	}
	return credClassic
}

// repo returns the repository owner/name, if the server knows it.
func (s *Server) repo(name string) (Repo, bool) {
	if s.opts.Repos == nil {
		return Repo{Private: true, DefaultBranch: "main"}, true
	}
	r, ok := s.opts.Repos[name]
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	return r, ok
}

// authorize answers as GitHub does when cred may not use perm at level
// on repo, and reports whether it may: an unknown repository, or a
// private one a classic token has no repo scope for, is 404 (GitHub does
// not say it exists); a fine-grained token or an installation without
// the permission gets 403 "Resource not accessible by …". A classic
// token's scopes go in X-OAuth-Scopes on every answer, as GitHub sends
// them.
func (s *Server) authorize(w http.ResponseWriter, repo, cred, perm, level string) bool {
	kind := s.kindOf(cred)
	if kind == credClassic {
		w.Header().Set("X-OAuth-Scopes", strings.Join(s.opts.Scopes, ", "))
	}
	r, ok := s.repo(repo)
	if !ok {
		notFound(w)
		return false
	}
	switch kind {
	case credClassic:
		if !scopesAllow(s.opts.Scopes, r.Private, perm, level) {
			notFound(w)
			return false
		}
	case credFineGrained:
		if !levelAllows(s.opts.FineGrained[perm], level) && perm != PermMetadata {
			writeJSON(w, http.StatusForbidden, errorBody("Resource not accessible by personal access token"))
			return false
		}
	case credApp:
		if !levelAllows(s.opts.AppPermissions[perm], level) && perm != PermMetadata {
			writeJSON(w, http.StatusForbidden, errorBody("Resource not accessible by integration"))
			return false
		}
	}
	return true
}

func levelAllows(have, want string) bool {
	return have == Write || have == want && want == Read
}

// scopesAllow says whether a classic token with scopes may use perm at
// level: repo covers everything; repo:status and repo_deployment cover
// statuses and deployments on any repository; public_repo covers writes
// on public ones; reading a public repository needs no scope.
func scopesAllow(scopes []string, private bool, perm, level string) bool {
	has := func(s string) bool { return slices.Contains(scopes, s) }
	switch {
	case has("repo"):
		return true
	case perm == PermStatuses && has("repo:status"), perm == PermDeployments && has("repo_deployment"):
		return true
	case private:
		return false
	case level == Read:
		return true
	}
	return has("public_repo")
}
