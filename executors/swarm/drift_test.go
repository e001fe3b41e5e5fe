package swarm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/executors/registry"
	"github.com/countersign/countersign/policies"
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

	// update is someone's `docker service update --image`. The engine
	// bumps the service's version itself while a rollout runs (its update
	// status), so an update read before that is refused as out of
	// sequence: read again and retry, as the CLI's user would.
	update := func(image string) {
		t.Helper()
		for try := 1; ; try++ {
			svc := f.inspect(t, name)
			svc.Spec.TaskTemplate.ContainerSpec.Image = image
			_, err := f.api.ServiceUpdate(ctx, svc.ID, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{})
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), "update out of sequence") || try == 10 {
				t.Fatalf("update behind the bot's back: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
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

// TestDrift_BotOnRealEngine: the bot deploys v1 to a real Swarm service;
// someone else's `docker service update` to v2 is drift at the next
// sweep, reported once; the bot's own deploy of v1 puts it back and
// clears it.
func TestDrift_BotOnRealEngine(t *testing.T) {
	f := env(t)
	name := f.createService(t, svcOpts{image: f.v1})
	c := connect(t, local, Options{})
	engine, err := policies.New(policies.Set{Policies: []policies.Policy{{Name: "ops", Actions: []cs.ActionKind{cs.ActionDeploy},
		Targets: []string{"web"}, Request: []string{"U0OPS1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	chat := &bottest.Chat{}
	w := bottest.NewWorld(t, bottest.Options{Chat: chat, Images: &registry.Resolver{}, Config: bot.Config{Policy: engine,
		Services: []bot.Service{{Name: "web", Kind: "swarm", Channel: "CDEPLOY",
			Image: strings.SplitN(f.v1, "@", 2)[0], Executor: c.Service("web", name, "")}}}})
	b, db := w.Bot, w.DB
	ctx := context.Background()
	deploy := func(image string) {
		t.Helper()
		b.HandleCommand(ctx, bot.Caller{User: "U0OPS1", Channel: "CDEPLOY"}, "deploy web "+strings.SplitN(image, "@", 2)[1])
		if err := b.Idle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sweep := func() bot.DriftView {
		t.Helper()
		if err := b.SweepDrift(ctx, ""); err != nil {
			t.Fatal(err)
		}
		return b.Drift()["web"]
	}
	records := func() []cs.EventKind {
		var out []cs.EventKind
		db.View(ctx, func(tx bot.ReadTx) error {
			evs, err := tx.Events(bot.EventQuery{Target: "web"})
			for _, e := range evs {
				if e.Kind == cs.EventDriftDetected || e.Kind == cs.EventDriftCleared {
					out = append(out, e.Kind)
				}
			}
			return err
		})
		return out
	}

	deploy(f.v1)
	if v := sweep(); v.Drifted || v.Expected != "image "+f.v1 || v.Found != v.Expected {
		t.Fatalf("after the bot's deploy: %+v\n%s", v, chat.PostTexts())
	}

	svc := f.inspect(t, name)
	svc.Spec.TaskTemplate.ContainerSpec.Image = f.v2
	if _, err := f.api.ServiceUpdate(ctx, svc.ID, svc.Version, svc.Spec, swarm.ServiceUpdateOptions{}); err != nil {
		t.Fatalf("update behind the bot's back: %v", err)
	}
	sweep()
	v := sweep()
	// (Within a minute of the bot's deploy, the spec's change time is not
	// told apart from the bot's own: the image is what differs.)
	if !v.Drifted || v.Found != "image "+f.v2 {
		t.Fatalf("after an update behind the bot's back: %+v", v)
	}
	if got := records(); !slices.Equal(got, []cs.EventKind{cs.EventDriftDetected}) {
		t.Fatalf("records %v, want one drift.detected", got)
	}

	f.waitRunning(t, svc.ID, 1)
	deploy(f.v1)
	if v := sweep(); v.Drifted {
		t.Fatalf("after the bot put v1 back: %+v\n%s", v, chat.PostTexts())
	}
	if got := records(); !slices.Equal(got, []cs.EventKind{cs.EventDriftDetected, cs.EventDriftCleared}) {
		t.Fatalf("records %v, want detected then cleared", got)
	}
}
