package githubtest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/countersign/countersign/bot/github/githubtest"
)

// line adds a main line of n commits to o/r and returns their SHAs.
func line(srv *githubtest.Server, n int) []string {
	shas := make([]string, n)
	for i := range shas {
		shas[i] = fmt.Sprintf("%08x", i+1) + strings.Repeat("0", 32)
		c := githubtest.Commit{SHA: shas[i], Message: fmt.Sprintf("commit %d", i), Author: "alice"}
		if i > 0 {
			c.Parents = []string{shas[i-1]}
		}
		srv.AddCommits("o/r", c)
	}
	return shas
}

func TestServer_Compare(t *testing.T) {
	srv := newServer(t, githubtest.Options{Token: token})
	shas := line(srv, 301)
	auth := "Bearer " + token
	url := func(base, head, query string) string {
		return srv.URL() + "repos/o/r/compare/" + base + "..." + head + query
	}
	for _, tc := range []struct {
		name, url    string
		status       int
		listed       int
		first, state string
		ahead, total float64
	}{
		{"unpaged lists 250 of 300", url(shas[0], shas[300], ""), http.StatusOK, 250, shas[1], "ahead", 300, 300},
		{"one page", url(shas[0], shas[300], "?per_page=20"), http.StatusOK, 20, shas[1], "ahead", 300, 300},
		{"second page", url(shas[0], shas[300], "?per_page=20&page=2"), http.StatusOK, 20, shas[21], "ahead", 300, 300},
		{"per_page above 100", url(shas[0], shas[300], "?per_page=500"), http.StatusOK, 100, shas[1], "ahead", 300, 300},
		{"short shas", url(shas[0][:8], shas[3][:8], ""), http.StatusOK, 3, shas[1], "ahead", 3, 3},
		{"behind", url(shas[5], shas[2], ""), http.StatusOK, 0, "", "behind", 0, 0},
		{"unknown commit", url(shas[0], strings.Repeat("e", 40), ""), http.StatusNotFound, 0, "", "", 0, 0},
		{"two dots", srv.URL() + "repos/o/r/compare/" + shas[0] + ".." + shas[2], http.StatusNotFound, 0, "", "", 0, 0},
		{"unknown repository", srv.URL() + "repos/o/other/compare/" + shas[0] + "..." + shas[2], http.StatusNotFound, 0, "", "", 0, 0},
		{"bad page", url(shas[0], shas[3], "?page=0"), http.StatusUnprocessableEntity, 0, "", "", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, http.MethodGet, tc.url, auth, "")
			if status != tc.status {
				t.Fatalf("status %d, want %d (%v)", status, tc.status, body["message"])
			}
			if status != http.StatusOK {
				return
			}
			commits, _ := body["commits"].([]any)
			if len(commits) != tc.listed || body["status"] != tc.state || body["ahead_by"] != tc.ahead || body["total_commits"] != tc.total {
				t.Fatalf("%d commits, status %v, ahead_by %v, total %v; want %d, %s, %v, %v",
					len(commits), body["status"], body["ahead_by"], body["total_commits"], tc.listed, tc.state, tc.ahead, tc.total)
			}
			if tc.listed > 0 {
				if sha := commits[0].(map[string]any)["sha"]; sha != tc.first {
					t.Errorf("first commit %v, want %s", sha, tc.first)
				}
			}
		})
	}
	if status, _ := call(t, http.MethodGet, url(shas[0], shas[1], ""), "", ""); status != http.StatusUnauthorized {
		t.Errorf("without credentials: %d, want 401", status)
	}
}
