package policies

import (
	"errors"
	"fmt"
	"strings"

	cs "github.com/countersign/countersign"
)

// Errors CheckApproval wraps; callers branch on them with errors.Is.
var (
	ErrSelfApproval    = errors.New("requester cannot approve their own request")
	ErrAuthorApproval  = errors.New("commit author cannot approve the deploy of their commit")
	ErrAlreadyApproved = errors.New("already approved")
	ErrNotApprover     = errors.New("not an approver")
	ErrNotNeeded       = errors.New("approval not needed")
	// ErrStalePolicy: the decision was made under another policy version
	// (the config changed since); the request has to be decided again.
	ErrStalePolicy = errors.New("decision was made under other policies")
)

// ApprovalInput is an approval to check.
type ApprovalInput struct {
	Approver  cs.Actor
	Requester cs.Actor
	// Author is the chat user of the commit's author, or "".
	Author cs.Actor
	// Approvals are those already granted, in order, each with the group
	// CheckApproval returned for it.
	Approvals []cs.Approval
	// Usergroups are the Slack user groups resolved by ID (may be nil).
	Usergroups map[string][]cs.Actor
}

// CheckApproval reports whether in.Approver may add an approval to a
// request that got decision d, and the requirement line (group name) it
// counts towards; record that group in the cs.Approval, since Satisfied
// and Progress count approvals by it.
//
// Errors wrap ErrStalePolicy (d is from another policy version),
// ErrNotNeeded (d needs no approval, or every line the approver could fill
// is full), ErrSelfApproval, ErrAuthorApproval, ErrAlreadyApproved or
// ErrNotApprover (in none of the lines' groups); the messages name the
// groups and are fit for chat.
//
// Approvals already recorded keep their lines. When the approver could
// fill several lines, CheckApproval picks the one that leaves the others
// most completable by the people who have not approved yet (a bipartite
// matching over the groups' members), then the earlier line.
func (e *Engine) CheckApproval(d cs.Decision, in ApprovalInput) (group string, err error) {
	who := in.Approver
	switch {
	case d.PolicyVersion != e.version:
		return "", fmt.Errorf("%w: decided under policy version %s, now %s; ask again", ErrStalePolicy, short(d.PolicyVersion), short(e.version))
	case d.Verdict != cs.VerdictNeedsApproval || len(d.Requires) == 0:
		return "", fmt.Errorf("%w: the decision was %s", ErrNotNeeded, d.Verdict)
	case who == "":
		return "", fmt.Errorf("%w: no approver given", ErrNotApprover)
	case who == in.Requester:
		return "", fmt.Errorf("%w: %s asked for it", ErrSelfApproval, who)
	case in.Author != "" && who == in.Author:
		return "", fmt.Errorf("%w: %s wrote the commit", ErrAuthorApproval, who)
	}
	for _, a := range in.Approvals {
		if a.Actor == who {
			return "", fmt.Errorf("%w: %s approved already", ErrAlreadyApproved, who)
		}
	}

	t := tallyApprovals(d.Requires, in.Approvals)
	var member, open []int
	for j, r := range d.Requires {
		if e.inGroup(r.Group, who, in.Usergroups) {
			member = append(member, j)
			if t.room(j) > 0 {
				open = append(open, j)
			}
		}
	}
	if len(member) == 0 {
		return "", fmt.Errorf("%w: %s is not in %s", ErrNotApprover, who, groupList(d.Requires))
	}
	if len(open) == 0 {
		full := make([]string, len(member))
		groups := make([]string, len(member))
		for i, j := range member {
			groups[i] = d.Requires[j].Group
			full[i] = fmt.Sprintf("%s already has %d of %d%s", d.Requires[j].Group, len(t.filled[j]), d.Requires[j].Count, mentions(t.filled[j]))
		}
		// Say what is still missing, so that "not needed" is not read as
		// "the request needs nothing more".
		var missing []string
		for j, r := range d.Requires {
			if t.room(j) > 0 {
				missing = append(missing, fmt.Sprintf("%s %d/%d", r.Group, len(t.filled[j]), r.Count))
			}
		}
		still := ""
		if len(missing) > 0 {
			still = "; it still needs " + strings.Join(missing, ", ") + " from someone in those groups"
		}
		return "", fmt.Errorf("%w from %s: %s%s", ErrNotNeeded, strings.Join(groups, " or "), strings.Join(full, "; "), still)
	}
	return d.Requires[e.bestLine(d.Requires, t, open, in)].Group, nil
}

// bestLine picks, of the open lines, the one after which the people who
// may still approve can fill the most remaining places.
func (e *Engine) bestLine(reqs []cs.Requirement, t tally, open []int, in ApprovalInput) int {
	out := map[cs.Actor]bool{in.Approver: true, in.Requester: true}
	if in.Author != "" {
		out[in.Author] = true
	}
	for _, a := range in.Approvals {
		out[a.Actor] = true
	}
	var eligible [][]int
	index := map[cs.Actor]int{}
	for j, r := range reqs {
		for _, a := range e.groupActors(r.Group, in.Usergroups) {
			if out[a] {
				continue
			}
			i, ok := index[a]
			if !ok {
				i = len(eligible)
				index[a] = i
				eligible = append(eligible, nil)
			}
			eligible[i] = append(eligible[i], j)
		}
	}
	best, bestFilled := open[0], -1
	for _, j := range open {
		capacity := make([]int, len(reqs))
		for k := range reqs {
			capacity[k] = t.room(k)
		}
		capacity[j]--
		filled := 0
		for _, line := range assign(eligible, capacity) {
			if line >= 0 {
				filled++
			}
		}
		if filled > bestFilled {
			best, bestFilled = j, filled
		}
	}
	return best
}

// Satisfied reports whether approvals meet every line of d.Requires:
// distinct approvers, each counted once, towards the group recorded in
// their approval. An allow decision is satisfied as it is; a deny never is.
func Satisfied(d cs.Decision, approvals []cs.Approval) bool {
	switch d.Verdict {
	case cs.VerdictAllow:
		return true
	case cs.VerdictNeedsApproval:
		return len(d.Requires) > 0 && tallyApprovals(d.Requires, approvals).complete()
	}
	return false
}

// Progress describes how far approvals are for chat, counted as Satisfied
// counts them: "1 of 2 approvals: ops 1/1 (@U1), www-owners 0/1".
func Progress(d cs.Decision, approvals []cs.Approval) string {
	switch {
	case d.Verdict == cs.VerdictAllow:
		return "no approval needed"
	case d.Verdict != cs.VerdictNeedsApproval:
		return "denied by policy"
	case len(d.Requires) == 0:
		return "no approval can be counted"
	}
	t := tallyApprovals(d.Requires, approvals)
	need := 0
	parts := make([]string, len(d.Requires))
	for j, r := range d.Requires {
		need += r.Count
		parts[j] = fmt.Sprintf("%s %d/%d%s", r.Group, len(t.filled[j]), r.Count, mentions(t.filled[j]))
	}
	noun := "approvals"
	if need == 1 {
		noun = "approval"
	}
	return fmt.Sprintf("%d of %d %s: %s", t.counted(), need, noun, strings.Join(parts, ", "))
}

// mentions renders " (@U1, @U2)", or "" for nobody.
func mentions(actors []cs.Actor) string {
	if len(actors) == 0 {
		return ""
	}
	s := make([]string, len(actors))
	for i, a := range actors {
		s[i] = "@" + string(a)
	}
	return " (" + strings.Join(s, ", ") + ")"
}

// groupList renders "ops", "ops or www-owners", "a, b or c".
func groupList(reqs []cs.Requirement) string {
	names := make([]string, len(reqs))
	for i, r := range reqs {
		names[i] = r.Group
	}
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
