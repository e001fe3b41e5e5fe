package github_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github/githubtest"
)

// cmpSHA is the n-th commit of cmpHistory's main line.
func cmpSHA(n int) string { return fmt.Sprintf("%040x", n+1) }

// cmpSide is the commit of a side branch off main's third commit.
var cmpSide = strings.Repeat("b", 40)

// cmpOrphan is a root commit with no ancestor in common with main.
var cmpOrphan = strings.Repeat("f", 40)

// cmpHistory gives srv a main line of 31 commits (cmpSHA(0) … cmpSHA(30)),
// a side branch off cmpSHA(3), and an unrelated root.
func cmpHistory(srv *githubtest.Server) {
	srv.AddCommits(repRepo, githubtest.Commit{SHA: cmpSHA(0), Message: "initial", Author: "alice", AuthorName: "Alice"})
	for i := 1; i <= 30; i++ {
		c := githubtest.Commit{SHA: cmpSHA(i), Parents: []string{cmpSHA(i - 1)}, Message: fmt.Sprintf("change %d\n\nwhy it matters", i), Author: "alice", AuthorName: "Alice"}
		if i%2 == 0 {
			c.Author, c.AuthorName = "", "Bob Unmapped" // no GitHub account matches the e-mail
		}
		srv.AddCommits(repRepo, c)
	}
	srv.AddCommits(repRepo,
		githubtest.Commit{SHA: cmpSide, Parents: []string{cmpSHA(3)}, Message: "side", Author: "carol"},
		githubtest.Commit{SHA: cmpOrphan, Message: "unrelated"})
}

func TestClient_Compare(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	cmpHistory(srv)
	c := repClient(t, srv)
	for _, tc := range []struct {
		name                string
		base, head          string
		status              string
		ahead, behind, list int
		first               string
	}{
		{"no commits", cmpSHA(4), cmpSHA(4), cs.CompareIdentical, 0, 0, 0, ""},
		{"three commits", cmpSHA(2), cmpSHA(5), cs.CompareAhead, 3, 0, 3, cmpSHA(3)},
		{"25 commits, 20 listed", cmpSHA(5), cmpSHA(30), cs.CompareAhead, 25, 0, 20, cmpSHA(6)},
		{"behind", cmpSHA(9), cmpSHA(6), cs.CompareBehind, 0, 3, 0, ""},
		{"diverged", cmpSHA(5), cmpSide, cs.CompareDiverged, 1, 2, 1, cmpSide},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Compare(repCtx(t), repRepo, tc.base, tc.head, cs.MaxChanges)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.status || got.Ahead != tc.ahead || got.Behind != tc.behind || len(got.Commits) != tc.list {
				t.Fatalf("Compare = %s, ahead %d, behind %d, %d commits; want %s, %d, %d, %d",
					got.Status, got.Ahead, got.Behind, len(got.Commits), tc.status, tc.ahead, tc.behind, tc.list)
			}
			if tc.list > 0 && got.Commits[0].SHA != tc.first {
				t.Errorf("first commit %s, want %s (oldest first)", got.Commits[0].SHA, tc.first)
			}
			if !strings.Contains(got.URL, "/"+repRepo+"/compare/"+tc.base+"..."+tc.head) {
				t.Errorf("URL = %q, want the comparison's page", got.URL)
			}
		})
	}
}

func TestClient_CompareCommits(t *testing.T) {
	srv := repServer(t, githubtest.Options{})
	cmpHistory(srv)
	got, err := repClient(t, srv).Compare(repCtx(t), repRepo, cmpSHA(0), cmpSHA(2), cs.MaxChanges)
	if err != nil {
		t.Fatal(err)
	}
	want := []cs.Commit{
		{SHA: cmpSHA(1), Title: "change 1\n\nwhy it matters", Login: "alice", Name: "Alice"},
		{SHA: cmpSHA(2), Title: "change 2\n\nwhy it matters", Name: "Bob Unmapped"},
	}
	if fmt.Sprint(got.Commits) != fmt.Sprint(want) {
		t.Errorf("Commits =\n%+v\nwant\n%+v", got.Commits, want)
	}
}

func TestClient_CompareErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       githubtest.Options
		fail       int // status injected
		base, head string
		notFound   bool
		rejected   bool
	}{
		{name: "unknown commit", base: cmpSHA(1), head: strings.Repeat("e", 40), notFound: true, rejected: true},
		{name: "no common ancestor", base: cmpSHA(1), head: cmpOrphan, notFound: true, rejected: true},
		{name: "short sha", base: cmpSHA(1), head: "abc1234", rejected: true},
		{name: "no contents permission", opts: githubtest.Options{FineGrained: map[string]string{"statuses": "write"}},
			base: cmpSHA(1), head: cmpSHA(2), rejected: true},
		{name: "github down", fail: http.StatusServiceUnavailable, base: cmpSHA(1), head: cmpSHA(2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := repServer(t, tc.opts)
			cmpHistory(srv)
			if tc.fail != 0 {
				srv.Fail("/repos/", 1, tc.fail)
			}
			_, err := repClient(t, srv).Compare(repCtx(t), repRepo, tc.base, tc.head, cs.MaxChanges)
			if err == nil {
				t.Fatal("Compare succeeded")
			}
			repNoSecret(t, err, repToken)
			if got := errors.Is(err, cs.ErrNotFound); got != tc.notFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tc.notFound)
			}
			if got := errors.Is(err, bot.ErrChatRejected); got != tc.rejected {
				t.Errorf("errors.Is(%v, ErrChatRejected) = %v, want %v", err, got, tc.rejected)
			}
		})
	}
}
