package dryrun

import (
	"errors"
	"fmt"
	"testing"

	cs "github.com/countersign/countersign"
)

func TestHistory_Compare(t *testing.T) {
	var line []cs.Commit
	for i := range 6 {
		line = append(line, cs.Commit{SHA: fmt.Sprintf("%040d", i), Title: fmt.Sprint("change ", i)})
	}
	h := History{"o/r": line}
	for _, tc := range []struct {
		name, repo, base, head string
		limit                  int
		status                 string
		ahead, behind          int
		first                  string
		listed                 int
		notFound               bool
	}{
		{name: "identical", repo: "o/r", base: line[2].SHA, head: line[2].SHA, limit: 20, status: cs.CompareIdentical},
		{name: "ahead", repo: "o/r", base: line[1].SHA, head: line[4].SHA, limit: 20, status: cs.CompareAhead, ahead: 3, first: line[2].SHA, listed: 3},
		{name: "ahead, capped", repo: "o/r", base: line[0].SHA, head: line[5].SHA, limit: 2, status: cs.CompareAhead, ahead: 5, first: line[1].SHA, listed: 2},
		{name: "behind", repo: "o/r", base: line[4].SHA, head: line[1].SHA, limit: 20, status: cs.CompareBehind, behind: 3},
		{name: "unknown commit", repo: "o/r", base: line[4].SHA, head: "dead", limit: 20, notFound: true},
		{name: "unknown repository", repo: "o/x", base: line[0].SHA, head: line[1].SHA, limit: 20, notFound: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Compare(t.Context(), tc.repo, tc.base, tc.head, tc.limit)
			if tc.notFound {
				if !errors.Is(err, cs.ErrNotFound) {
					t.Fatalf("err = %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.status || got.Ahead != tc.ahead || got.Behind != tc.behind || len(got.Commits) != tc.listed {
				t.Fatalf("got %s +%d -%d, %d commits; want %s +%d -%d, %d", got.Status, got.Ahead, got.Behind, len(got.Commits), tc.status, tc.ahead, tc.behind, tc.listed)
			}
			if tc.listed > 0 && got.Commits[0].SHA != tc.first {
				t.Errorf("first commit %s, want %s", got.Commits[0].SHA, tc.first)
			}
		})
	}
}
