package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/executors/dryrun"
	"github.com/countersign/countersign/policies"
	"github.com/countersign/countersign/web"
)

// BenchmarkOverview_500Services is GET / for an estate of 500 Swarm
// services (dry-run executors: the page's own work, not the engines'),
// over HTTP as a browser would ask, one request at a time:
//
//   - "10000-deployments": each service has 20 deployments, 10,000 in
//     all, and the newest of every fifth service failed (the page then
//     shows the failure and, behind it, what still runs);
//   - "no-deployments": the same estate with no history, the baseline:
//     what the page costs without reading any history.
//
// Target: p99 under 50 ms with the history.
//
//	go test ./web -run '^$' -bench Overview_500Services -benchtime 200x
func BenchmarkOverview_500Services(b *testing.B) {
	b.Run("10000-deployments", func(b *testing.B) { benchOverview(b, 20) })
	b.Run("no-deployments", func(b *testing.B) { benchOverview(b, 0) })
}

func benchOverview(b *testing.B, perService int) {
	const services = 500
	ctx := context.Background()
	db, err := store.Open(filepath.Join(b.TempDir(), "overview.db"), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	engine, err := policies.New(policies.Set{})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	var svcs []bot.Service
	for i := range services {
		name := fmt.Sprintf("svc%03d", i)
		svcs = append(svcs, bot.Service{Name: name, Kind: "swarm", Channel: "CDEPLOY", Image: "reg/" + name, Where: "engine", Place: "prod",
			Executor: &dryrun.Swarm{Service: name, Engine: "prod"}})
	}
	// Requests are numbered in the order they ran: round by round over
	// the services, as an estate's history interleaves.
	err = db.Update(ctx, func(tx bot.Tx) error {
		for round := range perService {
			for i, s := range svcs {
				id, err := tx.NextRequestID()
				if err != nil {
					return err
				}
				failed := round == perService-1 && i%5 == 0
				d := cs.Deployment{ID: id, Target: s.Name, Kind: cs.ActionDeploy, Image: fmt.Sprintf("%s@sha256:%064x", s.Image, round),
					Requester: "UDEV1", Approvers: []cs.Actor{"UOPS1"}, Started: at, Finished: at.Add(time.Minute), Succeeded: !failed}
				if err := tx.PutDeployment(d); err != nil {
					return err
				}
			}
			at = at.Add(time.Hour)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	now := func() time.Time { return at }
	bt := bot.New(bot.Config{Policy: engine, Services: svcs, Clock: clockFunc(now), ConfigHash: "benchhash"}, db, &chat{}, images{}, nil)
	if err := bt.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer bt.Close()
	srv, err := web.New(web.Config{Source: bt, Chain: db, Tokens: []web.Token{{Name: "oncall", Value: oncallToken}},
		SessionKey: []byte(strings.Repeat("k", 32)), Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	get := func() string {
		req, err := http.NewRequest("GET", ts.URL+"/", nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+oncallToken)
		res, err := ts.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("GET / = %d, %v:\n%.500s", res.StatusCode, err, body)
		}
		return string(body)
	}
	page := get()
	if perService > 0 {
		// svc000's newest failed: the page shows what still runs from
		// the round before, and the failure.
		last := fmt.Sprintf("R%d", (perService-1)*services+1)
		running := fmt.Sprintf("R%d", (perService-2)*services+1)
		if !strings.Contains(page, "/requests/"+running) || !strings.Contains(page, "last attempt <a href=\"/requests/"+last) {
			b.Fatalf("the page does not show svc000's %s running and %s failed", running, last)
		}
	}
	if !strings.Contains(page, "svc499") {
		b.Fatal("the page does not list svc499")
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		get()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
}

// clockFunc is a bot.Clock reading a function.
type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }
