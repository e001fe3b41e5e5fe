package githubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
)

// Commit is a commit as the fake serves it: a branch's head, or one of
// a repository's history for compare (AddCommits).
type Commit struct {
	SHA     string // 40 lower-case hex digits
	Message string
	// Author and Committer are GitHub logins; "" serves "author": null,
	// as GitHub does for an email address no account has.
	Author, Committer string
	// AuthorName is the name in the commit itself (compare only).
	AuthorName string
	// Parents are commits added before (AddCommits); none for a root commit.
	Parents []string
}

// SetBranch makes repo's branch point at c: GET
// /repos/{owner}/{repo}/branches/{branch} serves it, with an ETag that
// changes with the head. It panics on a SHA that is not 40 hex digits.
func (s *Server) SetBranch(repo, branch string, c Commit) {
	if !shaRE.MatchString(c.SHA) {
		panic("githubtest: SetBranch: not a commit SHA: " + c.SHA)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.branches == nil {
		s.branches = make(map[string]Commit)
	}
	s.branches[strings.ToLower(repo)+"\x00"+branch] = c
}

// DeleteBranch removes repo's branch: reading it answers 404.
func (s *Server) DeleteBranch(repo, branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.branches, strings.ToLower(repo)+"\x00"+branch)
}

// getBranch answers GET /repos/{o}/{r}/branches/{branch} as GitHub does:
// 200 with the branch and a weak ETag, 304 without a body when
// If-None-Match names the current ETag (not counted against the rate
// limit), 404 "Branch not found" for a branch the repository lacks and
// "Not Found" for a repository the fake has no branch of.
func (s *Server) getBranch(w http.ResponseWriter, r *http.Request, repo, branch string) {
	s.mu.Lock()
	c, ok := s.branches[strings.ToLower(repo)+"\x00"+branch]
	known := false
	for k := range s.branches {
		if strings.HasPrefix(k, strings.ToLower(repo)+"\x00") {
			known = true
			break
		}
	}
	s.mu.Unlock()
	switch {
	case !known:
		notFound(w)
		return
	case !ok:
		writeJSON(w, http.StatusNotFound, map[string]string{
			"message":           "Branch not found",
			"documentation_url": "https://docs.github.com/rest/branches/branches#get-a-branch",
			"status":            "404",
		})
		return
	}
	body, err := json.Marshal(s.branchJSON(repo, branch, c))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(body)
	etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
	h.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(append(body, '\n'))
}

// etagMatches is If-None-Match's weak comparison: any listed tag, with or
// without W/, equal to etag's opaque part, or "*".
func etagMatches(header, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || (t != "" && strings.TrimPrefix(t, "W/") == want) {
			return true
		}
	}
	return false
}

// branchJSON is the branch in the shape of GitHub's "branch with
// protection", with what the fake knows.
func (s *Server) branchJSON(repo, branch string, c Commit) map[string]any {
	api := s.URL() + "repos/" + repo
	web := s.api.URL + "/" + repo
	user := func(login string) any {
		if login == "" {
			return nil
		}
		return map[string]any{"login": login, "type": "User", "html_url": s.api.URL + "/" + login}
	}
	person := func(login string) map[string]string {
		name := login
		if name == "" {
			name = "someone"
		}
		return map[string]string{"name": name, "email": name + "@example.com", "date": "2026-01-01T00:00:00Z"}
	}
	return map[string]any{
		"name": branch,
		"commit": map[string]any{
			"sha":      c.SHA,
			"url":      api + "/commits/" + c.SHA,
			"html_url": web + "/commit/" + c.SHA,
			"commit": map[string]any{
				"author":    person(c.Author),
				"committer": person(c.Committer),
				"message":   c.Message,
				"url":       api + "/git/commits/" + c.SHA,
			},
			"author":    user(c.Author),
			"committer": user(c.Committer),
			"parents":   []any{},
		},
		"_links":         map[string]string{"self": api + "/branches/" + branch, "html": web + "/tree/" + branch},
		"protected":      false,
		"protection":     map[string]any{"enabled": false, "required_status_checks": map[string]any{"enforcement_level": "off", "contexts": []string{}, "checks": []any{}}},
		"protection_url": api + "/branches/" + branch + "/protection",
	}
}
