package countersign_test

import (
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
)

func TestChanges_Summary(t *testing.T) {
	from, to := strings.Repeat("a", 40), strings.Repeat("b", 40)
	three := make([]cs.Commit, 3)
	for _, tc := range []struct {
		name      string
		c         cs.Changes
		want      string
		unlisted  int
		downgrade bool
	}{
		{"unknown", cs.Changes{To: to, Unknown: "GitHub did not answer within 5s"}, "changes unknown: GitHub did not answer within 5s", 0, false},
		{"identical", cs.Changes{From: to, To: to, Status: cs.CompareIdentical}, "no changes: bbbbbbb already runs", 0, false},
		{"one", cs.Changes{From: from, To: to, Status: cs.CompareAhead, Ahead: 1, Commits: three[:1]}, "1 new commit since aaaaaaa, which runs now", 0, false},
		{"25, 3 listed", cs.Changes{From: from, To: to, Status: cs.CompareAhead, Ahead: 25, Commits: three}, "25 new commits since aaaaaaa, which runs now", 22, false},
		{"downgrade by one", cs.Changes{From: from, To: to, Status: cs.CompareBehind, Behind: 1, Commits: three[:1]},
			"downgrade: bbbbbbb is 1 commit behind aaaaaaa, which runs now; deploying it takes it away", 0, true},
		{"downgrade", cs.Changes{From: from, To: to, Status: cs.CompareBehind, Behind: 4, Commits: three},
			"downgrade: bbbbbbb is 4 commits behind aaaaaaa, which runs now; deploying it takes them away", 1, true},
		{"diverged", cs.Changes{From: from, To: to, Status: cs.CompareDiverged, Ahead: 2, Behind: 3, Commits: three[:2]},
			"diverged from aaaaaaa, which runs now: 2 new commits, and 3 commits of the running one dropped", 0, false},
		{"status GitHub adds later", cs.Changes{From: from, To: to, Status: "sideways"}, `changes unknown: GitHub compared aaaaaaa and bbbbbbb as "sideways"`, 0, false},
		{"unknown even if behind", cs.Changes{From: from, To: to, Status: cs.CompareBehind, Unknown: "x"}, "changes unknown: x", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Summary(); got != tc.want {
				t.Errorf("Summary() = %q, want %q", got, tc.want)
			}
			if got := tc.c.Unlisted(); got != tc.unlisted {
				t.Errorf("Unlisted() = %d, want %d", got, tc.unlisted)
			}
			if got := tc.c.Downgrade(); got != tc.downgrade {
				t.Errorf("Downgrade() = %v, want %v", got, tc.downgrade)
			}
		})
	}
	if (*cs.Changes)(nil).Downgrade() {
		t.Error("no changes is a downgrade")
	}
}
