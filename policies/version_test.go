package policies

import (
	"regexp"
	"testing"

	cs "github.com/countersign/countersign"
)

func TestEngine_Version(t *testing.T) {
	base := mustNew(t, exampleSet()).Version()
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(base) {
		t.Fatalf("version %q: want 64 hex digits", base)
	}
	tests := []struct {
		name   string
		change func(s *Set)
		same   bool
	}{
		{"unchanged", func(s *Set) {}, true},
		{"members in another order", func(s *Set) { s.Groups["ops"] = []string{"U0OPS0003", "U0OPS0001", "U0OPS0002"} }, true},
		{"groups built in another order", func(s *Set) {
			g := map[string][]string{}
			for _, k := range []string{"www-owners", "devs", "ops"} {
				g[k] = s.Groups[k]
			}
			s.Groups = g
		}, true},
		{"new window", func(s *Set) {
			s.Windows = append(s.Windows, Window{Name: "x", Actions: kinds(cs.ActionDNS), Targets: []string{"*"}, Deny: Span{From: "Tue 10:00", To: "Tue 11:00"}})
		}, false},
		{"nil approvals as empty", func(s *Set) { s.Policies[3].Approve = nil }, true},
		{"approval count", func(s *Set) { s.Policies[1].Approve[0].Count = 2 }, false},
		{"expiry", func(s *Set) { s.Policies[2].Expires *= 2 }, false},
		{"policy order", func(s *Set) { s.Policies[0], s.Policies[1] = s.Policies[1], s.Policies[0] }, false},
		{"group member", func(s *Set) { s.Groups["www-owners"] = []string{"U0WWW0002"} }, false},
		{"new group", func(s *Set) { s.Groups["extra"] = []string{"U1"} }, false},
		{"window time", func(s *Set) { s.Windows[0].Deny.To = "Mon 09:00" }, false},
		{"break-glass route", func(s *Set) { s.Windows[0].BreakGlass.Approve[0].Count = 3 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := exampleSet()
			tt.change(&s)
			got := mustNew(t, s).Version()
			if same := got == base; same != tt.same {
				t.Errorf("version %s vs %s: same %v, want %v", got, base, same, tt.same)
			}
		})
	}
}

// The same window with and without tz: UTC hashes alike.
func TestEngine_VersionDefaultZone(t *testing.T) {
	a, b := exampleSet(), exampleSet()
	a.Windows[0].Deny = Span{From: "Fri 16:00", To: "Mon 08:00"}
	b.Windows[0].Deny = Span{From: "Fri 16:00", To: "Mon 08:00", TZ: "UTC"}
	if got, want := mustNew(t, a).Version(), mustNew(t, b).Version(); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// The engine keeps its own copy: changing the caller's set after New
// changes neither decisions nor the version.
func TestNew_CopiesSet(t *testing.T) {
	s := exampleSet()
	e := mustNew(t, s)
	version := e.Version()
	s.Policies[1].Approve[0].Count = 3
	s.Policies[1].Request[0] = "U9"
	s.Groups["ops"][0] = "U9"
	s.Windows[0].BreakGlass.Approve[0].Group = "www-owners"
	if got := e.Version(); got != version {
		t.Errorf("version: got %s, want %s", got, version)
	}
	d := e.Decide(Input{Action: cs.Action{Kind: cs.ActionDeploy, Target: "www"}, Source: cs.SourceChat,
		Requester: "U9", Now: utc(t, "2026-11-18 10:00")})
	if d.Verdict != cs.VerdictDeny {
		t.Errorf("verdict: got %q, want deny", d.Verdict)
	}
	if got := e.Members("ops"); len(got) != 3 || got[0] != "U0OPS0001" {
		t.Errorf("members: got %v", got)
	}
	e.Members("ops")[0] = "U9"
	if got := e.Members("ops")[0]; got != "U0OPS0001" {
		t.Errorf("members after changing the returned slice: got %q", got)
	}
	if got := e.Members("nope"); got != nil {
		t.Errorf("members of an unknown group: got %v, want nil", got)
	}
}
