package policies

import (
	"errors"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
)

// approvalSet: B is in both ops and owners.
func approvalSet() Set {
	return Set{
		Groups: map[string][]string{
			"ops":    {"A", "B"},
			"owners": {"B", "C"},
			"solo":   {"D"},
			"ugops":  {"usergroup:S1"},
		},
		Policies: []Policy{
			{Name: "p", Actions: kinds(cs.ActionDeploy), Targets: []string{"p"}, Request: []string{"A", "B", "C", "D", "U9"},
				Approve: reqs(req("ops", 1), req("owners", 1))},
			// The same lines in the other order.
			{Name: "q", Actions: kinds(cs.ActionDeploy), Targets: []string{"q"}, Request: []string{"A", "U9"},
				Approve: reqs(req("owners", 1), req("ops", 1))},
			{Name: "ug", Actions: kinds(cs.ActionDeploy), Targets: []string{"ug"}, Request: []string{"U9"}, Approve: reqs(req("ugops", 1))},
			{Name: "free", Actions: kinds(cs.ActionDeploy), Targets: []string{"free"}, Request: []string{"U9"}},
		},
	}
}

func decideFor(t *testing.T, e *Engine, target string, requester cs.Actor) cs.Decision {
	t.Helper()
	return e.Decide(Input{Action: cs.Action{Kind: cs.ActionDeploy, Target: target}, Source: cs.SourceChat,
		Requester: requester, Now: utc(t, "2026-11-18 10:00")})
}

func TestEngine_CheckApproval(t *testing.T) {
	e := mustNew(t, approvalSet())
	p := decideFor(t, e, "p", "U9")
	pByA := decideFor(t, e, "p", "A")
	qByA := decideFor(t, e, "q", "A")
	q := decideFor(t, e, "q", "U9")
	ug := decideFor(t, e, "ug", "U9")
	free := decideFor(t, e, "free", "U9")
	denied := decideFor(t, e, "nothing", "U9")
	stale := p
	stale.PolicyVersion = strings.Repeat("0", 64)
	s1 := map[string][]cs.Actor{"S1": {"U7"}}

	tests := []struct {
		name      string
		d         cs.Decision
		in        ApprovalInput
		wantGroup string
		wantErr   error
		wantMsg   []string // substrings of the error
	}{
		{"ops member", p, ApprovalInput{Approver: "A", Requester: "U9"}, "ops", nil, nil},
		{"owner", p, ApprovalInput{Approver: "C", Requester: "U9"}, "owners", nil, nil},
		{"in both, nobody left out: first line", p, ApprovalInput{Approver: "B", Requester: "U9"}, "ops", nil, nil},
		{"in both, other order: first line", q, ApprovalInput{Approver: "B", Requester: "U9"}, "owners", nil, nil},
		// A asked, so only B can fill ops: B goes there although owners comes first.
		{"in both, the line only they can fill", qByA, ApprovalInput{Approver: "B", Requester: "A"}, "ops", nil, nil},
		{"in both, author out of the way", q, ApprovalInput{Approver: "B", Requester: "U9", Author: "A"}, "ops", nil, nil},
		{"in both, ops full", p, ApprovalInput{Approver: "B", Requester: "U9", Approvals: approvals("A", "ops")}, "owners", nil, nil},
		{"in both, owners full", p, ApprovalInput{Approver: "B", Requester: "U9", Approvals: approvals("C", "owners")}, "ops", nil, nil},
		{"line full", p, ApprovalInput{Approver: "A", Requester: "U9", Approvals: approvals("B", "ops")},
			"", ErrNotNeeded, []string{"approval not needed from ops: ops already has 1 of 1 (@B); it still needs owners 0/1 from someone in those groups"}},
		{"every line full", p, ApprovalInput{Approver: "B", Requester: "U9", Approvals: approvals("A", "ops", "C", "owners")},
			"", ErrNotNeeded, []string{"ops already has 1 of 1 (@A)", "owners already has 1 of 1 (@C)"}},
		{"self approval", pByA, ApprovalInput{Approver: "A", Requester: "A"}, "", ErrSelfApproval, []string{"A asked for it"}},
		{"author approval", p, ApprovalInput{Approver: "C", Requester: "U9", Author: "C"}, "", ErrAuthorApproval, []string{"C wrote the commit"}},
		{"double approval", p, ApprovalInput{Approver: "A", Requester: "U9", Approvals: approvals("A", "ops")}, "", ErrAlreadyApproved, nil},
		{"non-member", p, ApprovalInput{Approver: "D", Requester: "U9"}, "", ErrNotApprover, []string{"D is not in ops or owners"}},
		{"no approver", p, ApprovalInput{Requester: "U9"}, "", ErrNotApprover, nil},
		{"usergroup member through a group", ug, ApprovalInput{Approver: "U7", Requester: "U9", Usergroups: s1}, "ugops", nil, nil},
		{"usergroup unresolved", ug, ApprovalInput{Approver: "U7", Requester: "U9"}, "", ErrNotApprover, []string{"not in ugops"}},
		{"decision needs no approval", free, ApprovalInput{Approver: "A", Requester: "U9"}, "", ErrNotNeeded, []string{"allow"}},
		{"denied decision", denied, ApprovalInput{Approver: "A", Requester: "U9"}, "", ErrNotNeeded, nil},
		{"stale policy version", stale, ApprovalInput{Approver: "A", Requester: "U9"}, "", ErrStalePolicy, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.CheckApproval(tt.d, tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err: got %v, want %v", err, tt.wantErr)
			}
			if got != tt.wantGroup {
				t.Errorf("group: got %q, want %q", got, tt.wantGroup)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q: want it to contain %q", err, m)
				}
			}
		})
	}
}

// A whole approval round, each approver in turn, as the bot runs it.
func TestEngine_ApprovalRounds(t *testing.T) {
	e := mustNew(t, approvalSet())
	tests := []struct {
		name      string
		target    string
		requester cs.Actor
		clicks    []cs.Actor
		wantOK    []cs.Actor // the clicks that counted
		wantProg  string
	}{
		{"ops then owner", "p", "U9", []cs.Actor{"A", "C"}, []cs.Actor{"A", "C"}, "2 of 2 approvals: ops 1/1 (@A), owners 1/1 (@C)"},
		{"both-groups member first, then ops", "p", "U9", []cs.Actor{"B", "A", "C"}, []cs.Actor{"B", "C"}, "2 of 2 approvals: ops 1/1 (@B), owners 1/1 (@C)"},
		{"requester A: B must take ops", "q", "A", []cs.Actor{"B", "A", "C"}, []cs.Actor{"B", "C"}, "2 of 2 approvals: owners 1/1 (@C), ops 1/1 (@B)"},
		{"double clicks count once", "p", "U9", []cs.Actor{"A", "A", "D", "B"}, []cs.Actor{"A", "B"}, "2 of 2 approvals: ops 1/1 (@A), owners 1/1 (@B)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decideFor(t, e, tt.target, tt.requester)
			var granted []cs.Approval
			var ok []cs.Actor
			for _, who := range tt.clicks {
				g, err := e.CheckApproval(d, ApprovalInput{Approver: who, Requester: tt.requester, Approvals: granted})
				if err != nil {
					continue
				}
				granted = append(granted, cs.Approval{Actor: who, Group: g})
				ok = append(ok, who)
			}
			if got, want := strings.Join(actorStrings(ok), ","), strings.Join(actorStrings(tt.wantOK), ","); got != want {
				t.Errorf("counted: got %s, want %s", got, want)
			}
			if !Satisfied(d, granted) {
				t.Errorf("not satisfied by %v", granted)
			}
			if got := Progress(d, granted); got != tt.wantProg {
				t.Errorf("progress: got %q, want %q", got, tt.wantProg)
			}
		})
	}
}

func actorStrings(a []cs.Actor) []string {
	s := make([]string, len(a))
	for i, v := range a {
		s[i] = string(v)
	}
	return s
}

func TestSatisfiedAndProgress(t *testing.T) {
	two := cs.Decision{Verdict: cs.VerdictNeedsApproval, Requires: reqs(req("ops", 1), req("owners", 1))}
	ops2 := cs.Decision{Verdict: cs.VerdictNeedsApproval, Requires: reqs(req("ops", 2))}
	one := cs.Decision{Verdict: cs.VerdictNeedsApproval, Requires: reqs(req("owners", 1))}
	tests := []struct {
		name      string
		d         cs.Decision
		approvals []cs.Approval
		want      bool
		wantProg  string
	}{
		{"none", two, nil, false, "0 of 2 approvals: ops 0/1, owners 0/1"},
		{"one line", two, approvals("A", "ops"), false, "1 of 2 approvals: ops 1/1 (@A), owners 0/1"},
		{"both lines", two, approvals("A", "ops", "C", "owners"), true, "2 of 2 approvals: ops 1/1 (@A), owners 1/1 (@C)"},
		{"over-filled line", two, approvals("A", "ops", "B", "ops"), false, "1 of 2 approvals: ops 1/1 (@A), owners 0/1"},
		{"one person, two lines", two, approvals("B", "ops", "B", "owners"), false, "1 of 2 approvals: ops 1/1 (@B), owners 0/1"},
		// Greedy would put B on ops and leave A out; the matching moves B.
		{"needs reassignment", two, approvals("B", "ops", "B", "owners", "A", "ops"), true, "2 of 2 approvals: ops 1/1 (@A), owners 1/1 (@B)"},
		{"unknown group", two, approvals("X", "devs"), false, "0 of 2 approvals: ops 0/1, owners 0/1"},
		{"count of two, distinct", ops2, approvals("A", "ops", "B", "ops"), true, "2 of 2 approvals: ops 2/2 (@A, @B)"},
		{"count of two, same person", ops2, approvals("A", "ops", "A", "ops"), false, "1 of 2 approvals: ops 1/2 (@A)"},
		{"no actor", one, []cs.Approval{{Group: "owners"}}, false, "0 of 1 approval: owners 0/1"},
		{"allow", cs.Decision{Verdict: cs.VerdictAllow}, nil, true, "no approval needed"},
		{"deny", cs.Decision{Verdict: cs.VerdictDeny}, approvals("A", "ops"), false, "denied by policy"},
		{"needs approval without lines", cs.Decision{Verdict: cs.VerdictNeedsApproval}, nil, false, "no approval can be counted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Satisfied(tt.d, tt.approvals); got != tt.want {
				t.Errorf("Satisfied: got %v, want %v", got, tt.want)
			}
			if got := Progress(tt.d, tt.approvals); got != tt.wantProg {
				t.Errorf("Progress: got %q, want %q", got, tt.wantProg)
			}
		})
	}
}

// Satisfied does not depend on the order of the approvals.
func TestSatisfied_OrderIndependent(t *testing.T) {
	d := cs.Decision{Verdict: cs.VerdictNeedsApproval, Requires: reqs(req("ops", 1), req("owners", 1), req("dba", 1))}
	base := approvals("B", "ops", "B", "owners", "A", "ops", "E", "dba", "E", "ops")
	perms := permutations(len(base))
	if len(perms) != 120 {
		t.Fatalf("permutations: got %d, want 120", len(perms))
	}
	for _, perm := range perms {
		in := make([]cs.Approval, len(base))
		for i, j := range perm {
			in[i] = base[j]
		}
		if !Satisfied(d, in) {
			t.Errorf("not satisfied by %v", in)
		}
	}
}

func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

func TestAssign(t *testing.T) {
	tests := []struct {
		name     string
		eligible [][]int
		capacity []int
		want     []int
	}{
		{"empty", nil, []int{1}, []int{}},
		{"direct", [][]int{{0}, {1}}, []int{1, 1}, []int{0, 1}},
		{"moves the first", [][]int{{0, 1}, {0}}, []int{1, 1}, []int{1, 0}},
		{"chain of moves", [][]int{{0, 1}, {1, 2}, {0}}, []int{1, 1, 1}, []int{1, 2, 0}},
		{"capacity two", [][]int{{0}, {0}, {0}}, []int{2}, []int{0, 0, -1}},
		{"zero and negative capacity", [][]int{{0}, {1}}, []int{0, -1}, []int{-1, -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := assign(tt.eligible, tt.capacity)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
