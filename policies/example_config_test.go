package policies

import (
	"errors"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

// exampleSet is the groups, policies and windows of
// design/countersign.example.yaml, written out in Go.
func exampleSet() Set {
	return Set{
		Groups: map[string][]string{
			"ops":        {"U0OPS0001", "U0OPS0002", "U0OPS0003"},
			"www-owners": {"U0WWW0001"},
			"devs":       {"usergroup:S0DEVS"},
		},
		Policies: []Policy{
			{
				Name:    "www-on-push",
				Actions: kinds(cs.ActionDeploy),
				Targets: []string{"www", "next"},
				Request: []string{"push"},
				Auto:    &Auto{Branches: []string{"next"}},
				Approve: reqs(req("www-owners", 1)),
				Expires: Duration(2 * time.Hour),
			},
			{
				Name:    "production",
				Actions: kinds(cs.ActionDeploy, cs.ActionRollback, cs.ActionScale),
				Targets: []string{"*"},
				Request: []string{"group:devs", "group:ops", "push"},
				Approve: reqs(req("ops", 1), req("www-owners", 1)),
				Expires: Duration(time.Hour),
				Scale:   &Limits{Min: 1, Max: 10},
			},
			{
				Name:    "dns-changes",
				Actions: kinds(cs.ActionDNS),
				Targets: []string{"mirageos.org", "*.mirageos.org"},
				Request: []string{"group:ops"},
				Approve: reqs(req("ops", 2)),
				Expires: Duration(30 * time.Minute),
			},
			{
				Name:    "locks",
				Actions: kinds(cs.ActionLock, cs.ActionUnlock),
				Targets: []string{"*"},
				Request: []string{"group:ops", "group:devs"},
				Approve: []cs.Requirement{},
			},
		},
		Windows: []Window{{
			Name:       "weekend-freeze",
			Actions:    kinds(cs.ActionDeploy, cs.ActionScale, cs.ActionDNS),
			Targets:    []string{"*"},
			Deny:       Span{From: "Fri 16:00", To: "Mon 08:00", TZ: "Europe/London"},
			BreakGlass: &BreakGlass{Approve: reqs(req("ops", 2))},
		}},
	}
}

// exampleUsergroups resolves the Slack user group of the example's devs.
var exampleUsergroups = map[string][]cs.Actor{"S0DEVS": {"U0DEV0001", "U0DEV0002"}}

// identities of the example: GitHub login -> Slack user.
const (
	talex5  = cs.Actor("U0OPS0001")
	hannesm = cs.Actor("U0WWW0001")
)

func TestExample_Decide(t *testing.T) {
	e := mustNew(t, exampleSet())
	weekday := utc(t, "2026-11-18 10:00")  // a Wednesday
	saturday := utc(t, "2026-11-21 12:00") // inside the weekend freeze
	push := func(target, branch string, now time.Time) Input {
		return Input{
			Action: cs.Action{Kind: cs.ActionDeploy, Target: target, Branch: branch},
			Source: cs.SourcePush, Requester: "github:talex5", Now: now,
		}
	}
	chat := func(who cs.Actor, a cs.Action, now time.Time) Input {
		return Input{Action: a, Source: cs.SourceChat, Requester: who, Usergroups: exampleUsergroups, Now: now}
	}
	deploy := func(target string) cs.Action { return cs.Action{Kind: cs.ActionDeploy, Target: target} }
	scale := func(n int) cs.Action { return cs.Action{Kind: cs.ActionScale, Target: "ocaml-ci-web", Replicas: n} }
	dns := cs.Action{Kind: cs.ActionDNS, Target: "ci.mirageos.org.", DNS: &cs.DNSChange{Op: cs.DNSSet, Name: "ci.mirageos.org.", Type: "A", Value: "128.232.124.253"}}
	production := reqs(req("ops", 1), req("www-owners", 1))

	tests := []struct {
		name string
		in   Input
		want want
	}{
		// www-on-push: "next deploys without approval; master needs one".
		{"push to next deploys without approval", push("next", "next", weekday),
			want{verdict: cs.VerdictAllow, policy: "www-on-push", reasons: []string{"branch next deploys without approval"}}},
		{"push to master needs a www owner", push("www", "master", weekday),
			want{verdict: cs.VerdictNeedsApproval, policy: "www-on-push", requires: reqs(req("www-owners", 1)), expires: 2 * time.Hour}},
		// production: a push to another service, no auto.
		{"push to another service goes by production", push("ocaml-ci-web", "live-web", weekday),
			want{verdict: cs.VerdictNeedsApproval, policy: "production", requires: production, expires: time.Hour}},
		// Chat requests skip www-on-push (push only) and match production.
		{"ops member deploys www from chat", chat("U0OPS0002", deploy("www"), weekday),
			want{verdict: cs.VerdictNeedsApproval, policy: "production", requires: production, expires: time.Hour}},
		{"dev through the Slack user group", chat("U0DEV0001", deploy("www"), weekday),
			want{verdict: cs.VerdictNeedsApproval, policy: "production", requires: production, expires: time.Hour}},
		{"rollback by a dev", chat("U0DEV0002", cs.Action{Kind: cs.ActionRollback, Target: "www"}, weekday),
			want{verdict: cs.VerdictNeedsApproval, policy: "production", requires: production, expires: time.Hour}},
		{"outsider refused by both deploy policies", chat("U9", deploy("www"), weekday),
			want{verdict: cs.VerdictDeny, reasons: []string{
				`policy "www-on-push": U9 may not request (allowed: push)`,
				`policy "production": U9 may not request (allowed: group:devs, group:ops, push)`}}},
		// scale: {min: 1, max: 10}.
		{"scale to 10", chat("U0OPS0001", scale(10), weekday),
			want{verdict: cs.VerdictNeedsApproval, policy: "production", requires: production, expires: time.Hour}},
		{"scale to 11", chat("U0OPS0001", scale(11), weekday),
			want{verdict: cs.VerdictDeny, policy: "production", reasons: []string{"11 replicas is outside the limits", "(1 to 10)"}}},
		{"scale to 0", chat("U0OPS0001", scale(0), weekday),
			want{verdict: cs.VerdictDeny, policy: "production", reasons: []string{"0 replicas is outside the limits"}}},
		// dns-changes: ops only, two of them.
		{"dns by ops", chat("U0OPS0003", dns, weekday),
			want{verdict: cs.VerdictNeedsApproval, policy: "dns-changes", requires: reqs(req("ops", 2)), expires: 30 * time.Minute}},
		{"dns by a dev", chat("U0DEV0001", dns, weekday),
			want{verdict: cs.VerdictDeny, reasons: []string{`policy "dns-changes": U0DEV0001 may not request (allowed: group:ops)`}}},
		{"dns outside the zone", chat("U0OPS0003", cs.Action{Kind: cs.ActionDNS, Target: "evil.example.org"}, weekday),
			want{verdict: cs.VerdictDeny, reasons: []string{"no policy allows dns on evil.example.org (deny by default)"}}},
		// locks: no approval needed.
		{"lock by a dev", chat("U0DEV0001", cs.Action{Kind: cs.ActionLock, Target: "www", Reason: "debugging"}, weekday),
			want{verdict: cs.VerdictAllow, policy: "locks", reasons: []string{"needs no approval"}}},
		{"unlock by ops", chat("U0OPS0001", cs.Action{Kind: cs.ActionUnlock, Target: "www"}, weekday),
			want{verdict: cs.VerdictAllow, policy: "locks"}},
		// weekend-freeze: deploy, scale and dns; break glass needs two ops.
		{"deploy in the freeze", chat("U0OPS0001", deploy("www"), saturday),
			want{verdict: cs.VerdictDeny, policy: "production", window: "weekend-freeze", reasons: []string{
				`change freeze "weekend-freeze" until Mon 08:00 Europe/London; use --break-glass REASON to ask for an exception`}}},
		{"break glass in the freeze", chat("U0OPS0001", cs.Action{Kind: cs.ActionDeploy, Target: "www", BreakGlass: "CVE fix"}, saturday),
			want{verdict: cs.VerdictNeedsApproval, policy: "production", requires: reqs(req("ops", 2)), expires: time.Hour,
				window: "weekend-freeze", breakGlass: true, reasons: []string{`reason: "CVE fix"`}}},
		{"auto branch in the freeze", push("next", "next", saturday),
			want{verdict: cs.VerdictDeny, policy: "www-on-push", window: "weekend-freeze", reasons: []string{
				`change freeze "weekend-freeze" until Mon 08:00 Europe/London; to deploy anyway, ask in chat with --break-glass REASON`}}},
		{"dns in the freeze", chat("U0OPS0003", dns, saturday),
			want{verdict: cs.VerdictDeny, policy: "dns-changes", window: "weekend-freeze"}},
		{"rollback is not frozen", chat("U0OPS0001", cs.Action{Kind: cs.ActionRollback, Target: "www"}, saturday),
			want{verdict: cs.VerdictNeedsApproval, policy: "production", requires: production, expires: time.Hour}},
		{"lock is not frozen", chat("U0OPS0001", cs.Action{Kind: cs.ActionLock, Target: "www"}, saturday),
			want{verdict: cs.VerdictAllow, policy: "locks"}},
		{"break glass does not help an outsider", chat("U9", cs.Action{Kind: cs.ActionDeploy, Target: "www", BreakGlass: "please"}, saturday),
			want{verdict: cs.VerdictDeny, reasons: []string{`policy "production": U9 may not request`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDecision(t, e, e.Decide(tt.in), tt.want)
		})
	}
}

// "one from each line, all distinct, none the requester or author" and
// "authors cannot approve their own pushes".
func TestExample_Approvals(t *testing.T) {
	e := mustNew(t, exampleSet())
	weekday := utc(t, "2026-11-18 10:00")
	prod := e.Decide(Input{Action: cs.Action{Kind: cs.ActionDeploy, Target: "www"}, Source: cs.SourceChat,
		Requester: "U0DEV0001", Usergroups: exampleUsergroups, Now: weekday})
	master := e.Decide(Input{Action: cs.Action{Kind: cs.ActionDeploy, Target: "www", Branch: "master"},
		Source: cs.SourcePush, Requester: "github:hannesm", Now: weekday})

	tests := []struct {
		name      string
		d         cs.Decision
		in        ApprovalInput
		wantGroup string
		wantErr   error
	}{
		{"ops member", prod, ApprovalInput{Approver: "U0OPS0001", Requester: "U0DEV0001"}, "ops", nil},
		{"owner after ops", prod, ApprovalInput{Approver: hannesm, Requester: "U0DEV0001", Approvals: approvals("U0OPS0001", "ops")}, "www-owners", nil},
		{"second ops member", prod, ApprovalInput{Approver: "U0OPS0002", Requester: "U0DEV0001", Approvals: approvals("U0OPS0001", "ops")}, "", ErrNotNeeded},
		{"another dev", prod, ApprovalInput{Approver: "U0DEV0002", Requester: "U0DEV0001", Usergroups: exampleUsergroups}, "", ErrNotApprover},
		{"author of the pushed commit", master, ApprovalInput{Approver: hannesm, Requester: "github:hannesm", Author: hannesm}, "", ErrAuthorApproval},
		{"owner approves someone else's push", master, ApprovalInput{Approver: hannesm, Requester: "github:talex5", Author: talex5}, "www-owners", nil},
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
		})
	}

	t.Run("break glass needs two distinct ops", func(t *testing.T) {
		bg := e.Decide(Input{Action: cs.Action{Kind: cs.ActionDeploy, Target: "www", BreakGlass: "outage"}, Source: cs.SourceChat,
			Requester: "U0OPS0001", Now: utc(t, "2026-11-21 12:00")})
		var granted []cs.Approval
		for _, who := range []cs.Actor{"U0OPS0001", "U0OPS0002", "U0OPS0002", "U0WWW0001", "U0OPS0003"} {
			g, err := e.CheckApproval(bg, ApprovalInput{Approver: who, Requester: "U0OPS0001", Approvals: granted})
			if err == nil {
				granted = append(granted, cs.Approval{Actor: who, Group: g})
			}
		}
		if got, want := Progress(bg, granted), "2 of 2 approvals: ops 2/2 (@U0OPS0002, @U0OPS0003)"; got != want {
			t.Errorf("progress: got %q, want %q", got, want)
		}
		if !Satisfied(bg, granted) {
			t.Errorf("not satisfied by %v", granted)
		}
	})
}
