package policies

import (
	"errors"
	"testing"

	cs "github.com/countersign/countersign"
)

// TestEngine_Approve_Regroups: B (in ops and owners) approves first and is
// counted to ops; A (ops only) then approves: B moves to owners, and the
// request is satisfied. CheckApproval alone would refuse A.
func TestEngine_Approve_Regroups(t *testing.T) {
	e, err := New(Set{
		Groups: map[string][]string{"ops": {"UA", "UB"}, "owners": {"UB", "UC"}},
		Policies: []Policy{{Name: "p", Actions: []cs.ActionKind{cs.ActionDeploy}, Targets: []string{"*"}, Request: []string{"UREQ"},
			Approve: []cs.Requirement{{Group: "ops", Count: 1}, {Group: "owners", Count: 1}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := e.Decide(Input{Action: cs.Action{Kind: cs.ActionDeploy, Target: "www"}, Source: cs.SourceChat, Requester: "UREQ"})
	if d.Verdict != cs.VerdictNeedsApproval {
		t.Fatalf("verdict %s", d.Verdict)
	}
	in := ApprovalInput{Requester: "UREQ", Approvals: []cs.Approval{{Actor: "UB", Group: "ops"}}, Approver: "UA"}
	if _, err := e.CheckApproval(d, in); !errors.Is(err, ErrNotNeeded) {
		t.Fatalf("CheckApproval = %v, want ErrNotNeeded (the case Approve exists for)", err)
	}
	got, err := e.Approve(d, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []cs.Approval{{Actor: "UB", Group: "owners"}, {Actor: "UA", Group: "ops"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("approvals = %+v, want %+v", got, want)
	}
	if !Satisfied(d, got) {
		t.Error("not satisfied after regrouping")
	}

	// A second ops-only approver cannot be placed anywhere: still refused.
	e2, _ := New(Set{
		Groups: map[string][]string{"ops": {"UA", "UB", "UD"}, "owners": {"UB", "UC"}},
		Policies: []Policy{{Name: "p", Actions: []cs.ActionKind{cs.ActionDeploy}, Targets: []string{"*"}, Request: []string{"UREQ"},
			Approve: []cs.Requirement{{Group: "ops", Count: 1}, {Group: "owners", Count: 1}}}},
	})
	d2 := e2.Decide(Input{Action: cs.Action{Kind: cs.ActionDeploy, Target: "www"}, Source: cs.SourceChat, Requester: "UREQ"})
	_, err = e2.Approve(d2, ApprovalInput{Requester: "UREQ", Approver: "UD",
		Approvals: []cs.Approval{{Actor: "UA", Group: "ops"}, {Actor: "UB", Group: "owners"}}})
	if !errors.Is(err, ErrNotNeeded) {
		t.Errorf("Approve with no room = %v, want ErrNotNeeded", err)
	}
	// Refusals other than "full" are CheckApproval's.
	if _, err := e.Approve(d, ApprovalInput{Requester: "UREQ", Approver: "UREQ"}); !errors.Is(err, ErrSelfApproval) {
		t.Errorf("self approval = %v", err)
	}
}
