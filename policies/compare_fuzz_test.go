package policies

import (
	"fmt"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

// FuzzCompare checks that Compare is sound: when it says a new set is not
// looser, no sample request the new set lets through was refused by the
// old one, or let through with less. "Lets through" is a Decision whose
// verdict is allow (no approval) or needs_approval (with Requires); an
// allow is looser than needs_approval, which is looser than deny. Between
// two needs_approval decisions the new one must have, for every line of
// the old one, a line of the same group with at least its count, that
// group no larger than before, and an expiry no longer.
//
// The new set is the old one with a few random edits, so that many pairs
// are not looser and the property is tested, not skipped.
//
//	go test ./policies -run '^$' -fuzz FuzzCompare -fuzztime 5m
func FuzzCompare(f *testing.F) {
	for _, seed := range [][]byte{
		{},
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		{2, 31, 7, 1, 0, 3, 1, 1, 2, 0, 1, 0, 5, 1, 1, 0, 2, 1, 3, 0, 0, 4},
		{0, 9, 9, 9, 2, 1, 4, 0, 1, 3, 2, 2, 1, 1, 2, 1, 0, 1, 1, 2, 3, 4, 5, 6, 7},
		[]byte("countersign policies: a looser set must never pass as stricter"),
	} {
		f.Add(seed)
	}
	samples := sampleInputs()
	f.Fuzz(func(t *testing.T, data []byte) {
		ch := &chooser{b: data}
		old := genSet(ch)
		new := cloneSet(old)
		for range 1 + ch.n(3) {
			mutate(ch, &new)
		}
		oe, err1 := New(old)
		ne, err2 := New(new)
		if err1 != nil || err2 != nil {
			return // only valid sets are compared this way
		}
		d := Compare(old, new)
		if d.Looser() {
			return
		}
		for _, in := range samples {
			od, nd := oe.Decide(in), ne.Decide(in)
			if why := looserDecision(oe, od, ne, nd); why != "" {
				t.Fatalf("Compare says not looser:\n%s\nbut for %+v (%s at %s, break-glass %q):\n%s\nold: %s %v %v\nnew: %s %v %v\nold set: %+v\nnew set: %+v",
					diffText(d), in.Action, in.Requester, in.Now.Format(time.RFC1123), in.Action.BreakGlass, why,
					od.Verdict, od.Requires, od.Reasons, nd.Verdict, nd.Requires, nd.Reasons, old, new)
			}
		}
	})
}

// looserDecision says how nd (by engine ne) is looser than od (by oe), or
// "" if it is not.
func looserDecision(oe *Engine, od cs.Decision, ne *Engine, nd cs.Decision) string {
	switch {
	case nd.Verdict == cs.VerdictDeny || od.Verdict == cs.VerdictAllow:
		return ""
	case nd.Verdict == cs.VerdictAllow:
		return "allowed now, was " + string(od.Verdict)
	case od.Verdict == cs.VerdictDeny:
		return "needs approval now, was denied"
	}
	have := requireCounts(nd.Requires)
	for _, r := range od.Requires {
		if have[r.Group] < r.Count {
			return fmt.Sprintf("needs %v now, was %v", nd.Requires, od.Requires)
		}
		if extra := setMinus(memberSet(ne.Members(r.Group)), memberSet(oe.Members(r.Group))); len(extra) > 0 {
			return fmt.Sprintf("group %s gained %v", r.Group, extra)
		}
	}
	if !expiryWithin(Duration(nd.ExpiresIn), Duration(od.ExpiresIn)) {
		return fmt.Sprintf("expires in %v now, was %v", nd.ExpiresIn, od.ExpiresIn)
	}
	return ""
}

func diffText(d Diff) string {
	s := ""
	for _, c := range d.Changes {
		s += fmt.Sprintf("  %s %s: %s\n", c.Direction, c.Path, c.Say)
	}
	return s
}

// chooser turns fuzz bytes into choices; once they run out, every choice
// is 0.
type chooser struct{ b []byte }

func (c *chooser) n(k int) int {
	if len(c.b) == 0 || k <= 1 {
		return 0
	}
	v := int(c.b[0]) % k
	c.b = c.b[1:]
	return v
}

func pick[T any](c *chooser, from []T) T { return from[c.n(len(from))] }

// some picks a non-empty subset of from, by a bit mask.
func some[T any](c *chooser, from []T) []T {
	mask := 1 + c.n(1<<len(from)-1)
	var out []T
	for i, v := range from {
		if mask&(1<<i) != 0 {
			out = append(out, v)
		}
	}
	return out
}

var (
	fzKinds    = []cs.ActionKind{cs.ActionDeploy, cs.ActionScale, cs.ActionDNS}
	fzTargets  = []string{"www", "w*", "api", "*", "WWW.Example.org."}
	fzRequest  = []string{"push", "group:ops", "group:dev", "U1", "U4", "usergroup:S1", "github:alice"}
	fzGroups   = []string{"ops", "dev", "owners"}
	fzMembers  = []string{"U1", "U2", "U3", "U4", "usergroup:S2"}
	fzBranches = []string{"main", "dev"}
	fzExpires  = []Duration{0, Duration(30 * time.Minute), Duration(time.Hour)}
	fzSpans    = []Span{
		{From: "Mon 00:00", To: "Mon 12:00"},
		{From: "Mon 06:00", To: "Mon 09:00"},
		{From: "Sun 20:00", To: "Mon 08:00"},
		{From: "Mon 10:00", To: "Tue 00:00"},
		{From: "2026-11-16 00:00", To: "2026-11-17 00:00"},
		{From: "Mon 00:00", To: "Mon 12:00", TZ: "Europe/London"},
	}
	fzLimits = []*Limits{nil, {Min: 1, Max: 3}, {Min: 0, Max: 5}, {Min: 2, Max: 6}}
)

func genSet(c *chooser) Set {
	s := Set{Groups: map[string][]string{}}
	for _, g := range fzGroups {
		s.Groups[g] = some(c, fzMembers)
	}
	for i := range 1 + c.n(3) {
		s.Policies = append(s.Policies, genPolicy(c, fmt.Sprintf("p%d", i)))
	}
	for i := range c.n(3) {
		s.Windows = append(s.Windows, genWindow(c, fmt.Sprintf("w%d", i)))
	}
	return s
}

func genPolicy(c *chooser, name string) Policy {
	p := Policy{
		Name:    name,
		Actions: some(c, fzKinds),
		Targets: some(c, fzTargets[:2+c.n(4)]),
		Request: some(c, fzRequest[c.n(4):]),
		Approve: genRequires(c, 0),
		Expires: pick(c, fzExpires),
		Scale:   pick(c, fzLimits),
	}
	if c.n(2) == 1 {
		p.Auto = &Auto{Branches: some(c, fzBranches)}
	}
	return p
}

func genRequires(c *chooser, least int) []cs.Requirement {
	var r []cs.Requirement
	for _, g := range fzGroups[:least+c.n(len(fzGroups)+1-least)] {
		r = append(r, cs.Requirement{Group: g, Count: 1 + c.n(2)})
	}
	return r
}

func genWindow(c *chooser, name string) Window {
	w := Window{Name: name, Actions: some(c, fzKinds), Targets: []string{pick(c, fzTargets)}, Deny: pick(c, fzSpans)}
	if c.n(2) == 1 {
		w.BreakGlass = &BreakGlass{Approve: genRequires(c, 1)}
	}
	return w
}

// mutate makes one random edit to s.
func mutate(c *chooser, s *Set) {
	np, nw := len(s.Policies), len(s.Windows)
	switch c.n(12) {
	case 0:
		s.Groups[pick(c, fzGroups)] = some(c, fzMembers)
	case 1:
		if np > 0 {
			i, j := c.n(np), c.n(np)
			s.Policies[i], s.Policies[j] = s.Policies[j], s.Policies[i]
		}
	case 2:
		if np > 1 {
			i := c.n(np)
			s.Policies = append(s.Policies[:i:i], s.Policies[i+1:]...)
		}
	case 3:
		i := c.n(np + 1)
		p := genPolicy(c, fmt.Sprintf("n%d", np))
		s.Policies = append(s.Policies[:i:i], append([]Policy{p}, s.Policies[i:]...)...)
	case 4, 5, 6, 7:
		if np > 0 {
			// Replace one field by the same field of a fresh policy.
			i, fresh := c.n(np), genPolicy(c, "")
			p := &s.Policies[i]
			switch c.n(7) {
			case 0:
				p.Actions = fresh.Actions
			case 1:
				p.Targets = fresh.Targets
			case 2:
				p.Request = fresh.Request
			case 3:
				p.Approve = fresh.Approve
			case 4:
				p.Auto = fresh.Auto
			case 5:
				p.Expires = fresh.Expires
			case 6:
				p.Scale = fresh.Scale
			}
		}
	case 8:
		if nw > 0 {
			i := c.n(nw)
			s.Windows = append(s.Windows[:i:i], s.Windows[i+1:]...)
		}
	case 9:
		s.Windows = append(s.Windows, genWindow(c, fmt.Sprintf("m%d", nw)))
	case 10, 11:
		if nw > 0 {
			i, fresh := c.n(nw), genWindow(c, "")
			w := &s.Windows[i]
			switch c.n(4) {
			case 0:
				w.Actions = fresh.Actions
			case 1:
				w.Targets = fresh.Targets
			case 2:
				w.Deny = fresh.Deny
			case 3:
				w.BreakGlass = fresh.BreakGlass
			}
		}
	}
}

// sampleInputs are the requests both engines decide: every kind, a few
// targets, chat users in and out of the groups (U3 through usergroup S1,
// U4 and U5 through S2), a push, both branches, times in and out of the
// windows (and none), with and without --break-glass, several replicas.
func sampleInputs() []Input {
	usergroups := map[string][]cs.Actor{"S1": {"U3"}, "S2": {"U4", "U5"}}
	mon := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	times := []time.Time{{}, mon.Add(3 * time.Hour), mon.Add(7 * time.Hour), mon.Add(11 * time.Hour),
		mon.Add(15 * time.Hour), mon.Add(-2 * time.Hour), mon.Add(7*24*time.Hour + 7*time.Hour)}
	type who struct {
		actor  cs.Actor
		source cs.Source
		branch string
	}
	whos := []who{{"U1", cs.SourceChat, ""}, {"U2", cs.SourceChat, ""}, {"U3", cs.SourceChat, ""},
		{"U4", cs.SourceChat, ""}, {"U5", cs.SourceChat, ""},
		{"github:alice", cs.SourcePush, "main"}, {"github:alice", cs.SourcePush, "dev"}}
	var out []Input
	for _, k := range fzKinds {
		replicas := []int{0}
		if k == cs.ActionScale {
			replicas = []int{1, 3, 6}
		}
		for _, target := range []string{"www", "wx", "api", "www.example.org"} {
			for _, w := range whos {
				for _, n := range replicas {
					for _, now := range times {
						for _, bg := range []string{"", "outage"} {
							out = append(out, Input{
								Action:     cs.Action{Kind: k, Target: target, Branch: w.branch, Replicas: n, BreakGlass: bg},
								Source:     w.source,
								Requester:  w.actor,
								Usergroups: usergroups,
								Now:        now,
							})
						}
					}
				}
			}
		}
	}
	return out
}
