package swarm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	cs "github.com/countersign/countersign"
)

// TestExecutor_Deploy deploys v2 by digest over v1 and checks that only
// the image changed, that progress was reported, and the result.
func TestExecutor_Deploy(t *testing.T) {
	f := env(t)
	t.Parallel()
	name := f.createService(t, svcOpts{image: f.v1, replicas: 2})
	ex := connect(t, local, Options{}).Service("www", name, f.repo)
	before := f.inspect(t, name)
	status, err := ex.Status(t.Context(), "www")
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	sv, err := f.api.ServerVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := ex.c.api.ClientVersion(); got != sv.APIVersion {
		t.Errorf("API version used = %s, want the engine's %s (negotiated)", got, sv.APIVersion)
	}
	for _, want := range []string{"image " + f.v1, "replicas 2 desired, 2 running", "update: no update yet"} {
		if !strings.Contains(status, want) {
			t.Errorf("status before deploy %q does not contain %q", status, want)
		}
	}

	plan, res, st, err := run(t, ex, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2})
	if err != nil {
		t.Fatalf("deploy: %v\nsteps:\n%s", err, st.all())
	}
	t.Logf("plan: %s\nsteps:\n%s\nresult: %s", plan, st.all(), res.Summary)
	for _, want := range []string{name, "local (" + socketHost + ")", f.v1 + " to " + f.v2, "keeping the rest of its spec"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan %q does not contain %q", plan, want)
		}
	}
	if res.Image != f.v2 || res.DryRun || !sameImage(res.Replaced, f.v1) {
		t.Errorf("result image %q replaced %q dry-run %v, want %q replacing %q, false", res.Image, res.Replaced, res.DryRun, f.v2, f.v1)
	}
	if got := st.all(); !strings.Contains(got, "tasks running new image 2/2") {
		t.Errorf("steps do not report 2/2 tasks on the new image:\n%s", got)
	}
	after := f.inspect(t, name)
	if got := currentImage(after); got != f.v2 {
		t.Errorf("service image = %q, want %q", got, f.v2)
	}
	// The rest of the spec survives.
	if got := after.Spec.TaskTemplate.ContainerSpec.Env; len(got) != 1 || got[0] != "KEEP=env" {
		t.Errorf("env = %q, want [KEEP=env]", got)
	}
	if got := after.Spec.Labels["keep"]; got != "service-label" {
		t.Errorf("label keep = %q, want service-label", got)
	}
	if got, want := *after.Spec.Mode.Replicated.Replicas, *before.Spec.Mode.Replicated.Replicas; got != want {
		t.Errorf("replicas = %d, want %d", got, want)
	}
	if after.UpdateStatus == nil || after.UpdateStatus.State != "completed" {
		t.Errorf("update status = %+v, want completed", after.UpdateStatus)
	}
	status, err = ex.Status(t.Context(), "www")
	t.Logf("status: %s", status)
	for _, want := range []string{"image " + f.v2, "replicas 2 desired, 2 running (2 on that image)", "update: completed"} {
		if err != nil || !strings.Contains(status, want) {
			t.Errorf("status after deploy %q, %v does not contain %q", status, err, want)
		}
	}
}

// TestExecutor_PrepareRefusesImages checks the images Countersign never
// deploys are refused before anything is read.
func TestExecutor_PrepareRefusesImages(t *testing.T) {
	c, err := Connect(t.Context(), Engine{Name: "none", Host: "unix:///nonexistent/docker.sock"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ex := c.Service("www", "www_live", "registry.example.org/www")
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, image string
		want        error
	}{
		{"tag", "registry.example.org/www:live", ErrNotDigest},
		{"no tag", "registry.example.org/www", ErrNotDigest},
		{"tag and digest", "registry.example.org/www:live@" + digest, ErrNotDigest},
		{"short digest", "registry.example.org/www@sha256:abc", ErrNotDigest},
		{"upper-case digest", "registry.example.org/www@sha256:" + strings.Repeat("AB", 32), ErrNotDigest},
		{"other repository", "registry.example.org/evil@" + digest, ErrWrongRepo},
		{"empty", "", ErrNotDigest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ex.Prepare(t.Context(), cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: tc.image})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Prepare(%q) = %v, want %v", tc.image, err, tc.want)
			}
			t.Log(err)
		})
	}
}

// TestExecutor_DeployFailure deploys an image whose container exits at
// once, with Docker's failure action pause and rollback, and checks the
// error carries Docker's words and the task errors.
func TestExecutor_DeployFailure(t *testing.T) {
	f := env(t)
	t.Parallel()
	for _, tc := range []struct {
		failure   string
		want      error
		words     []string
		wantImage string
	}{
		{"pause", ErrUpdatePaused, []string{"Docker paused the update", "update paused due to failure", "non-zero exit (1)", "left paused"}, f.bad},
		{"rollback", ErrRolledBack, []string{"Docker rolled the update", "rolled back", "non-zero exit (1)", "runs " + f.v1 + " again"}, f.v1},
	} {
		t.Run(tc.failure, func(t *testing.T) {
			t.Parallel()
			name := f.createService(t, svcOpts{image: f.v1, failure: tc.failure, monitor: 5 * time.Second})
			ex := connect(t, local, Options{}).Service("www", name, f.repo)
			_, _, st, err := run(t, ex, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.bad})
			t.Logf("error: %v\nsteps:\n%s", err, st.all())
			if !errors.Is(err, tc.want) {
				t.Fatalf("deploy of a failing image: err = %v, want %v", err, tc.want)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q", w)
				}
			}
			if got := f.imageOf(t, name); got != tc.wantImage {
				t.Errorf("service image = %q, want %q", got, tc.wantImage)
			}
		})
	}
}

// TestExecutor_DeployNotPullable deploys a digest the registry does not
// hold: it fails before the service is touched.
func TestExecutor_DeployNotPullable(t *testing.T) {
	f := env(t)
	t.Parallel()
	name := f.createService(t, svcOpts{image: f.v1})
	ex := connect(t, local, Options{}).Service("www", name, f.repo)
	before := f.inspect(t, name)
	missing := f.repo + "@sha256:" + strings.Repeat("0", 64)
	_, _, _, err := run(t, ex, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: missing})
	t.Log(err)
	if !errors.Is(err, ErrImageNotPullable) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("deploy of a missing digest: err = %v, want ErrImageNotPullable saying nothing was changed", err)
	}
	if after := f.inspect(t, name); after.Version.Index != before.Version.Index {
		t.Errorf("service version %d -> %d: the service was changed", before.Version.Index, after.Version.Index)
	}
}

// TestExecutor_DeployTimeout gives the update less time than it needs:
// the error says what it last saw.
func TestExecutor_DeployTimeout(t *testing.T) {
	f := env(t)
	t.Parallel()
	name := f.createService(t, svcOpts{image: f.v1, replicas: 2})
	ex := connect(t, local, Options{Timeout: 300 * time.Millisecond, Poll: 100 * time.Millisecond}).Service("www", name, f.repo)
	_, _, st, err := run(t, ex, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2})
	t.Logf("error: %v\nsteps:\n%s", err, st.all())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	for _, w := range []string{"after 300ms", "last saw update state", "tasks running new image"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q", w)
		}
	}
}

// TestWatch_WakesOnTheServicesEvents: the watch of a deploy is woken by
// the engine's events of its service (Docker's update state changes), and
// not by another service's; with a Poll far longer than the Timeout the
// deploy then still ends as soon as Docker's update completes.
func TestWatch_WakesOnTheServicesEvents(t *testing.T) {
	f := env(t)
	t.Parallel()
	name := f.createService(t, svcOpts{image: f.v1})
	other := f.createService(t, svcOpts{image: f.v1})
	ex := connect(t, local, Options{Poll: time.Hour, Timeout: time.Minute}).Service("www", name, f.repo)
	svc := f.inspect(t, name)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	changed := (&watch{e: ex, svcID: svc.ID}).subscribe(ctx)
	time.Sleep(500 * time.Millisecond) // let the event stream start
	o := f.inspect(t, other)
	spec := o.Spec
	spec.Labels["touched"] = "yes"
	if _, err := f.api.ServiceUpdate(ctx, o.ID, o.Version, spec, swarm.ServiceUpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Fatal("woken by another service's event")
	case <-time.After(2 * time.Second):
	}
	_, res, st, err := run(t, ex, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2})
	if err != nil {
		t.Fatalf("deploy: %v\nsteps:\n%s", err, st.all())
	}
	if res.Image != f.v2 || f.imageOf(t, name) != f.v2 {
		t.Errorf("result %+v, service runs %s; want %s", res, f.imageOf(t, name), f.v2)
	}
	select {
	case <-changed:
	case <-time.After(30 * time.Second):
		t.Fatal("no wake-up from the deploy's events")
	}
}
