package swarm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"

	cs "github.com/countersign/countersign"
)

// TestExecutor_RollbackFromHistory rolls back to v1 as the bot asks when
// its history has it: the exact digest of deployment R1.
func TestExecutor_RollbackFromHistory(t *testing.T) {
	f := env(t)
	t.Parallel()
	name := f.createService(t, svcOpts{image: f.v1})
	ex := connect(t, local, Options{}).Service("www", name, f.repo)
	if _, _, st, err := run(t, ex, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2}); err != nil {
		t.Fatalf("deploy v2: %v\n%s", err, st.all())
	}
	plan, res, st, err := run(t, ex, cs.Action{Kind: cs.ActionRollback, Target: "www", Image: f.v1, Deployment: "R1"})
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, st.all())
	}
	t.Logf("plan: %s\nsteps:\n%s", plan, st.all())
	if want := "roll back Swarm service " + name; !strings.HasPrefix(plan, want) {
		t.Errorf("plan %q does not start with %q", plan, want)
	}
	if want := "from " + f.v2 + " to " + f.v1 + " (the image of deployment R1)"; !strings.Contains(plan, want) {
		t.Errorf("plan %q does not contain %q", plan, want)
	}
	if res.Image != f.v1 {
		t.Errorf("result image = %q, want %q", res.Image, f.v1)
	}
	if got := f.imageOf(t, name); got != f.v1 {
		t.Errorf("service image = %q, want %q", got, f.v1)
	}
}

// TestExecutor_RollbackPreviousSpec rolls back without history: Prepare
// takes the image of Swarm's PreviousSpec.
func TestExecutor_RollbackPreviousSpec(t *testing.T) {
	f := env(t)
	t.Parallel()
	name := f.createService(t, svcOpts{image: f.v1})
	ex := connect(t, local, Options{}).Service("www", name, f.repo)
	if _, _, st, err := run(t, ex, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2}); err != nil {
		t.Fatalf("deploy v2: %v\n%s", err, st.all())
	}
	a, err := ex.Prepare(t.Context(), cs.Action{Kind: cs.ActionRollback, Target: "www"})
	if err != nil {
		t.Fatalf("Prepare rollback without history: %v", err)
	}
	if a.Image != f.v1 || a.Ref != RefPreviousSpec {
		t.Fatalf("Prepare: image %q ref %q, want %q, %q", a.Image, a.Ref, f.v1, RefPreviousSpec)
	}
	plan, res, st, err := run(t, ex, a)
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, st.all())
	}
	if want := "Swarm's previous image; Countersign has no deployment recorded"; !strings.Contains(plan, want) {
		t.Errorf("plan %q does not contain %q", plan, want)
	}
	if res.Image != f.v1 || f.imageOf(t, name) != f.v1 {
		t.Errorf("after rollback: result %q, service %q, want %q", res.Image, f.imageOf(t, name), f.v1)
	}
}

// TestExecutor_RollbackNothing: without history, a service whose previous
// spec is missing, has the same image, or names a tag cannot be rolled back.
func TestExecutor_RollbackNothing(t *testing.T) {
	f := env(t)
	t.Parallel()
	for _, tc := range []struct {
		name  string
		image string
		setup func(t *testing.T, name string)
		want  string
	}{
		{"never updated", f.v1, nil, "keeps no previous spec"},
		{"only env changed", f.v1, func(t *testing.T, name string) {
			svc := f.inspect(t, name)
			svc.Spec.TaskTemplate.ContainerSpec.Env = append(svc.Spec.TaskTemplate.ContainerSpec.Env, "MORE=1")
			if _, err := f.api.ServiceUpdate(context.Background(), svc.ID, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}, "has the image it runs now"},
		{"previous is a tag", "", func(t *testing.T, name string) {
			ex := connect(t, local, Options{}).Service("www", name, f.repo)
			if _, _, st, err := run(t, ex, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2}); err != nil {
				t.Fatalf("deploy v2: %v\n%s", err, st.all())
			}
		}, "not a digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img := tc.image
			if img == "" {
				img = f.repo + ":v1" // pushed by the fixture
			}
			name := f.createService(t, svcOpts{image: img})
			if tc.setup != nil {
				tc.setup(t, name)
			}
			ex := connect(t, local, Options{}).Service("www", name, f.repo)
			_, err := ex.Prepare(t.Context(), cs.Action{Kind: cs.ActionRollback, Target: "www"})
			t.Log(err)
			if !errors.Is(err, ErrNoPrevious) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Prepare = %v, want ErrNoPrevious saying %q", err, tc.want)
			}
		})
	}
}
