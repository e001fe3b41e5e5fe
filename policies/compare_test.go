package policies

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

// compareSet is the base the table edits: an approved deploy with auto,
// a limited scale catch-all, a weekend freeze with a break-glass route.
func compareSet() Set {
	return Set{
		Groups: map[string][]string{
			"ops":    {"U1", "U2"},
			"owners": {"U3", "U4"},
			"dev":    {"U5"},
			"spare":  {"U6"},
		},
		Policies: []Policy{
			{Name: "www", Actions: kinds(cs.ActionDeploy), Targets: []string{"www"}, Request: []string{"group:ops", "push"},
				Auto: &Auto{Branches: []string{"main"}}, Approve: reqs(req("ops", 2), req("owners", 1)), Expires: Duration(time.Hour)},
			{Name: "scale", Actions: kinds(cs.ActionScale), Targets: []string{"*"}, Request: []string{"group:ops"},
				Approve: reqs(req("ops", 1)), Scale: &Limits{Min: 1, Max: 4}, Expires: Duration(30 * time.Minute)},
		},
		Windows: []Window{
			{Name: "weekend", Actions: kinds(cs.ActionDeploy), Targets: []string{"www"}, Deny: Span{From: "Fri 16:00", To: "Mon 08:00"},
				BreakGlass: &BreakGlass{Approve: reqs(req("ops", 2), req("owners", 1))}},
			{Name: "night", Actions: kinds(cs.ActionScale), Targets: []string{"*"}, Deny: Span{From: "Mon 00:00", To: "Mon 06:00"}},
		},
	}
}

func TestCompare_EachKindOfDifference(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *Set)
		path string
		// fwd is the direction of the change at path from the base to the
		// edited set; back from the edited set to the base.
		fwd, back Direction
	}{
		{"requester user", func(s *Set) { s.Policies[0].Request = append(s.Policies[0].Request, "U9") }, "policies[0].request", Looser, Stricter},
		{"requester group", func(s *Set) { s.Policies[0].Request = append(s.Policies[0].Request, "group:dev") }, "policies[0].request", Looser, Stricter},
		{"requester Slack user group", func(s *Set) { s.Policies[0].Request = append(s.Policies[0].Request, "usergroup:S1") }, "policies[0].request", Looser, Stricter},
		{"action", func(s *Set) { s.Policies[0].Actions = kinds(cs.ActionDeploy, cs.ActionRollback) }, "policies[0].actions", Looser, Stricter},
		{"target", func(s *Set) { s.Policies[0].Targets = []string{"www", "api"} }, "policies[0].targets", Looser, Stricter},
		{"fewer approvals", func(s *Set) { s.Policies[0].Approve = reqs(req("ops", 1), req("owners", 1)) }, "policies[0].approve", Looser, Stricter},
		{"approval group removed", func(s *Set) { s.Policies[0].Approve = reqs(req("ops", 2)) }, "policies[0].approve", Looser, Stricter},
		{"approver group swapped", func(s *Set) { s.Policies[1].Approve = reqs(req("dev", 1)) }, "policies[1].approve", Looser, Looser},
		{"auto branch", func(s *Set) { s.Policies[0].Auto.Branches = []string{"main", "release"} }, "policies[0].auto.branches", Looser, Stricter},
		{"auto added", func(s *Set) { s.Policies[1].Auto = &Auto{Branches: []string{"main"}} }, "policies[1].auto.branches", Looser, Stricter},
		{"expiry", func(s *Set) { s.Policies[0].Expires = Duration(2 * time.Hour) }, "policies[0].expires", Looser, Stricter},
		{"expiry to the default", func(s *Set) { s.Policies[0].Expires = 0 }, "policies[0].expires", Looser, Looser},
		{"limits widened", func(s *Set) { s.Policies[1].Scale = &Limits{Min: 0, Max: 10} }, "policies[1].scale", Looser, Stricter},
		{"limits removed", func(s *Set) { s.Policies[1].Scale = nil }, "policies[1].scale", Looser, Stricter},
		{"limits shifted", func(s *Set) { s.Policies[1].Scale = &Limits{Min: 2, Max: 6} }, "policies[1].scale", Looser, Looser},
		{"window removed", func(s *Set) { s.Windows = s.Windows[1:] }, "windows[0]", Looser, Stricter},
		{"window shortened", func(s *Set) { s.Windows[0].Deny.From = "Sat 00:00" }, "windows[0].deny", Looser, Stricter},
		{"window moved", func(s *Set) { s.Windows[1].Deny = Span{From: "Tue 00:00", To: "Tue 06:00"} }, "windows[1].deny", Looser, Looser},
		{"window in another zone", func(s *Set) { s.Windows[1].Deny.TZ = "Europe/London" }, "windows[1].deny", Looser, Looser},
		{"window narrowed", func(s *Set) { s.Windows[1].Targets = []string{"api"} }, "windows[1].targets", Looser, Stricter},
		{"break-glass easier", func(s *Set) { s.Windows[0].BreakGlass.Approve = reqs(req("ops", 2)) }, "windows[0].break_glass.approve", Looser, Stricter},
		{"break-glass allowed", func(s *Set) { s.Windows[1].BreakGlass = &BreakGlass{Approve: reqs(req("ops", 2))} }, "windows[1].break_glass", Looser, Stricter},
		{"approver added to a group", func(s *Set) { s.Groups["owners"] = append(s.Groups["owners"], "U7") }, "groups.owners", Looser, Stricter},
		{"Slack user group added to a group", func(s *Set) { s.Groups["ops"] = append(s.Groups["ops"], "usergroup:S1") }, "groups.ops", Looser, Stricter},
		{"unused group", func(s *Set) { s.Groups["spare"] = []string{"U6", "U8"} }, "groups.spare", Neutral, Neutral},
		{"policy added that allows what none did", func(s *Set) {
			s.Policies = append(s.Policies, Policy{Name: "api", Actions: kinds(cs.ActionDeploy), Targets: []string{"api"}, Request: []string{"group:dev"}})
		}, "policies[2]", Looser, Stricter},
		{"stricter policy added before the catch-all", func(s *Set) {
			prod := Policy{Name: "prod", Actions: kinds(cs.ActionScale), Targets: []string{"prod"}, Request: []string{"group:ops"},
				Approve: reqs(req("ops", 2)), Scale: &Limits{Min: 2, Max: 4}, Expires: Duration(10 * time.Minute)}
			s.Policies = []Policy{s.Policies[0], prod, s.Policies[1]}
		}, "policies[1]", Neutral, Looser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, edited := compareSet(), compareSet()
			tt.edit(&edited)
			mustNew(t, base)
			mustNew(t, edited)
			fwd := Compare(base, edited)
			checkChange(t, "base → edited", fwd, tt.path, tt.fwd)
			back := Compare(edited, base)
			checkChange(t, "edited → base", back, tt.path, tt.back)
		})
	}
}

// checkChange wants a change at path with direction dir, and Looser to
// be true exactly when some change is looser, which dir decides unless a
// hand-over finding adds one.
func checkChange(t *testing.T, what string, d Diff, path string, dir Direction) {
	t.Helper()
	found := false
	for _, c := range d.Changes {
		if c.Path == path && c.Direction == dir {
			found = true
			if c.Say == "" {
				t.Errorf("%s: change at %s says nothing", what, path)
			}
		}
	}
	if !found {
		t.Errorf("%s: no %s change at %s in\n%s", what, dir, path, diffText(d))
	}
	if dir == Looser && !d.Looser() {
		t.Errorf("%s: Looser() is false with a looser change", what)
	}
	if dir != Looser && d.Looser() {
		t.Errorf("%s: Looser() is true; changes:\n%s", what, diffText(d))
	}
}

// First match: narrowing, removing or reordering policies hands requests
// over to others; Compare must see when those decide more loosely.
func TestCompare_HandOver(t *testing.T) {
	strict := Policy{Name: "strict", Actions: kinds(cs.ActionDeploy), Targets: []string{"www"}, Request: []string{"U1", "group:ops"},
		Approve: reqs(req("owners", 1))}
	open := Policy{Name: "open", Actions: kinds(cs.ActionDeploy), Targets: []string{"*"}, Request: []string{"group:ops"}}
	groups := map[string][]string{"ops": {"U1", "U2"}, "owners": {"U3"}}
	set := func(p ...Policy) Set { return Set{Policies: p, Groups: groups} }
	narrowed := strict
	narrowed.Request = []string{"U1"}

	tests := []struct {
		name     string
		old, new Set
		looser   bool
		path     string // where the looser change is
	}{
		{"reordered so the open policy comes first", set(strict, open), set(open, strict), true, "policies[0]"},
		{"reordered so the strict policy comes first", set(open, strict), set(strict, open), false, ""},
		{"strict policy removed: its requests fall through", set(strict, open), set(open), true, "policies[0]"},
		{"requester removed: they fall through", set(strict, open), set(narrowed, open), true, "policies[1]"},
		{"requester removed, nothing to fall through to", set(strict), set(narrowed), false, ""},
		{"same policies", set(strict, open), set(strict, open), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustNew(t, tt.old)
			mustNew(t, tt.new)
			d := Compare(tt.old, tt.new)
			if d.Looser() != tt.looser {
				t.Fatalf("Looser() = %v, want %v; changes:\n%s", d.Looser(), tt.looser, diffText(d))
			}
			if tt.looser {
				checkChange(t, "old → new", d, tt.path, Looser)
			}
		})
	}
}

// A new window whose break-glass route needs less than a policy it covers
// makes a request easier inside it (with --break-glass) than outside.
func TestCompare_NewWindowWithEasyBreakGlass(t *testing.T) {
	old := compareSet()
	old.Windows = nil
	easy, firm := old, old
	easy.Windows = []Window{{Name: "xmas", Actions: kinds(cs.ActionDeploy), Targets: []string{"*"},
		Deny: Span{From: "2026-12-24 00:00", To: "2026-12-27 00:00"}, BreakGlass: &BreakGlass{Approve: reqs(req("owners", 1))}}}
	firm.Windows = []Window{easy.Windows[0]}
	firm.Windows[0].BreakGlass = &BreakGlass{Approve: reqs(req("ops", 2), req("owners", 2))}

	d := Compare(old, easy)
	checkChange(t, "easy", d, "windows[0].break_glass", Looser)
	if !strings.Contains(diffText(d), `less than policy "www"`) {
		t.Errorf("the finding does not name the policy:\n%s", diffText(d))
	}
	checkChange(t, "firm", Compare(old, firm), "windows[0]", Stricter)
}

func TestCompare_EqualSets(t *testing.T) {
	base := compareSet()
	same := compareSet()
	same.Groups = map[string][]string{ // another map, members in another order
		"spare":  {"U6"},
		"dev":    {"U5"},
		"owners": {"U4", "U3"},
		"ops":    {"U2", "U1", "U2"},
	}
	same.Windows = []Window{same.Windows[1], same.Windows[0]}
	same.Windows[1].Deny.TZ = "UTC"
	same.Policies[0].Request = []string{"push", "group:ops"}
	same.Policies[0].Approve = reqs(req("owners", 1), req("ops", 2))

	d := Compare(base, same)
	if !d.Equal() || d.Looser() {
		t.Errorf("equal sets: Equal %v, Looser %v; changes:\n%s", d.Equal(), d.Looser(), diffText(d))
	}
	if d := Compare(base, base); !d.Equal() {
		t.Errorf("a set against itself:\n%s", diffText(d))
	}
}

func TestCompare_InvalidSetIsLooser(t *testing.T) {
	bad := compareSet()
	bad.Policies[0].Approve = reqs(req("nosuch", 1))
	for name, d := range map[string]Diff{"new invalid": Compare(compareSet(), bad), "old invalid": Compare(bad, compareSet())} {
		if !d.Looser() {
			t.Errorf("%s: not looser:\n%s", name, diffText(d))
		}
		if !strings.Contains(diffText(d), `unknown group "nosuch"`) {
			t.Errorf("%s: the problem is not named:\n%s", name, diffText(d))
		}
	}
}

// The diff is what an audit record and a Slack card carry.
func TestCompare_JSONAndWords(t *testing.T) {
	edited := compareSet()
	edited.Policies[0].Approve = reqs(req("ops", 1), req("owners", 1))
	d := Compare(compareSet(), edited)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"changes":[{"path":"policies[0].approve","direction":"looser","before":"2 from ops","after":"1 from ops","say":"policy \"www\" approvals: fewer from ops, 2 → 1"}]}`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
	var back Diff
	if err := json.Unmarshal(b, &back); err != nil || !back.Looser() {
		t.Errorf("round trip: %v, looser %v", err, back.Looser())
	}
}

// Paths name the window in the new set: a finding about "night", now
// first, must not land on "weekend", now second and unchanged.
func TestCompare_WindowPathsFollowTheNewOrder(t *testing.T) {
	edited := compareSet()
	edited.Windows = []Window{edited.Windows[1], edited.Windows[0]}
	edited.Windows[0].Deny.TZ = "Europe/London"
	d := Compare(compareSet(), edited)
	checkChange(t, "base → edited", d, "windows[0].deny", Looser)
	for _, c := range d.Changes {
		if strings.HasPrefix(c.Path, "windows[1]") {
			t.Errorf("change at %s, where the unchanged window is: %s", c.Path, c.Say)
		}
	}
}
