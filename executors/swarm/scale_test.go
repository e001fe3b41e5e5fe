package swarm

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
)

// TestExecutor_Scale scales 1 → 3 → 1 and checks the replica count read
// by Prepare, the progress and the tasks.
func TestExecutor_Scale(t *testing.T) {
	f := env(t)
	t.Parallel()
	name := f.createService(t, svcOpts{image: f.v1})
	ex := connect(t, local, Options{}).Service("www", name, f.repo)
	for _, tc := range []struct{ from, to int }{{1, 3}, {3, 1}} {
		a, err := ex.Prepare(t.Context(), cs.Action{Kind: cs.ActionScale, Target: "www", Replicas: tc.to})
		if err != nil {
			t.Fatalf("Prepare scale to %d: %v", tc.to, err)
		}
		if a.FromReplicas != tc.from {
			t.Errorf("FromReplicas = %d, want %d", a.FromReplicas, tc.from)
		}
		plan, res, st, err := run(t, ex, a)
		if err != nil {
			t.Fatalf("scale %d -> %d: %v\n%s", tc.from, tc.to, err, st.all())
		}
		t.Logf("plan: %s\nsteps:\n%s\nresult: %s", plan, st.all(), res.Summary)
		for _, want := range []string{"scale Swarm service " + name, "local (" + socketHost + ")", "from " + strconv.Itoa(tc.from) + " to " + strconv.Itoa(tc.to) + " replicas"} {
			if !strings.Contains(plan, want) {
				t.Errorf("plan %q does not contain %q", plan, want)
			}
		}
		if want := "tasks running " + strconv.Itoa(tc.to) + "/" + strconv.Itoa(tc.to); !strings.Contains(st.all(), want) {
			t.Errorf("steps do not report %q", want)
		}
		svc := f.inspect(t, name)
		if got := *svc.Spec.Mode.Replicated.Replicas; int(got) != tc.to {
			t.Errorf("replicas = %d, want %d", got, tc.to)
		}
		tasks, err := ex.tasks(t.Context(), svc)
		if err != nil {
			t.Fatal(err)
		}
		if c := count(svc, tasks, ""); c.Running != tc.to || c.RunningAll != tc.to {
			t.Errorf("after scale to %d: %+v", tc.to, c)
		}
	}
}

// TestExecutor_ScaleGlobal: a global service cannot be scaled.
func TestExecutor_ScaleGlobal(t *testing.T) {
	f := env(t)
	t.Parallel()
	name := f.createService(t, svcOpts{image: f.v1, global: true})
	ex := connect(t, local, Options{}).Service("agent", name, f.repo)
	_, err := ex.Prepare(t.Context(), cs.Action{Kind: cs.ActionScale, Target: "agent", Replicas: 2})
	t.Log(err)
	if !errors.Is(err, ErrGlobalService) || !strings.Contains(err.Error(), name) {
		t.Fatalf("Prepare scale of a global service = %v, want ErrGlobalService naming %s", err, name)
	}
	_, err = ex.Execute(t.Context(), cs.Request{Action: cs.Action{Kind: cs.ActionScale, Target: "agent", Replicas: 2}}, (&steps{}).add)
	if !errors.Is(err, ErrGlobalService) {
		t.Fatalf("Execute scale of a global service = %v, want ErrGlobalService", err)
	}
}
