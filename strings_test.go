package countersign_test

import (
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
)

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"Fix the build", 200, "Fix the build"},
		{"abcdef", 6, "abcdef"},
		{"abcdefg", 6, "abcde…"},
		{"ééééééé", 4, "ééé…"}, // counted in characters, cut between them
		{"ab\xffcd", 10, "ab\uFFFDcd"},
		{"abc", 0, ""},
		{strings.Repeat("x", 20<<20), 200, strings.Repeat("x", 199) + "…"},
	} {
		if got := cs.Clip(tc.s, tc.n); got != tc.want {
			t.Errorf("Clip(%.20q, %d) = %.40q, want %.40q", tc.s, tc.n, got, tc.want)
		}
	}
}
