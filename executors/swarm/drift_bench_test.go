package swarm

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
)

// fakeEngine serves a recorded GET /services answer on a unix socket, as
// the Docker Engine does, and counts the calls that list services.
type fakeEngine struct {
	host  string
	lists atomic.Int64
	other atomic.Int64
}

func newFakeEngine(tb testing.TB, services []swarm.Service) *fakeEngine {
	tb.Helper()
	answer, err := json.Marshal(services)
	if err != nil {
		tb.Fatal(err)
	}
	sock := tb.TempDir() + "/docker.sock"
	l, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	f := &fakeEngine{host: "unix://" + sock}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.47")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			w.Write([]byte("OK"))
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/services"):
			f.lists.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Write(answer)
		default:
			f.other.Add(1)
			http.Error(w, `{"message":"not recorded"}`, http.StatusNotFound)
		}
	})}
	go srv.Serve(l)
	tb.Cleanup(func() { srv.Close() })
	return f
}

// recordedServices is n replicated services named svc-0…, as ServiceList
// answers them.
func recordedServices(n int) []swarm.Service {
	out := make([]swarm.Service, n)
	for i := range out {
		replicas := uint64(2)
		out[i] = swarm.Service{
			ID:   fmt.Sprintf("id%d", i),
			Meta: swarm.Meta{Version: swarm.Version{Index: uint64(100 + i)}, UpdatedAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
			Spec: swarm.ServiceSpec{
				Annotations: swarm.Annotations{Name: fmt.Sprintf("svc-%d", i)},
				TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{
					Image: fmt.Sprintf("registry.example.org/app-%d:live@sha256:%064x", i, i)}},
				Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
			},
		}
	}
	return out
}

// sweepClient is a Client of the fake engine serving every recorded service.
func sweepClient(tb testing.TB, f *fakeEngine, n int) (*Client, []string) {
	c, err := Connect(context.Background(), Engine{Name: "fake", Host: f.host}, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("s%d", i)
		c.Service(names[i], fmt.Sprintf("svc-%d", i), "")
	}
	return c, names
}

func TestSweep_OneServiceListPerEngine(t *testing.T) {
	const n = 1000
	f := newFakeEngine(t, recordedServices(n))
	c, names := sweepClient(t, f, n)
	got, err := c.Sweep(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	if f.lists.Load() != 1 || f.other.Load() != 0 {
		t.Fatalf("%d ServiceList and %d other calls for %d services, want 1 and 0", f.lists.Load(), f.other.Load(), n)
	}
	l := got["s7"]
	if want := fmt.Sprintf("registry.example.org/app-7@sha256:%064x", 7); l.Image != want || l.Replicas != 2 || l.Unknown != "" {
		t.Errorf("s7 = %+v, want %s (the tag dropped), 2 replicas", l, want)
	}
	if len(got) != n {
		t.Errorf("%d answers, want %d", len(got), n)
	}
}

// BenchmarkSweep_1000Services is one drift sweep of 1,000 Swarm services
// of one engine, from a recorded ServiceList answer.
func BenchmarkSweep_1000Services(b *testing.B) {
	const n = 1000
	f := newFakeEngine(b, recordedServices(n))
	c, names := sweepClient(b, f, n)
	ctx := context.Background()
	if _, err := c.Sweep(ctx, names); err != nil { // negotiate the API version first
		b.Fatal(err)
	}
	f.lists.Store(0)
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Sweep(ctx, names); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.lists.Load())/float64(b.N), "calls/sweep")
}
