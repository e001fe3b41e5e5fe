package policies

import (
	"errors"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

// validSet is a small valid set that the cases below break one way each.
func validSet() Set {
	return Set{
		Groups: map[string][]string{"ops": {"U1", "U2"}, "one": {"U1"}, "devs": {"usergroup:S1"}},
		Policies: []Policy{{
			Name: "p", Actions: kinds(cs.ActionDeploy), Targets: []string{"*"}, Request: []string{"group:ops"},
			Approve: reqs(req("ops", 1)),
		}},
		Windows: []Window{{
			Name: "w", Actions: kinds(cs.ActionDeploy), Targets: []string{"*"},
			Deny:       Span{From: "Fri 16:00", To: "Mon 08:00", TZ: "Europe/London"},
			BreakGlass: &BreakGlass{Approve: reqs(req("ops", 2))},
		}},
	}
}

func TestNew_Problems(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *Set)
		want   []Problem // Message: a substring of the message
	}{
		{"valid", func(s *Set) {}, nil},
		{"unknown approve group", func(s *Set) { s.Policies[0].Approve[0].Group = "opz" },
			[]Problem{{"policies[0].approve[0].group", `unknown group "opz"`}}},
		{"unknown time zone", func(s *Set) { s.Windows[0].Deny.TZ = "Europe/Lundon" },
			[]Problem{{"windows[0].deny.tz", `unknown time zone "Europe/Lundon"`}}},
		{"Local time zone", func(s *Set) { s.Windows[0].Deny.TZ = "Local" },
			[]Problem{{"windows[0].deny.tz", "depends on the machine"}}},
		{"unknown action", func(s *Set) { s.Policies[0].Actions = kinds("deploi") },
			[]Problem{{"policies[0].actions[0]", `unknown action "deploi"`}}},
		{"no actions", func(s *Set) { s.Policies[0].Actions = nil },
			[]Problem{{"policies[0].actions", "at least one action"}}},
		{"duplicate policy name", func(s *Set) { s.Policies = append(s.Policies, s.Policies[0]) },
			[]Problem{{"policies[1].name", `duplicate policy name "p" (also policies[0])`}}},
		{"missing policy name", func(s *Set) { s.Policies[0].Name = " " },
			[]Problem{{"policies[0].name", "missing name"}}},
		{"count below 1", func(s *Set) { s.Policies[0].Approve[0].Count = 0 },
			[]Problem{{"policies[0].approve[0].count", "must be at least 1, not 0"}}},
		{"count above the group", func(s *Set) { s.Policies[0].Approve[0].Count = 3 },
			[]Problem{{"policies[0].approve[0].count", `needs 3 approvals but group "ops" has 2 members`}}},
		{"count unknowable with a usergroup", func(s *Set) { s.Policies[0].Approve = reqs(req("devs", 5)) }, nil},
		{"lines need more people than there are", func(s *Set) { s.Policies[0].Approve = reqs(req("ops", 2), req("one", 1)) },
			[]Problem{{"policies[0].approve", "needs 3 distinct approvers but its groups have 2 members together"}}},
		{"group listed twice", func(s *Set) { s.Policies[0].Approve = reqs(req("ops", 1), req("ops", 1)) },
			[]Problem{{"policies[0].approve[1].group", `group "ops" is already listed at policies[0].approve[0]`}}},
		{"scale min above max", func(s *Set) { s.Policies[0].Scale = &Limits{Min: 5, Max: 3} },
			[]Problem{{"policies[0].scale", "min 5 is greater than max 3"}}},
		{"scale min negative", func(s *Set) { s.Policies[0].Scale = &Limits{Min: -1, Max: 3} },
			[]Problem{{"policies[0].scale.min", "must not be negative"}}},
		{"bad target glob", func(s *Set) { s.Policies[0].Targets = []string{"www", "[a-"} },
			[]Problem{{"policies[0].targets[1]", `bad glob "[a-"`}}},
		{"empty target", func(s *Set) { s.Windows[0].Targets = []string{""} },
			[]Problem{{"windows[0].targets[0]", "empty target"}}},
		{"no targets", func(s *Set) { s.Policies[0].Targets = nil },
			[]Problem{{"policies[0].targets", "at least one target"}}},
		{"unknown request group", func(s *Set) { s.Policies[0].Request = []string{"push", "group:dev"} },
			[]Problem{{"policies[0].request[1]", `unknown group "dev"`}}},
		{"unknown requester kind", func(s *Set) { s.Policies[0].Request = []string{"grp:ops"} },
			[]Problem{{"policies[0].request[0]", `unknown requester "grp:ops"`}}},
		{"empty usergroup", func(s *Set) { s.Policies[0].Request = []string{"usergroup:"} },
			[]Problem{{"policies[0].request[0]", "needs a Slack user group ID"}}},
		{"nobody may request", func(s *Set) { s.Policies[0].Request = nil },
			[]Problem{{"policies[0].request", "must list who may request"}}},
		{"other requester kinds are fine", func(s *Set) {
			s.Policies[0].Request = []string{"push", "usergroup:S9", "U7", "W8", "github:talex5", "group:devs"}
		}, nil},
		{"auto without branches", func(s *Set) { s.Policies[0].Auto = &Auto{} },
			[]Problem{{"policies[0].auto.branches", "at least one branch"}}},
		{"auto with an empty branch", func(s *Set) { s.Policies[0].Auto = &Auto{Branches: []string{"main", ""}} },
			[]Problem{{"policies[0].auto.branches[1]", "empty branch name"}}},
		{"negative expiry", func(s *Set) { s.Policies[0].Expires = Duration(-time.Minute) },
			[]Problem{{"policies[0].expires", "must not be negative"}}},
		{"bad from", func(s *Set) { s.Windows[0].Deny.From = "Fry 16:00" },
			[]Problem{{"windows[0].deny.from", `cannot parse "Fry 16:00"`}}},
		{"bad to", func(s *Set) { s.Windows[0].Deny.To = "Mon 24:00" },
			[]Problem{{"windows[0].deny.to", `cannot parse "Mon 24:00"`}}},
		{"bad date", func(s *Set) { s.Windows[0].Deny = Span{From: "2026-02-30 00:00", To: "2026-03-02 00:00"} },
			[]Problem{{"windows[0].deny.from", `cannot parse "2026-02-30 00:00"`}}},
		{"weekly and one-off mixed", func(s *Set) { s.Windows[0].Deny.To = "2026-12-27 00:00" },
			[]Problem{{"windows[0].deny", "must both be weekly"}}},
		{"same weekly time", func(s *Set) { s.Windows[0].Deny.To = "fri 16:00" },
			[]Problem{{"windows[0].deny", "from and to are the same time (Fri 16:00)"}}},
		{"one-off backwards", func(s *Set) { s.Windows[0].Deny = Span{From: "2026-12-27 00:00", To: "2026-12-24 00:00"} },
			[]Problem{{"windows[0].deny", "to (2026-12-24 00:00) is not after from (2026-12-27 00:00)"}}},
		{"duplicate window name", func(s *Set) { s.Windows = append(s.Windows, s.Windows[0]) },
			[]Problem{{"windows[1].name", `duplicate window name "w" (also windows[0])`}}},
		{"window action unknown", func(s *Set) { s.Windows[0].Actions = kinds("deploy", "reboot") },
			[]Problem{{"windows[0].actions[1]", `unknown action "reboot"`}}},
		{"break glass without approvals", func(s *Set) { s.Windows[0].BreakGlass.Approve = nil },
			[]Problem{{"windows[0].break_glass.approve", "must list at least one approval"}}},
		{"break glass unknown group", func(s *Set) { s.Windows[0].BreakGlass.Approve[0].Group = "opz" },
			[]Problem{{"windows[0].break_glass.approve[0].group", `unknown group "opz"`}}},
		{"bad group members", func(s *Set) { s.Groups["bad"] = []string{"", "group:ops", "usergroup:", "x:y", "U 1"} },
			[]Problem{
				{"groups.bad[0]", "empty member"},
				{"groups.bad[1]", "groups cannot contain groups"},
				{"groups.bad[2]", "needs a Slack user group ID"},
				{"groups.bad[3]", `bad member "x:y"`},
				{"groups.bad[4]", "contains spaces"},
			}},
		{"bad group name", func(s *Set) { s.Groups["a b"] = []string{"U1"} },
			[]Problem{{"groups", `bad group name "a b"`}}},
		// Several at once, each with its path, in config order.
		{"several problems", func(s *Set) {
			s.Policies = append(s.Policies, Policy{Name: "p", Actions: kinds("deploi"), Targets: []string{"*"},
				Request: []string{"group:opz"}, Approve: reqs(req("opz", 1))})
			s.Windows[0].Deny.TZ = "Europe/Lundon"
			s.Windows[0].Deny.From = "Fri"
		}, []Problem{
			{"policies[1].name", "duplicate policy name"},
			{"policies[1].actions[0]", `unknown action "deploi"`},
			{"policies[1].request[0]", `unknown group "opz"`},
			{"policies[1].approve[0].group", `unknown group "opz"`},
			{"windows[0].deny.tz", `unknown time zone "Europe/Lundon"`},
			{"windows[0].deny.from", `cannot parse "Fri"`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSet()
			tt.change(&s)
			e, err := New(s)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("New: got %v, want no error", err)
				}
				if e == nil {
					t.Fatal("New: got a nil engine")
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("New: got %v, want a *ValidationError", err)
			}
			if e != nil {
				t.Errorf("New: got an engine with an error")
			}
			got := verr.Problems
			if len(got) != len(tt.want) {
				t.Fatalf("problems: got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i].Path != tt.want[i].Path || !strings.Contains(got[i].Message, tt.want[i].Message) {
					t.Errorf("problem %d: got %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestValidationError_Error(t *testing.T) {
	err := &ValidationError{Problems: []Problem{
		{"policies[1].approve[0].group", `unknown group "opz"`},
		{"windows[0].deny.tz", `unknown time zone "Europe/Lundon"`},
	}}
	want := "policies[1].approve[0].group: unknown group \"opz\"\nwindows[0].deny.tz: unknown time zone \"Europe/Lundon\""
	if got := err.Error(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
