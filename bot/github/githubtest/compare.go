package githubtest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// history is one repository's commits, in the order added (parents first).
type history struct {
	order []string
	by    map[string]Commit
}

// maxUnpaged is how many commits a comparison lists without page or
// per_page, as on GitHub; maxPerPage bounds per_page.
const (
	maxUnpaged     = 250
	maxPerPage     = 100
	defaultPerPage = 30
)

// AddCommits adds commits to repo's history, parents before children. It
// panics on a malformed SHA or an unknown parent: the test is wrong.
func (s *Server) AddCommits(repo string, commits ...Commit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.histories == nil {
		s.histories = map[string]*history{}
	}
	key := strings.ToLower(repo)
	h := s.histories[key]
	if h == nil {
		h = &history{by: map[string]Commit{}}
		s.histories[key] = h
	}
	for _, c := range commits {
		if !shaRE.MatchString(c.SHA) {
			panic(fmt.Sprintf("githubtest: commit %q: not a full lower-case SHA", c.SHA))
		}
		for _, p := range c.Parents {
			if _, ok := h.by[p]; !ok {
				panic(fmt.Sprintf("githubtest: commit %s: parent %s not added yet", c.SHA, p))
			}
		}
		if _, ok := h.by[c.SHA]; !ok {
			h.order = append(h.order, c.SHA)
		}
		h.by[c.SHA] = c
	}
}

// compare answers GET /repos/{o}/{r}/compare/{base}...{head}: 404 for a
// commit it does not know or two without a common ancestor; otherwise
// the status, ahead_by and behind_by from the history, and the commits
// of base..head oldest first (250 at most, or one page of per_page).
func (s *Server) compare(w http.ResponseWriter, r *http.Request, repo, basehead string) {
	// The answer is written after s.mu is let go: writing takes it too.
	status, body := s.comparison(r, repo, basehead)
	writeJSON(w, status, body)
}

// comparison is compare's answer.
func (s *Server) comparison(r *http.Request, repo, basehead string) (int, map[string]any) {
	base, head, ok := strings.Cut(basehead, "...")
	if !ok {
		return http.StatusNotFound, errorBody("Not Found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.histories[strings.ToLower(repo)]
	if h == nil {
		return http.StatusNotFound, errorBody("Not Found")
	}
	b, okb := h.resolve(base)
	hd, okh := h.resolve(head)
	if !okb || !okh {
		return http.StatusNotFound, errorBody("Not Found")
	}
	inBase, inHead := h.ancestors(b), h.ancestors(hd)
	var ahead []string
	behind, mergeBase := 0, ""
	for _, sha := range h.order {
		switch {
		case inHead[sha] && !inBase[sha]:
			ahead = append(ahead, sha)
		case inBase[sha] && !inHead[sha]:
			behind++
		case inBase[sha] && inHead[sha]:
			mergeBase = sha
		}
	}
	if mergeBase == "" {
		return http.StatusNotFound, errorBody(fmt.Sprintf("No common ancestor between %s and %s.", base, head))
	}
	status := "diverged"
	switch {
	case len(ahead) == 0 && behind == 0:
		status = "identical"
	case behind == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}
	page, ok := pageOf(r.URL.Query(), ahead)
	if !ok {
		return http.StatusUnprocessableEntity, errorBody("Invalid page or per_page")
	}
	list := make([]any, len(page))
	for i, sha := range page {
		list[i] = s.commitJSON(repo, h.by[sha])
	}
	web := s.api.URL + "/" + repo + "/compare/"
	return http.StatusOK, map[string]any{
		"url":               s.api.URL + apiPrefix + "/repos/" + repo + "/compare/" + basehead,
		"html_url":          web + basehead,
		"permalink_url":     web + b + "..." + hd,
		"status":            status,
		"ahead_by":          len(ahead),
		"behind_by":         behind,
		"total_commits":     len(ahead),
		"base_commit":       s.commitJSON(repo, h.by[b]),
		"merge_base_commit": s.commitJSON(repo, h.by[mergeBase]),
		"commits":           list,
		"files":             []any{},
	}
}

// pageOf is the part of commits the query asks for: without page and
// per_page the first maxUnpaged, else that page (per_page clamped to
// maxPerPage, as GitHub does).
func pageOf(q url.Values, commits []string) ([]string, bool) {
	if !q.Has("page") && !q.Has("per_page") {
		return commits[:min(len(commits), maxUnpaged)], true
	}
	per, page := defaultPerPage, 1
	var err error
	if v := q.Get("per_page"); v != "" {
		if per, err = strconv.Atoi(v); err != nil || per < 1 {
			return nil, false
		}
	}
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return nil, false
		}
	}
	per = min(per, maxPerPage)
	from := min((page-1)*per, len(commits))
	return commits[from:min(from+per, len(commits))], true
}

// resolve finds a commit by its SHA or a unique prefix of at least 7.
func (h *history) resolve(ref string) (string, bool) {
	ref = strings.ToLower(ref)
	if _, ok := h.by[ref]; ok {
		return ref, true
	}
	if len(ref) < 7 {
		return "", false
	}
	found := ""
	for _, sha := range h.order {
		if strings.HasPrefix(sha, ref) {
			if found != "" {
				return "", false
			}
			found = sha
		}
	}
	return found, found != ""
}

// ancestors is sha and everything reachable from it.
func (h *history) ancestors(sha string) map[string]bool {
	seen := map[string]bool{}
	todo := []string{sha}
	for len(todo) > 0 {
		c := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[c] {
			continue
		}
		seen[c] = true
		todo = append(todo, h.by[c].Parents...)
	}
	return seen
}

// commitJSON is a commit as the compare endpoint lists it.
func (s *Server) commitJSON(repo string, c Commit) map[string]any {
	parents := make([]any, len(c.Parents))
	for i, p := range c.Parents {
		parents[i] = map[string]string{"sha": p}
	}
	var author any // null when GitHub matches no account
	if c.Author != "" {
		author = map[string]any{"login": c.Author, "type": "User"}
	}
	return map[string]any{
		"sha":      c.SHA,
		"html_url": s.api.URL + "/" + repo + "/commit/" + c.SHA,
		"commit": map[string]any{
			"message": c.Message,
			"author":  map[string]any{"name": c.AuthorName, "email": "someone@example.org", "date": time.Unix(0, 0).UTC().Format(time.RFC3339)},
		},
		"author":  author,
		"parents": parents,
	}
}
