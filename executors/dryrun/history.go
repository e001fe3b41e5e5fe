package dryrun

import (
	"context"
	"fmt"
	"slices"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// History stands in for GitHub's compare in `countersign demo`: one line
// of history per repository (owner/name), oldest commit first. It knows
// nothing else: a commit off the line is not found, as GitHub answers
// 404 for a commit it does not have. Its comparisons link nowhere: its
// commits are made up.
type History map[string][]cs.Commit

var _ bot.Comparer = History(nil)

// Compare says how head stands to base on repo's line: ahead, behind or
// identical, with the first limit commits base..head. An unknown commit
// or repository gives an error wrapping cs.ErrNotFound.
func (h History) Compare(_ context.Context, repo, base, head string, limit int) (bot.Comparison, error) {
	line := h[repo]
	at := func(sha string) int {
		return slices.IndexFunc(line, func(c cs.Commit) bool { return strings.EqualFold(c.SHA, sha) })
	}
	b, hd := at(base), at(head)
	if b < 0 || hd < 0 {
		return bot.Comparison{}, fmt.Errorf("compare %s %s...%s: %w", repo, base, head, cs.ErrNotFound)
	}
	out := bot.Comparison{Status: cs.CompareIdentical}
	switch {
	case hd > b:
		out.Status, out.Ahead = cs.CompareAhead, hd-b
		out.Commits = slices.Clone(line[b+1 : b+1+min(hd-b, max(limit, 0))])
	case hd < b:
		out.Status, out.Behind = cs.CompareBehind, b-hd
	}
	return out, nil
}
