package bot_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/policies"
)

// BenchmarkDriftSweep_1000Services is the bot's side of one drift sweep
// of 1,000 Swarm services of one engine, each with a deployment and a
// scale in the store: reading what was approved, comparing with what the
// reader answers (a fake in memory; the engine's side, one ServiceList,
// is executors/swarm's BenchmarkSweep_1000Services), nothing drifted.
// Target, with the engine's side: under 1 s, one call per engine.
//
//	go test ./bot -run '^$' -bench DriftSweep_1000 -benchtime 20x
func BenchmarkDriftSweep_1000Services(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	engine, err := policies.New(policies.Set{})
	if err != nil {
		b.Fatal(err)
	}
	sw := &fakeSweeper{}
	ex := observedExec{fakeExec: &fakeExec{}, sw: sw}
	var services []bot.Service
	at := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	err = db.Update(ctx, func(tx bot.Tx) error {
		for i := range n {
			name := fmt.Sprintf("svc%d", i)
			services = append(services, bot.Service{Name: name, Kind: "swarm", Channel: "CDEPLOY", Executor: ex})
			image := fmt.Sprintf("reg/%s@sha256:%064x", name, i)
			sw.set(name, bot.Live{Image: image, Replicas: 3})
			for _, kind := range []cs.ActionKind{cs.ActionDeploy, cs.ActionScale} {
				id, err := tx.NextRequestID()
				if err != nil {
					return err
				}
				r := cs.Request{ID: id, State: cs.StateSucceeded, Action: cs.Action{Kind: kind, Target: name, Image: image, Replicas: 3}}
				if err := tx.PutRequest(r); err != nil {
					return err
				}
				if kind == cs.ActionDeploy {
					if err := tx.PutDeployment(cs.Deployment{ID: id, Target: name, Kind: kind, Image: image, Started: at, Finished: at, Succeeded: true}); err != nil {
						return err
					}
				}
				if _, err := tx.Append(cs.Event{Time: at, Kind: cs.EventExecutionSucceeded, Actor: cs.ActorBot, Request: id, Action: kind, Target: name}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	bt := bot.New(bot.Config{Policy: engine, Services: services, Clock: bottest.NewClock(at.Add(time.Hour))}, db, &bottest.Chat{}, nil, nil)
	if err := bt.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer bt.Close()
	if err := bt.SweepDrift(ctx, ""); err != nil {
		b.Fatal(err)
	}
	if v := bt.Drift()["svc7"]; v.Drifted || v.Expected != fmt.Sprintf("image reg/svc7@sha256:%064x, 3 replicas", 7) || v.Found != v.Expected {
		b.Fatalf("svc7: %+v", v)
	}
	sw.asked = nil
	b.ResetTimer()
	for b.Loop() {
		if err := bt.SweepDrift(ctx, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(sw.asked))/float64(b.N), "reads/sweep")
}
