package policies

import (
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

// decideSet exercises matching: order, requester kinds, auto, limits, DNS.
func decideSet() Set {
	return Set{
		Groups: map[string][]string{
			"ops":    {"U1", "U2"},
			"owners": {"U3"},
			"mixed":  {"U4", "usergroup:S1"},
		},
		Policies: []Policy{
			{Name: "first", Actions: kinds(cs.ActionDeploy), Targets: []string{"www"}, Request: []string{"U1"}, Approve: reqs()},
			{Name: "second", Actions: kinds(cs.ActionDeploy), Targets: []string{"www", "w*"}, Request: []string{"group:ops"}, Approve: reqs(req("ops", 1))},
			{Name: "ug", Actions: kinds(cs.ActionDeploy), Targets: []string{"api"}, Request: []string{"usergroup:S2"},
				Approve: reqs(req("owners", 1)), Expires: Duration(45 * time.Minute)},
			{Name: "mixed", Actions: kinds(cs.ActionDeploy), Targets: []string{"mix"}, Request: []string{"group:mixed"}},
			{Name: "push", Actions: kinds(cs.ActionDeploy), Targets: []string{"svc-*"}, Request: []string{"push", "group:ops"},
				Auto: &Auto{Branches: []string{"main"}}, Approve: reqs(req("owners", 1)), Expires: Duration(2 * time.Hour)},
			{Name: "limited", Actions: kinds(cs.ActionScale), Targets: []string{"lim"}, Request: []string{"group:ops"}, Scale: &Limits{Min: 2, Max: 4}},
			{Name: "scale", Actions: kinds(cs.ActionScale), Targets: []string{"*"}, Request: []string{"group:ops"}},
			{Name: "dns", Actions: kinds(cs.ActionDNS), Targets: []string{"*.Example.ORG."}, Request: []string{"group:ops"}},
		},
	}
}

func TestEngine_Decide(t *testing.T) {
	e := mustNew(t, decideSet())
	now := utc(t, "2026-11-18 10:00")
	chat := func(who cs.Actor, a cs.Action) Input {
		return Input{Action: a, Source: cs.SourceChat, Requester: who, Now: now}
	}
	withUG := func(in Input, ug map[string][]cs.Actor) Input { in.Usergroups = ug; return in }
	push := func(target, branch string) Input {
		return Input{Action: cs.Action{Kind: cs.ActionDeploy, Target: target, Branch: branch}, Source: cs.SourcePush, Requester: "github:alice", Now: now}
	}
	deploy := func(target string) cs.Action { return cs.Action{Kind: cs.ActionDeploy, Target: target} }
	scale := func(target string, n int) cs.Action {
		return cs.Action{Kind: cs.ActionScale, Target: target, Replicas: n}
	}
	dns := func(target, name string) cs.Action {
		a := cs.Action{Kind: cs.ActionDNS, Target: target}
		if name != "" {
			a.DNS = &cs.DNSChange{Op: cs.DNSSet, Name: name, Type: "A", Value: "192.0.2.1"}
		}
		return a
	}

	tests := []struct {
		name string
		in   Input
		want want
	}{
		// Order: U1 is in ops too, so "second" would match; "first" comes first.
		{"first match wins", chat("U1", deploy("www")),
			want{verdict: cs.VerdictAllow, policy: "first"}},
		{"next policy when the first refuses the requester", chat("U2", deploy("www")),
			want{verdict: cs.VerdictNeedsApproval, policy: "second", requires: reqs(req("ops", 1)), reasons: []string{"needs approval: 1 from ops"}}},
		{"glob target", chat("U2", deploy("web")),
			want{verdict: cs.VerdictNeedsApproval, policy: "second", requires: reqs(req("ops", 1))}},

		// Requester kinds.
		{"usergroup entry", withUG(chat("U5", deploy("api")), map[string][]cs.Actor{"S2": {"U5"}}),
			want{verdict: cs.VerdictNeedsApproval, policy: "ug", requires: reqs(req("owners", 1)), expires: 45 * time.Minute}},
		{"usergroup entry without usergroups", chat("U5", deploy("api")),
			want{verdict: cs.VerdictDeny, reasons: []string{`policy "ug": U5 may not request (allowed: usergroup:S2)`}}},
		{"usergroup of another ID", withUG(chat("U5", deploy("api")), map[string][]cs.Actor{"S1": {"U5"}}),
			want{verdict: cs.VerdictDeny}},
		{"usergroup through a group", withUG(chat("U6", deploy("mix")), map[string][]cs.Actor{"S1": {"U6"}}),
			want{verdict: cs.VerdictAllow, policy: "mixed"}},
		{"direct member of a group with a usergroup", chat("U4", deploy("mix")),
			want{verdict: cs.VerdictAllow, policy: "mixed"}},
		{"group refuses a push requester", push("www", "main"),
			want{verdict: cs.VerdictDeny, reasons: []string{
				`policy "first": github:alice (push on branch main) may not request (allowed: U1)`,
				`policy "second": github:alice (push on branch main) may not request (allowed: group:ops)`}}},
		{"push entry refuses chat", chat("U9", deploy("svc-a")),
			want{verdict: cs.VerdictDeny, reasons: []string{`policy "push": U9 may not request (allowed: push, group:ops)`}}},

		// Auto.
		{"push on an auto branch", push("svc-a", "main"),
			want{verdict: cs.VerdictAllow, policy: "push", reasons: []string{"branch main deploys without approval"}}},
		{"push on another branch", push("svc-a", "dev"),
			want{verdict: cs.VerdictNeedsApproval, policy: "push", requires: reqs(req("owners", 1)), expires: 2 * time.Hour}},
		{"push without a branch", push("svc-a", ""),
			want{verdict: cs.VerdictNeedsApproval, policy: "push", requires: reqs(req("owners", 1)), expires: 2 * time.Hour}},
		{"chat naming an auto branch is not auto", chat("U1", cs.Action{Kind: cs.ActionDeploy, Target: "svc-a", Branch: "main"}),
			want{verdict: cs.VerdictNeedsApproval, policy: "push", requires: reqs(req("owners", 1)), expires: 2 * time.Hour}},

		// Deny by default.
		{"nothing matches", chat("U1", deploy("zzz")),
			want{verdict: cs.VerdictDeny, reasons: []string{"no policy allows deploy on zzz (deny by default)"}}},
		{"unknown action kind", chat("U1", cs.Action{Kind: "reboot", Target: "www"}),
			want{verdict: cs.VerdictDeny, reasons: []string{"no policy allows reboot on www (deny by default)"}}},
		{"no target", chat("U1", deploy("")),
			want{verdict: cs.VerdictDeny, reasons: []string{"the action has no target"}}},

		// Scale limits.
		{"below min", chat("U1", scale("lim", 1)),
			want{verdict: cs.VerdictDeny, policy: "limited", reasons: []string{`1 replica is outside the limits of policy "limited" (2 to 4)`}}},
		{"at min", chat("U1", scale("lim", 2)), want{verdict: cs.VerdictAllow, policy: "limited"}},
		{"at max", chat("U1", scale("lim", 4)), want{verdict: cs.VerdictAllow, policy: "limited"}},
		{"above max", chat("U1", scale("lim", 5)),
			want{verdict: cs.VerdictDeny, policy: "limited", reasons: []string{"(2 to 4)"}}},
		{"no limits", chat("U1", scale("other", 100)), want{verdict: cs.VerdictAllow, policy: "scale"}},

		// DNS names: lower case, no trailing dot, on both sides.
		{"dns name with trailing dot and capitals", chat("U1", dns("WWW.example.org.", "WWW.example.org.")),
			want{verdict: cs.VerdictAllow, policy: "dns"}},
		{"dns name from the change only", chat("U1", dns("", "www.example.org")),
			want{verdict: cs.VerdictAllow, policy: "dns"}},
		{"dns glob does not match the apex", chat("U1", dns("example.org.", "")),
			want{verdict: cs.VerdictDeny, reasons: []string{"no policy allows dns on example.org (deny by default)"}}},
		{"dns target and record differ", chat("U1", dns("www.example.org", "evil.example.com")),
			want{verdict: cs.VerdictDeny, reasons: []string{"differ"}}},

		// Break glass outside any window changes nothing.
		{"break glass without a window", chat("U2", cs.Action{Kind: cs.ActionDeploy, Target: "www", BreakGlass: "urgent"}),
			want{verdict: cs.VerdictNeedsApproval, policy: "second", requires: reqs(req("ops", 1)), reasons: []string{"no change freeze is in force"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDecision(t, e, e.Decide(tt.in), tt.want)
		})
	}
}

// The decision does not depend on the order of usergroups or members.
func TestEngine_DecideOrderIndependent(t *testing.T) {
	a, b := decideSet(), decideSet()
	b.Groups["mixed"] = []string{"usergroup:S1", "U4"}
	ea, eb := mustNew(t, a), mustNew(t, b)
	in := Input{Action: cs.Action{Kind: cs.ActionDeploy, Target: "mix"}, Source: cs.SourceChat, Requester: "U6",
		Usergroups: map[string][]cs.Actor{"S0": {"U1"}, "S1": {"U7", "U6"}}, Now: utc(t, "2026-11-18 10:00")}
	got, want := eb.Decide(in), ea.Decide(in)
	if got.Verdict != want.Verdict || got.Policy != want.Policy || got.PolicyVersion != want.PolicyVersion {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got.Verdict != cs.VerdictAllow {
		t.Errorf("verdict: got %q, want allow", got.Verdict)
	}
}
