package bot_test

import (
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/policies"
)

// TestCompareRules: what besides the policies decides what they allow,
// each kind of change in both directions where it has two.
func TestCompareRules(t *testing.T) {
	engine, err := policies.New(testPolicies(3))
	if err != nil {
		t.Fatal(err)
	}
	base := func() *bot.Rules {
		return &bot.Rules{Policy: engine,
			Services: []bot.Service{
				{Name: "api", Repo: "org/api", Branch: "live", Channel: "C1", Runs: "swarm service api on engine prod (tcp://a)"},
				{Name: "www", Channel: "C1", Runs: "unikernel www on host h1"},
			},
			Zones:      []bot.Zone{{Name: "example.org.", Runs: "server ns:53, key k., types A"}},
			Identities: map[string]cs.Actor{"alice": "U1", "bob": "U2"},
		}
	}
	for _, tc := range []struct {
		name string
		edit func(r *bot.Rules)
		path string
		want policies.Direction // "": no change at all
	}{
		{"nothing", func(*bot.Rules) {}, "", ""},
		{"service added", func(r *bot.Rules) { r.Services = append(r.Services, bot.Service{Name: "new", Runs: "x"}) }, "services.new", policies.Looser},
		{"service removed", func(r *bot.Rules) { r.Services = r.Services[:1] }, "services.www", policies.Stricter},
		{"service moved to another engine", func(r *bot.Rules) { r.Services[0].Runs = "swarm service api on engine other (tcp://b)" }, "services.api", policies.Looser},
		{"Swarm service renamed", func(r *bot.Rules) { r.Services[0].Runs = "swarm service api2 on engine prod (tcp://a)" }, "services.api", policies.Looser},
		{"deployed by another branch", func(r *bot.Rules) { r.Services[0].Branch = "main" }, "services.api.repo", policies.Looser},
		{"channel", func(r *bot.Rules) { r.Services[1].Channel = "C2" }, "services.www.channel", policies.Neutral},
		{"image repository", func(r *bot.Rules) { r.Services[1].Image = "reg/other" }, "services.www.image", policies.Looser},
		{"zone added", func(r *bot.Rules) { r.Zones = append(r.Zones, bot.Zone{Name: "example.net.", Runs: "y"}) }, "dns.example.net", policies.Looser},
		{"zone removed", func(r *bot.Rules) { r.Zones = nil }, "dns.example.org", policies.Stricter},
		{"zone's types", func(r *bot.Rules) { r.Zones[0].Runs = "server ns:53, key k., types A NS" }, "dns.example.org", policies.Looser},
		{"identity added", func(r *bot.Rules) { r.Identities["carol"] = "U3" }, "identities.github.carol", policies.Stricter},
		{"identity removed", func(r *bot.Rules) { delete(r.Identities, "bob") }, "identities.github.bob", policies.Looser},
		{"identity changed", func(r *bot.Rules) { r.Identities["alice"] = "U9" }, "identities.github.alice", policies.Looser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := base()
			next.Identities = map[string]cs.Actor{"alice": "U1", "bob": "U2"}
			tc.edit(next)
			d := bot.CompareRules(base(), next)
			if tc.want == "" {
				if !d.Equal() {
					t.Fatalf("changes %+v, want none", d.Changes)
				}
				return
			}
			if len(d.Changes) != 1 || d.Changes[0].Path != tc.path || d.Changes[0].Direction != tc.want || d.Changes[0].Say == "" {
				t.Fatalf("changes %+v, want one %s at %s, said", d.Changes, tc.want, tc.path)
			}
			if d.Looser() != (tc.want == policies.Looser) {
				t.Errorf("Looser() = %v", d.Looser())
			}
		})
	}
}
