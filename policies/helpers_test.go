package policies

import (
	"reflect"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

// mustNew builds an engine or fails the test.
func mustNew(t *testing.T, s Set) *Engine {
	t.Helper()
	e, err := New(s)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// utc parses "2006-01-02 15:04" as UTC.
func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// want is what a test expects of a decision. Reasons are substrings that
// must each appear in some reason.
type want struct {
	verdict    cs.Verdict
	policy     string
	requires   []cs.Requirement
	expires    time.Duration
	window     string
	breakGlass bool
	reasons    []string
}

func checkDecision(t *testing.T, e *Engine, got cs.Decision, w want) {
	t.Helper()
	if got.Verdict != w.verdict {
		t.Errorf("verdict: got %q, want %q (reasons %q)", got.Verdict, w.verdict, got.Reasons)
	}
	if got.Policy != w.policy {
		t.Errorf("policy: got %q, want %q", got.Policy, w.policy)
	}
	if got.PolicyVersion != e.Version() {
		t.Errorf("policy version: got %q, want %q", got.PolicyVersion, e.Version())
	}
	if !reflect.DeepEqual(got.Requires, w.requires) {
		t.Errorf("requires: got %v, want %v", got.Requires, w.requires)
	}
	if got.ExpiresIn != w.expires {
		t.Errorf("expires: got %v, want %v", got.ExpiresIn, w.expires)
	}
	if got.Window != w.window {
		t.Errorf("window: got %q, want %q", got.Window, w.window)
	}
	if got.BreakGlass != w.breakGlass {
		t.Errorf("break glass: got %v, want %v", got.BreakGlass, w.breakGlass)
	}
	for _, r := range w.reasons {
		if !hasReason(got.Reasons, r) {
			t.Errorf("reasons %q: want one containing %q", got.Reasons, r)
		}
	}
	if len(got.Reasons) == 0 {
		t.Errorf("no reasons given")
	}
}

func hasReason(reasons []string, sub string) bool {
	for _, r := range reasons {
		if strings.Contains(r, sub) {
			return true
		}
	}
	return false
}

func req(group string, count int) cs.Requirement { return cs.Requirement{Group: group, Count: count} }

func reqs(r ...cs.Requirement) []cs.Requirement { return r }

func kinds(k ...cs.ActionKind) []cs.ActionKind { return k }

func approvals(pairs ...string) []cs.Approval {
	var out []cs.Approval
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, cs.Approval{Actor: cs.Actor(pairs[i]), Group: pairs[i+1]})
	}
	return out
}
