package bot_test

import (
	"testing"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/policies"
)

// TestCompareRules_Gates: a gate added, or deciding another environment,
// loosens the rules; one removed tightens them; a channel is neutral.
func TestCompareRules_Gates(t *testing.T) {
	engine, err := policies.New(testPolicies(3))
	if err != nil {
		t.Fatal(err)
	}
	base := func() *bot.Rules {
		return &bot.Rules{Policy: engine, Gates: []bot.Gate{{Name: "web-prod", Repo: "org/web", Environment: "production", Channel: "C1"}}}
	}
	for _, tc := range []struct {
		name string
		edit func(r *bot.Rules)
		path string
		want policies.Direction // "": no change at all
	}{
		{"nothing", func(*bot.Rules) {}, "", ""},
		{"repo's case", func(r *bot.Rules) { r.Gates[0].Repo = "Org/Web" }, "", ""},
		{"gate added", func(r *bot.Rules) {
			r.Gates = append(r.Gates, bot.Gate{Name: "web-staging", Repo: "org/web", Environment: "staging", Channel: "C1"})
		}, "gates.web-staging", policies.Looser},
		{"gate removed", func(r *bot.Rules) { r.Gates = nil }, "gates.web-prod", policies.Stricter},
		{"another environment", func(r *bot.Rules) { r.Gates[0].Environment = "prod" }, "gates.web-prod", policies.Looser},
		{"another repository", func(r *bot.Rules) { r.Gates[0].Repo = "org/api" }, "gates.web-prod", policies.Looser},
		{"channel", func(r *bot.Rules) { r.Gates[0].Channel = "C2" }, "gates.web-prod.channel", policies.Neutral},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := base()
			tc.edit(next)
			d := bot.CompareRules(base(), next)
			if tc.want == "" {
				if !d.Equal() {
					t.Fatalf("changes %+v, want none", d.Changes)
				}
				return
			}
			if len(d.Changes) != 1 || d.Changes[0].Path != tc.path || d.Changes[0].Direction != tc.want || d.Changes[0].Say == "" {
				t.Errorf("changes %+v, want one %s at %s", d.Changes, tc.want, tc.path)
			}
		})
	}
}
