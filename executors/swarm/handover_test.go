package swarm

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/executors/registry"
	"github.com/countersign/countersign/policies"
)

// TestDrain_LeavesTheUpdateToTheNextStart: on the real engine, once the
// executor has given Docker the update (bot.ChangeSent), a shutdown of the
// bot does not wait for the rollout: the request stays executing while
// Docker carries on, and the next start follows it to its end, as when
// the bot deploys its own service.
func TestDrain_LeavesTheUpdateToTheNextStart(t *testing.T) {
	f := env(t)
	// Two tasks, 10s apart: a rollout still running when the bot stops.
	name := f.createService(t, svcOpts{image: f.v1, replicas: 2, delay: 10 * time.Second})
	c := connect(t, local, Options{})
	engine, err := policies.New(policies.Set{Policies: []policies.Policy{{Name: "ops", Actions: []cs.ActionKind{cs.ActionDeploy},
		Targets: []string{"web"}, Request: []string{"U0OPS1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cs.db")
	ctx := context.Background()
	start := func() (*bot.Bot, *store.DB) {
		t.Helper()
		db, err := store.Open(path, store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		b := bot.New(bot.Config{Policy: engine, Services: []bot.Service{{Name: "web", Kind: "swarm", Channel: "CDEPLOY",
			Image: strings.SplitN(f.v1, "@", 2)[0], Executor: c.Service("web", name, "")}}}, db, &bottest.Chat{}, &registry.Resolver{}, nil)
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return b, db
	}
	state := func(db *store.DB) cs.Request {
		t.Helper()
		return bottest.Request(t, db, "R1")
	}

	b, db := start()
	b.HandleCommand(ctx, bot.Caller{User: "U0OPS1", Channel: "CDEPLOY"}, "deploy web "+strings.SplitN(f.v2, "@", 2)[1])
	deadline := time.Now().Add(30 * time.Second)
	for !sameImage(currentImage(f.inspect(t, name)), f.v2) {
		if time.Now().After(deadline) {
			t.Fatalf("the bot did not set %s to %s", name, f.v2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := b.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	// No update status yet means the engine has the new spec but has not
	// begun the rollout: the drain did not wait for it either.
	svc := f.inspect(t, name)
	if us := svc.UpdateStatus; us != nil && us.State != swarm.UpdateStateUpdating {
		t.Fatalf("the drain returned once Docker's update was %s, want it still updating or not yet begun (the drain waited for it)", us.State)
	}
	b.Close()
	if r := state(db); r.State != cs.StateExecuting {
		t.Fatalf("R1 is %s (%s) after the shutdown, want still executing", r.State, r.Outcome)
	}
	db.Close()

	b, db = start()
	defer db.Close()
	defer b.Close()
	ictx, icancel := context.WithTimeout(ctx, 2*time.Minute)
	defer icancel()
	if err := b.Idle(ictx); err != nil {
		t.Fatal(err)
	}
	if r := state(db); r.State != cs.StateSucceeded || !strings.Contains(r.Outcome, "followed on the target after the bot restarted") {
		t.Fatalf("R1 is %s (%s), want succeeded, followed after the restart", r.State, r.Outcome)
	}
	if img := currentImage(f.inspect(t, name)); !sameImage(img, f.v2) {
		t.Errorf("the service runs %s, want %s", img, f.v2)
	}
}
