package policies

import (
	"errors"

	cs "github.com/countersign/countersign"
)

// Approve checks in.Approver's approval like CheckApproval and returns the
// approvals to record: the earlier ones, then the new one (its At left for
// the caller to set). When every line the approver could fill is full,
// Approve tries moving earlier approvers to other lines they are also
// members of; if a full assignment counts everyone, the approval is
// accepted and the returned approvals carry their new groups. Satisfied
// and Progress then count them as assigned. Errors are CheckApproval's.
func (e *Engine) Approve(d cs.Decision, in ApprovalInput) ([]cs.Approval, error) {
	group, err := e.CheckApproval(d, in)
	if err == nil {
		out := append(append([]cs.Approval(nil), in.Approvals...), cs.Approval{Actor: in.Approver, Group: group})
		return out, nil
	}
	if !errors.Is(err, ErrNotNeeded) || d.Verdict != cs.VerdictNeedsApproval {
		return nil, err
	}
	// Everyone who approved, and the newcomer last, with the lines each may fill.
	people := append(append([]cs.Approval(nil), in.Approvals...), cs.Approval{Actor: in.Approver})
	eligible := make([][]int, len(people))
	capacity := make([]int, len(d.Requires))
	for j, r := range d.Requires {
		capacity[j] = r.Count
		for p, a := range people {
			if e.inGroup(r.Group, a.Actor, in.Usergroups) {
				eligible[p] = append(eligible[p], j)
			}
		}
	}
	lines := assign(eligible, capacity)
	for _, l := range lines {
		if l < 0 {
			return nil, err // someone would no longer count: keep the refusal
		}
	}
	for p, l := range lines {
		people[p].Group = d.Requires[l].Group
	}
	return people, nil
}
