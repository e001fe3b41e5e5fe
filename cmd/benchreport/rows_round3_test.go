package main

import (
	"strings"
	"testing"
)

// TestRound3Rows renders the round's rows from benchmark lines as go test
// prints them: each figure beside its baseline, the ratio, and whether
// the target is met, both ways.
func TestRound3Rows(t *testing.T) {
	out, err := Parse(strings.NewReader(`pkg: github.com/countersign/countersign/executors/swarm
BenchmarkDeployOverhead/replicas-1-2         	       3	6298239864 ns/op	         3.185 cli-s/deploy	         3.108 s/deploy	         0.9761 x-cli
BenchmarkDeployOverhead/replicas-3-2         	       3	15566778191 ns/op	         8.009 cli-s/deploy	         8.552 s/deploy	         1.068 x-cli
pkg: github.com/countersign/countersign/executors/dns
BenchmarkDNSSet-2   	      50	 109296548 ns/op	         6.633 ms/change	       102.7 nsupdate-ms/change	         0.06461 x-nsupdate
pkg: github.com/countersign/countersign/web
BenchmarkOverview_500Services/10000-deployments-2         	     100	  42172031 ns/op	        38.24 p50-ms	       113.6 p99-ms
BenchmarkOverview_500Services/no-deployments-2            	     100	  21502086 ns/op	        17.81 p50-ms	        88.97 p99-ms
pkg: github.com/countersign/countersign/bot
BenchmarkDriftSweep_1000Services-2   	      20	  300000000 ns/op	 1.000 reads/sweep
pkg: github.com/countersign/countersign/executors/swarm
BenchmarkSweep_1000Services-2   	      20	  100000000 ns/op	 1.000 calls/sweep
`))
	if err != nil {
		t.Fatal(err)
	}
	byWhat := map[string]Row{}
	for _, r := range rows(out) {
		byWhat[r.What] = r
	}
	for _, tc := range []struct {
		what, figure, ratio, met string
	}{
		{"Deploy, approval → converged, Swarm service of 1 replica, local engine (update watched 1 s a task)", "**3.11 s**", "0.98×", "yes"},
		{"Deploy, approval → converged, Swarm service of 3 replicas, local engine (update watched 1 s a task)", "**8.55 s**", "1.07×", "no"},
		{"DNS change, approval → verified, one `dns set` on BIND 9", "**6.6 ms**", "0.06×", "yes"},
		{"Overview page `/`, 500 services, 10,000 deployments, p99", "**114 ms** (p50 38 ms)", "1.28×", "no"},
		{"Drift sweep of 1,000 Swarm services on one engine, the bot's side", "**300 ms**", "3.00×", "yes"},
		{"Poll round over 500 followed branches, no head moved (all 304)", "—", "—", "not run"},
	} {
		r, ok := byWhat[tc.what]
		if !ok {
			t.Errorf("no row %q", tc.what)
			continue
		}
		if r.Figure != tc.figure || r.Ratio != tc.ratio || r.Met != tc.met {
			t.Errorf("%s: figure %q ratio %q met %q, want %q %q %q", tc.what, r.Figure, r.Ratio, r.Met, tc.figure, tc.ratio, tc.met)
		}
	}
	for _, s := range round3Suites {
		if !strings.Contains(s.command(), "-bench '"+s.Bench+"'") {
			t.Errorf("suite %s: command %s", s.Pkg, s.command())
		}
	}
}
