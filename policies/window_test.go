package policies

import (
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

func TestSpan_Contains(t *testing.T) {
	london := Span{From: "Fri 16:00", To: "Mon 08:00", TZ: "Europe/London"}
	tests := []struct {
		name string
		span Span
		at   string // UTC
		want bool
	}{
		// October 2026: clocks go back on Sunday 25th (BST, UTC+1 -> GMT, UTC+0).
		{"Oct Fri 15:59 BST", london, "2026-10-23 14:59", false},
		{"Oct Fri 16:00 BST", london, "2026-10-23 15:00", true},
		{"Oct Sun during the change", london, "2026-10-25 01:30", true},
		{"Oct Mon 07:30 GMT (08:30 by the summer offset)", london, "2026-10-26 07:30", true},
		{"Oct Mon 07:59 GMT", london, "2026-10-26 07:59", true},
		{"Oct Mon 08:00 GMT", london, "2026-10-26 08:00", false},
		// March 2026: clocks go forward on Sunday 29th (GMT -> BST).
		{"Mar Fri 15:59 GMT", london, "2026-03-27 15:59", false},
		{"Mar Fri 16:00 GMT", london, "2026-03-27 16:00", true},
		{"Mar Mon 07:59 BST", london, "2026-03-30 06:59", true},
		{"Mar Mon 08:00 BST (07:00 UTC)", london, "2026-03-30 07:00", false},
		{"Mar Mon 08:30 BST", london, "2026-03-30 07:30", false},
		// Wrapping over the end of the week (Sunday to Monday).
		{"wrap Sun 21:59", Span{From: "Sun 22:00", To: "Mon 02:00"}, "2026-11-22 21:59", false},
		{"wrap Sun 22:00", Span{From: "Sun 22:00", To: "Mon 02:00"}, "2026-11-22 22:00", true},
		{"wrap Mon 01:59", Span{From: "Sun 22:00", To: "Mon 02:00"}, "2026-11-23 01:59", true},
		{"wrap Mon 02:00", Span{From: "Sun 22:00", To: "Mon 02:00"}, "2026-11-23 02:00", false},
		{"wrap Wednesday", Span{From: "Sun 22:00", To: "Mon 02:00"}, "2026-11-25 23:00", false},
		{"weekend Saturday", london, "2026-11-21 12:00", true},
		{"weekend Wednesday", london, "2026-11-18 12:00", false},
		// Within one day; weekday names in any case.
		{"same day before", Span{From: "tue 10:00", To: "TUE 12:00"}, "2026-11-17 09:59", false},
		{"same day start", Span{From: "tue 10:00", To: "TUE 12:00"}, "2026-11-17 10:00", true},
		{"same day end", Span{From: "tue 10:00", To: "TUE 12:00"}, "2026-11-17 12:00", false},
		{"same time other day", Span{From: "tue 10:00", To: "TUE 12:00"}, "2026-11-18 11:00", false},
		// One-off, UTC by default.
		{"one-off before", Span{From: "2026-12-24 00:00", To: "2026-12-27 00:00"}, "2026-12-23 23:59", false},
		{"one-off start", Span{From: "2026-12-24 00:00", To: "2026-12-27 00:00"}, "2026-12-24 00:00", true},
		{"one-off last minute", Span{From: "2026-12-24 00:00", To: "2026-12-27 00:00"}, "2026-12-26 23:59", true},
		{"one-off end", Span{From: "2026-12-24 00:00", To: "2026-12-27 00:00"}, "2026-12-27 00:00", false},
		{"one-off next year", Span{From: "2026-12-24 00:00", To: "2026-12-27 00:00"}, "2027-12-25 00:00", false},
		// One-off in a zone: 00:00 EST is 05:00 UTC.
		{"one-off New York before", Span{From: "2026-12-24 00:00", To: "2026-12-27 00:00", TZ: "America/New_York"}, "2026-12-24 04:59", false},
		{"one-off New York start", Span{From: "2026-12-24 00:00", To: "2026-12-27 00:00", TZ: "America/New_York"}, "2026-12-24 05:00", true},
		// One-off across a DST change, by the local clock: 2026-10-25 02:00 GMT.
		{"one-off across DST", Span{From: "2026-10-24 12:00", To: "2026-10-25 02:00", TZ: "Europe/London"}, "2026-10-25 01:59", true},
		{"one-off across DST end", Span{From: "2026-10-24 12:00", To: "2026-10-25 02:00", TZ: "Europe/London"}, "2026-10-25 02:00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &checker{}
			sp, ok := parseSpan(c, "w", tt.span)
			if !ok {
				t.Fatalf("parseSpan: %v", c.problems)
			}
			if got := sp.contains(utc(t, tt.at)); got != tt.want {
				t.Errorf("contains(%s UTC): got %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

func TestSpan_Until(t *testing.T) {
	tests := []struct {
		span Span
		want string
	}{
		{Span{From: "Fri 16:00", To: "Mon 08:00", TZ: "Europe/London"}, "Mon 08:00 Europe/London"},
		{Span{From: "fri 16:00", To: "mon 8:00"}, "Mon 08:00 UTC"},
		{Span{From: "2026-12-24 00:00", To: "2026-12-27  00:00"}, "2026-12-27 00:00 UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			c := &checker{}
			sp, ok := parseSpan(c, "w", tt.span)
			if !ok {
				t.Fatalf("parseSpan: %v", c.problems)
			}
			if got := sp.until(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// windowSet has policies for deploy (auto on main), and windows to test
// break-glass routes.
func windowSet() Set {
	return Set{
		Groups: map[string][]string{"ops": {"U1", "U2", "U3"}, "owners": {"U4"}},
		Policies: []Policy{
			{Name: "deploy", Actions: kinds(cs.ActionDeploy, cs.ActionScale), Targets: []string{"*"}, Request: []string{"group:ops", "push"},
				Auto: &Auto{Branches: []string{"main"}}, Approve: reqs(req("owners", 1)), Expires: Duration(time.Hour)},
			{Name: "locks", Actions: kinds(cs.ActionLock), Targets: []string{"*"}, Request: []string{"group:ops"}},
		},
		Windows: []Window{
			{Name: "weekend", Actions: kinds(cs.ActionDeploy, cs.ActionScale, cs.ActionLock), Targets: []string{"*"},
				Deny:       Span{From: "Fri 16:00", To: "Mon 08:00", TZ: "Europe/London"},
				BreakGlass: &BreakGlass{Approve: reqs(req("ops", 2))}},
			{Name: "holidays", Actions: kinds(cs.ActionDeploy), Targets: []string{"www"},
				Deny:       Span{From: "2026-12-24 00:00", To: "2026-12-27 00:00"},
				BreakGlass: &BreakGlass{Approve: reqs(req("ops", 1), req("owners", 1))}},
			{Name: "migration", Actions: kinds(cs.ActionScale), Targets: []string{"db"},
				Deny: Span{From: "Wed 10:00", To: "Wed 12:00"}},
		},
	}
}

func TestEngine_DecideWindows(t *testing.T) {
	e := mustNew(t, windowSet())
	saturday := utc(t, "2026-11-21 12:00")
	christmas := utc(t, "2026-12-25 12:00") // a Friday, before 16:00
	boxingDay := utc(t, "2026-12-26 12:00") // a Saturday: both windows for www
	wednesday := utc(t, "2026-11-18 11:00")
	in := func(who cs.Actor, a cs.Action, now time.Time) Input {
		return Input{Action: a, Source: cs.SourceChat, Requester: who, Now: now}
	}
	deploy := func(target, bg string) cs.Action {
		return cs.Action{Kind: cs.ActionDeploy, Target: target, BreakGlass: bg}
	}
	pushBG := Input{Action: cs.Action{Kind: cs.ActionDeploy, Target: "svc", Branch: "main", BreakGlass: "hotfix"},
		Source: cs.SourcePush, Requester: "github:alice", Now: saturday}
	pushAuto := pushBG
	pushAuto.Action.BreakGlass = ""
	pushAuto.Now = wednesday

	tests := []struct {
		name string
		in   Input
		want want
	}{
		{"inside, no break glass", in("U1", deploy("svc", ""), saturday),
			want{verdict: cs.VerdictDeny, policy: "deploy", window: "weekend", reasons: []string{
				`change freeze "weekend" until Mon 08:00 Europe/London; use --break-glass REASON to ask for an exception`}}},
		{"inside, break glass", in("U1", deploy("svc", "outage"), saturday),
			want{verdict: cs.VerdictNeedsApproval, policy: "deploy", window: "weekend", breakGlass: true,
				requires: reqs(req("ops", 2)), expires: time.Hour, reasons: []string{`break-glass inside change freeze "weekend"`}}},
		{"auto branch, break glass: never auto", pushBG,
			want{verdict: cs.VerdictNeedsApproval, policy: "deploy", window: "weekend", breakGlass: true,
				requires: reqs(req("ops", 2)), expires: time.Hour}},
		{"auto branch outside the window", pushAuto,
			want{verdict: cs.VerdictAllow, policy: "deploy"}},
		{"one-off window", in("U1", deploy("www", ""), christmas),
			want{verdict: cs.VerdictDeny, policy: "deploy", window: "holidays", reasons: []string{
				`change freeze "holidays" until 2026-12-27 00:00 UTC`}}},
		{"one-off window, other target", in("U1", deploy("svc", ""), christmas),
			want{verdict: cs.VerdictNeedsApproval, policy: "deploy", requires: reqs(req("owners", 1)), expires: time.Hour}},
		{"two windows, break glass: both routes", in("U1", deploy("www", "outage"), boxingDay),
			want{verdict: cs.VerdictNeedsApproval, policy: "deploy", window: "weekend, holidays", breakGlass: true,
				requires: reqs(req("ops", 2), req("owners", 1)), expires: time.Hour}},
		{"window without a break-glass route", in("U1", cs.Action{Kind: cs.ActionScale, Target: "db", Replicas: 2, BreakGlass: "now"}, wednesday),
			want{verdict: cs.VerdictDeny, policy: "deploy", window: "migration", reasons: []string{
				`change freeze "migration" until Wed 12:00 UTC has no break-glass route`}}},
		{"window without a route, no break glass", in("U1", cs.Action{Kind: cs.ActionScale, Target: "db", Replicas: 2}, wednesday),
			want{verdict: cs.VerdictDeny, policy: "deploy", window: "migration", reasons: []string{"allows no break-glass exceptions"}}},
		{"window for other actions", in("U1", cs.Action{Kind: cs.ActionScale, Target: "svc", Replicas: 2}, wednesday),
			want{verdict: cs.VerdictNeedsApproval, policy: "deploy", requires: reqs(req("owners", 1)), expires: time.Hour}},
		{"lock without approval lines, in the window", in("U1", cs.Action{Kind: cs.ActionLock, Target: "svc"}, saturday),
			want{verdict: cs.VerdictDeny, policy: "locks", window: "weekend"}},
		{"break glass, requester not allowed", in("U9", deploy("svc", "outage"), saturday),
			want{verdict: cs.VerdictDeny, reasons: []string{`policy "deploy": U9 may not request`}}},
		{"no time given", in("U1", deploy("svc", ""), time.Time{}),
			want{verdict: cs.VerdictDeny, policy: "deploy", reasons: []string{"no time given"}}},
		{"outside, break glass not needed", in("U1", deploy("svc", "outage"), wednesday),
			want{verdict: cs.VerdictNeedsApproval, policy: "deploy", requires: reqs(req("owners", 1)), expires: time.Hour,
				reasons: []string{"no change freeze is in force"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDecision(t, e, e.Decide(tt.in), tt.want)
		})
	}
}

// Friday 15:59 and 16:00, Monday 07:59 and 08:00 London time on the
// weekends the clocks change, through Decide.
func TestEngine_DecideFreezeAcrossDST(t *testing.T) {
	e := mustNew(t, windowSet())
	tests := []struct {
		name string
		at   string // UTC
		want cs.Verdict
	}{
		{"Oct Fri 15:59 BST", "2026-10-23 14:59", cs.VerdictNeedsApproval},
		{"Oct Fri 16:00 BST", "2026-10-23 15:00", cs.VerdictDeny},
		{"Oct Mon 07:59 GMT", "2026-10-26 07:59", cs.VerdictDeny},
		{"Oct Mon 08:00 GMT", "2026-10-26 08:00", cs.VerdictNeedsApproval},
		{"Mar Fri 15:59 GMT", "2026-03-27 15:59", cs.VerdictNeedsApproval},
		{"Mar Fri 16:00 GMT", "2026-03-27 16:00", cs.VerdictDeny},
		{"Mar Mon 07:59 BST", "2026-03-30 06:59", cs.VerdictDeny},
		{"Mar Mon 08:00 BST", "2026-03-30 07:00", cs.VerdictNeedsApproval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Decide(Input{Action: cs.Action{Kind: cs.ActionDeploy, Target: "svc"}, Source: cs.SourceChat, Requester: "U1", Now: utc(t, tt.at)})
			if d.Verdict != tt.want {
				t.Errorf("got %q, want %q (reasons %q)", d.Verdict, tt.want, d.Reasons)
			}
		})
	}
}
