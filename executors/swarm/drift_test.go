package swarm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// TestSweep_UpdateBehindTheBotsBack: on the real engine, a `docker
// service update` by someone else shows in the next sweep (the image and
// the spec's change time), and so does putting it back.
func TestSweep_UpdateBehindTheBotsBack(t *testing.T) {
	f := env(t)
	name := f.createService(t, svcOpts{image: f.v1, replicas: 2})
	c := connect(t, local, Options{})
	c.Service("web", name, "")
	ctx := context.Background()

	got, err := c.Sweep(ctx, []string{"web", "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	before := got["web"]
	if before.Image != f.v1 || before.Replicas != 2 || before.Unknown != "" || before.Updated.IsZero() {
		t.Fatalf("before: %+v, want %s with 2 replicas", before, f.v1)
	}
	if u := got["elsewhere"].Unknown; !strings.Contains(u, "not a service of engine local") {
		t.Errorf("a name the client does not serve: %q", u)
	}

	update := func(image string) {
		t.Helper()
		svc := f.inspect(t, name)
		svc.Spec.TaskTemplate.ContainerSpec.Image = image
		if _, err := f.api.ServiceUpdate(ctx, svc.ID, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{}); err != nil {
			t.Fatalf("update behind the bot's back: %v", err)
		}
	}
	time.Sleep(10 * time.Millisecond) // UpdatedAt must be able to move
	update(f.v2)
	got, err = c.Sweep(ctx, []string{"web"})
	if err != nil {
		t.Fatal(err)
	}
	after := got["web"]
	if after.Image != f.v2 || !after.Updated.After(before.Updated) {
		t.Fatalf("after an update behind the bot's back: %+v, want %s and a later Updated than %s", after, f.v2, before.Updated)
	}

	update(f.v1)
	got, err = c.Sweep(ctx, []string{"web"})
	if err != nil {
		t.Fatal(err)
	}
	if back := got["web"]; back.Image != f.v1 {
		t.Fatalf("put back: %+v, want %s", back, f.v1)
	}
}

// TestSweep_ServiceGone: a service removed behind the bot's back is
// unknown, and says which service on which engine.
func TestSweep_ServiceGone(t *testing.T) {
	f := env(t)
	c := connect(t, local, Options{})
	c.Service("gone", "cs-test-no-such-service-"+f.run, "")
	got, err := c.Sweep(context.Background(), []string{"gone"})
	if err != nil {
		t.Fatal(err)
	}
	if u := got["gone"].Unknown; !strings.Contains(u, "cs-test-no-such-service-"+f.run+" on engine local") || !strings.Contains(u, "no such service") {
		t.Errorf("unknown = %q", u)
	}
}

func TestSweep_EngineDownIsAnError(t *testing.T) {
	c := connect(t, Engine{Name: "down", Host: "unix://" + t.TempDir() + "/docker.sock"}, Options{})
	c.Service("web", "web", "")
	_, err := c.Sweep(context.Background(), []string{"web"})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "engine down") {
		t.Fatalf("err = %v, want ErrUnreachable naming the engine", err)
	}
}
