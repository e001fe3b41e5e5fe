package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/policies"
)

// sitePolicies are the site's policies with one for action policy, and
// (loose) production approved by nobody.
func sitePolicies(loose bool) policies.Set {
	approve := []cs.Requirement{{Group: "ops", Count: 1}}
	if loose {
		approve = nil
	}
	return policies.Set{
		Groups: map[string][]string{"ops": {"UOPS1", "UOPS2"}, "devs": {"UDEV1"}},
		Policies: []policies.Policy{
			{Name: "production", Actions: []cs.ActionKind{cs.ActionDeploy, cs.ActionRollback, cs.ActionScale}, Targets: []string{"*"},
				Request: []string{"group:devs", "group:ops", "push"}, Approve: approve, Expires: policies.Duration(time.Hour)},
			{Name: "locks", Actions: []cs.ActionKind{cs.ActionLock, cs.ActionUnlock}, Targets: []string{"*"}, Request: []string{"group:ops"}},
			{Name: "rules", Actions: []cs.ActionKind{cs.ActionPolicy}, Targets: []string{cs.TargetPolicies}, Request: []string{"group:ops"},
				Approve: []cs.Requirement{{Group: "ops", Count: 2}}, Expires: policies.Duration(time.Hour)},
		},
	}
}

func TestPoliciesPage_CurrentRulesAndProposal(t *testing.T) {
	engine, err := policies.New(sitePolicies(false))
	if err != nil {
		t.Fatal(err)
	}
	s := newSiteWith(t, time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), func(c *bot.Config, _ *site) { c.Policy = engine })
	body := s.page("/policies", http.StatusOK)
	for _, want := range []string{"Policies in force", "1. production: deploy, rollback, scale on * requested by group:devs", "3. rules: policy on policies",
		"group ops: UOPS1, UOPS2", "None: no config waits for approval"} {
		if !strings.Contains(body, want) {
			t.Errorf("/policies lacks %q", want)
		}
	}

	loose, err := policies.New(sitePolicies(true))
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.bot.Reload(s.ctx, &bot.Rules{Policy: loose, Services: nil, Hash: strings.Repeat("b", 64), Path: "next.yaml",
		Text: []byte("next"), Shown: []byte(`{}`)}, cs.ActorBot, nil)
	if err != nil || out.Request.State != cs.StatePending {
		t.Fatalf("Reload: %+v %v, want a pending proposal", out.Request, err)
	}
	body = s.page("/policies", http.StatusOK)
	for _, want := range []string{string(out.Request.ID), "policies[0].approve", "looser", "1 from ops", "none",
		"service www is removed", "until it is approved the policies above decide"} {
		if !strings.Contains(body, want) {
			t.Errorf("/policies with a proposal lacks %q:\n%s", want, body)
		}
	}
	if body := s.page("/", http.StatusOK); !strings.Contains(body, `id="proposal"`) || !strings.Contains(body, string(out.Request.ID)) {
		t.Errorf("the overview does not say a config waits for approval")
	}
	if res, _ := s.get("/policies"); res.StatusCode == http.StatusOK {
		t.Errorf("/policies without signing in: %d", res.StatusCode)
	}
}
