package swarm

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	cs "github.com/countersign/countersign"
)

// TestExecutor_StaleVersion: between the executor's read of a service and
// its update, the service's version moves on. When only the version moved
// (the engine does that itself while a rollout runs and when it ends),
// the update is sent again with the new version and the deploy or scale
// goes through. A spec that someone else changed in that window is not
// overwritten: the change fails, saying so, and nothing was changed.
func TestExecutor_StaleVersion(t *testing.T) {
	f := env(t)
	t.Parallel()
	for _, tc := range []struct {
		name    string
		kind    cs.ActionKind
		someone func(*swarm.ServiceSpec) // nil: the version alone moves
	}{
		{"deploy version moved", cs.ActionDeploy, nil},
		{"scale version moved", cs.ActionScale, nil},
		{"deploy spec changed", cs.ActionDeploy, func(s *swarm.ServiceSpec) { s.Labels["changed-by"] = "someone" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := f.createService(t, svcOpts{image: f.v1})
			ex := connect(t, local, Options{}).Service("www", name, f.repo)
			moved := false
			ex.beforeUpdate = func() {
				if moved {
					return
				}
				moved = true
				svc := f.inspect(t, name)
				spec := svc.Spec
				if tc.someone != nil {
					if spec.Labels == nil {
						spec.Labels = map[string]string{}
					}
					tc.someone(&spec)
				}
				if _, err := f.api.ServiceUpdate(context.Background(), svc.ID, svc.Version, spec, swarm.ServiceUpdateOptions{}); err != nil {
					t.Errorf("moving the version on: %v", err)
				}
			}
			a := cs.Action{Kind: tc.kind, Target: "www", Image: f.v2}
			if tc.kind == cs.ActionScale {
				a = cs.Action{Kind: cs.ActionScale, Target: "www", Replicas: 2}
			}
			_, res, st, err := run(t, ex, a)
			if !moved {
				t.Fatal("the version was never moved: the test tests nothing")
			}
			after := f.inspect(t, name)
			if tc.someone != nil {
				if err == nil || !strings.Contains(err.Error(), "someone changed its spec after it was read") || !strings.Contains(err.Error(), "nothing was changed") {
					t.Fatalf("deploy over someone's change: %q, %v; want it refused", res.Summary, err)
				}
				if got := currentImage(after); got != f.v1 || after.Spec.Labels["changed-by"] != "someone" {
					t.Errorf("after the refused deploy: image %s, labels %v; want %s and someone's label", got, after.Spec.Labels, f.v1)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s after the version moved: %v\nsteps:\n%s", tc.kind, err, st.all())
			}
			if tc.kind == cs.ActionScale {
				if got := *after.Spec.Mode.Replicated.Replicas; got != 2 {
					t.Errorf("replicas = %d, want 2", got)
				}
			} else if got := currentImage(after); got != f.v2 {
				t.Errorf("image = %s, want %s", got, f.v2)
			}
		})
	}
}
