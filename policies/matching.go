package policies

import (
	cs "github.com/countersign/countersign"
)

// assign finds a largest assignment of people to requirement lines: person
// i may take a place on any line in eligible[i]; line j has capacity[j]
// places. It returns each person's line, -1 for those left out.
//
// It is Kuhn's augmenting-path matching over unit places: a person who
// finds every place taken may move an earlier one to another line they
// are eligible for. People are placed in order, lines tried in order, so
// the result is deterministic. The sizes here are a handful of people.
func assign(eligible [][]int, capacity []int) []int {
	first := make([]int, len(capacity)+1) // places of line j: first[j] .. first[j+1]-1
	for j, n := range capacity {
		first[j+1] = first[j] + max(n, 0)
	}
	holder := make([]int, first[len(capacity)])
	for s := range holder {
		holder[s] = -1
	}
	var place func(p int, seen []bool) bool
	place = func(p int, seen []bool) bool {
		for _, j := range eligible[p] {
			for s := first[j]; s < first[j+1]; s++ {
				if seen[s] {
					continue
				}
				seen[s] = true
				if holder[s] < 0 || place(holder[s], seen) {
					holder[s] = p
					return true
				}
			}
		}
		return false
	}
	for p := range eligible {
		place(p, make([]bool, len(holder)))
	}
	line := make([]int, len(eligible))
	for p := range line {
		line[p] = -1
	}
	for j := range capacity {
		for s := first[j]; s < first[j+1]; s++ {
			if holder[s] >= 0 {
				line[holder[s]] = j
			}
		}
	}
	return line
}

// tally is who counts towards which line of a decision's requirements.
type tally struct {
	reqs   []cs.Requirement
	filled [][]cs.Actor // per line, in the order of the approvals
}

// tallyApprovals counts approvals against reqs. An approval counts towards
// the line of the group it was recorded for (cs.Approval.Group); each
// approver counts once, however often they appear, and a line takes no
// more than its count. If an approver appears under several groups, the
// matching puts them where they complete the most lines.
func tallyApprovals(reqs []cs.Requirement, approvals []cs.Approval) tally {
	var people []cs.Actor
	var eligible [][]int
	index := map[cs.Actor]int{}
	for _, a := range approvals {
		if a.Actor == "" {
			continue
		}
		i, ok := index[a.Actor]
		if !ok {
			i = len(people)
			index[a.Actor] = i
			people = append(people, a.Actor)
			eligible = append(eligible, nil)
		}
		for j, r := range reqs {
			if r.Group == a.Group && !containsInt(eligible[i], j) {
				eligible[i] = append(eligible[i], j)
			}
		}
	}
	t := tally{reqs: reqs, filled: make([][]cs.Actor, len(reqs))}
	for i, j := range assign(eligible, counts(reqs)) {
		if j >= 0 {
			t.filled[j] = append(t.filled[j], people[i])
		}
	}
	return t
}

// room is how many more approvals line j takes.
func (t tally) room(j int) int { return max(t.reqs[j].Count-len(t.filled[j]), 0) }

// counted is how many approvals count, over all lines.
func (t tally) counted() int {
	n := 0
	for _, f := range t.filled {
		n += len(f)
	}
	return n
}

// complete reports whether every line is full.
func (t tally) complete() bool {
	for j := range t.reqs {
		if t.room(j) > 0 {
			return false
		}
	}
	return true
}

func counts(reqs []cs.Requirement) []int {
	c := make([]int, len(reqs))
	for j, r := range reqs {
		c[j] = r.Count
	}
	return c
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
