package swarm

import (
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
)

// TestExecutor_DryRun describes and "executes" a deploy and a scale in
// dry-run: the plan has the real current state, and nothing changes.
func TestExecutor_DryRun(t *testing.T) {
	f := env(t)
	t.Parallel()
	name := f.createService(t, svcOpts{image: f.v1})
	before := f.inspect(t, name)
	for _, tc := range []struct {
		name     string
		opts     Options
		reqDry   bool
		action   cs.Action
		wantPlan string
	}{
		{"deploy", Options{DryRun: true}, false, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2},
			"DRY RUN: would set the image of Swarm service " + name + " on engine local (" + socketHost + ") from " + f.v1 + " to " + f.v2},
		{"scale", Options{DryRun: true}, false, cs.Action{Kind: cs.ActionScale, Target: "www", Replicas: 3},
			"DRY RUN: would scale Swarm service " + name + " on engine local (" + socketHost + ") from 1 to 3 replicas"},
		{"dry-run request", Options{}, true, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2},
			"DRY RUN: would set the image of Swarm service " + name},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := connect(t, local, tc.opts).Service("www", name, f.repo)
			ctx := t.Context()
			a, err := ex.Prepare(ctx, tc.action)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			req := cs.Request{ID: "R1", Action: a, DryRun: tc.reqDry}
			plan, err := ex.Describe(ctx, req)
			if err != nil || !strings.HasPrefix(plan, tc.wantPlan) {
				t.Fatalf("Describe = %q, %v; want it to start with %q", plan, err, tc.wantPlan)
			}
			st := &steps{}
			res, err := ex.Execute(ctx, req, st.add)
			t.Logf("plan: %s\nsteps:\n%s", plan, st.all())
			if err != nil || !res.DryRun || !strings.HasPrefix(res.Summary, "DRY RUN") {
				t.Fatalf("Execute = %+v, %v; want a dry-run result", res, err)
			}
			for _, s := range st.list {
				if !strings.HasPrefix(s, "DRY RUN: ") {
					t.Errorf("step %q is not marked DRY RUN", s)
				}
			}
			if a.Kind == cs.ActionDeploy && !strings.Contains(st.all(), "can read "+f.v2) {
				t.Errorf("steps do not say the engine can read the image")
			}
			if after := f.inspect(t, name); after.Version.Index != before.Version.Index {
				t.Fatalf("service changed in dry-run: version %d -> %d", before.Version.Index, after.Version.Index)
			}
		})
	}
}

// TestExecutor_DryRunUnreachable: dry-run against an engine that does not
// answer still describes the change and says what it could not read.
func TestExecutor_DryRunUnreachable(t *testing.T) {
	e := Engine{Name: "gone", Host: "unix:///nonexistent/docker.sock"}
	ex := connect(t, e, Options{DryRun: true}).Service("www", "www_live", "registry.example.org/www")
	image := "registry.example.org/www@sha256:" + strings.Repeat("ab", 32)
	for _, a := range []cs.Action{
		{Kind: cs.ActionDeploy, Target: "www", Image: image},
		{Kind: cs.ActionScale, Target: "www", Replicas: 2},
	} {
		t.Run(string(a.Kind), func(t *testing.T) {
			a, err := ex.Prepare(t.Context(), a)
			if err != nil {
				t.Fatalf("Prepare in dry-run: %v", err)
			}
			plan, err := ex.Describe(t.Context(), cs.Request{Action: a})
			t.Log(plan)
			if err != nil || !strings.HasPrefix(plan, "DRY RUN: would ") || !strings.Contains(plan, "not read: ") || !strings.Contains(plan, "unreachable") {
				t.Fatalf("Describe = %q, %v; want a dry-run plan saying what was not read", plan, err)
			}
			st := &steps{}
			res, err := ex.Execute(t.Context(), cs.Request{Action: a}, st.add)
			if err != nil || !res.DryRun {
				t.Fatalf("Execute = %+v, %v; want a dry-run result", res, err)
			}
		})
	}
}
