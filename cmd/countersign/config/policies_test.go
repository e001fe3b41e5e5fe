package config

import "testing"

func TestParse_PolicyProblems(t *testing.T) {
	const g = "db: a.db\ngroups: {ops: [U0OPS1, U0OPS2]}\n"
	runCases(t, []problemCase{
		{"required", g + "policies: [{request: [push]}]\n", []string{
			`policies[0].name: required`, `policies[0].actions: required`, `policies[0].targets: required`,
		}},
		{"unknown key", g + "policies: [{name: p, actions: [deploy], targets: [\"*\"], request: [push], aprove: []}]\n", []string{
			`policies[0].aprove: unknown key (did you mean "approve"?)`,
		}},
		{"unknown key deep", g + "policies: [{name: p, actions: [deploy], targets: [\"*\"], request: [push], approve: [{group: ops, count: 1, of: 2}]}]\n", []string{
			`policies[0].approve[0].of: unknown key`,
		}},
		{"wrong types", g + "policies: [{name: p, actions: deploy, targets: [\"*\"], request: [push], approve: [{group: ops, count: two}], expires: soon, scale: {min: 1, max: [2]}}]\n", []string{
			`policies[0].actions: want a list, got a string`,
			`policies[0].approve[0].count: want an integer, got "two"`,
			`policies[0].expires: invalid duration "soon" (want e.g. 30m, 2h)`,
			`policies[0].scale.max: want an integer, got a list`,
		}},
		{"duplicate key", g + "policies: [{name: p, name: q, actions: [deploy], targets: [\"*\"], request: [push]}]\n", []string{
			`policies[0].name: duplicate key (first at line 3)`,
		}},
		// From policies.New.
		{"unknown group", g + "policies: [{name: p, actions: [deploy], targets: [\"*\"], request: [push], approve: [{group: owners, count: 1}]}]\n", []string{
			`policies[0].approve[0].group: unknown group "owners"`,
		}},
		{"unknown action", g + "policies: [{name: p, actions: [deploy, reboot], targets: [\"*\"], request: [push]}]\n", []string{
			`policies[0].actions[1]: unknown action "reboot" (want one of deploy, rollback, scale, dns, lock, unlock, adopt, policy)`,
		}},
		{"window required", g + "windows: [{name: w}]\n", []string{
			`windows[0].actions: required`, `windows[0].targets: required`, `windows[0].deny: required`,
		}},
		{"window unknown key", g + "windows: [{name: w, actions: [deploy], targets: [\"*\"], deny: {from: \"Fri 16:00\", to: \"Mon 08:00\", zone: UTC}}]\n", []string{
			`windows[0].deny.zone: unknown key`,
		}},
	})
}

// TestParse_PolicyProblemLines: problems from policies.New get the line
// of their key.
func TestParse_PolicyProblemLines(t *testing.T) {
	src := "db: a.db\ngroups: {ops: [U0OPS1]}\npolicies:\n  - name: p\n    actions: [deploy]\n    targets: [\"*\"]\n    request: [push]\n    approve:\n      - group: owners\n        count: 1\n"
	_, err := Parse([]byte(src), "", env(nil))
	ps := problemsOf(t, err)
	if len(ps) != 1 {
		t.Fatalf("got %v, want one problem", lines(ps))
	}
	if got, want := ps[0], (Problem{Path: "policies[0].approve[0].group", Line: 9, Message: `unknown group "owners"`}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
