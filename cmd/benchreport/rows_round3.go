package main

import "fmt"

// The figures of performance round 3 (issue 21): what users feel, each
// against the way they would do it by hand or the engine's own tool, and
// the estate at scale. They are appended to suites and specs.
func init() {
	suites = append(suites, round3Suites...)
	specs = append(specs, round3Specs...)
}

// round3Suites are the runs of the round's figures: the engine and host
// ones take several minutes (every deploy really rolls out).
var round3Suites = []suite{
	{Pkg: "./web/", Bench: "^BenchmarkOverview_500Services$", Benchtime: "200x"},
	{Pkg: "./bot/", Bench: "^BenchmarkApprovalToStart$", Benchtime: "200x"},
	{Pkg: "./bot/", Bench: "^BenchmarkDriftSweep_1000Services$", Benchtime: "20x"},
	{Pkg: "./executors/swarm/", Bench: "^BenchmarkSweep_1000Services$", Benchtime: "20x"},
	{Pkg: "./bot/github/", Bench: "^BenchmarkPoll_500Branches$", Benchtime: "5x"},
	{Pkg: "./executors/dns/", Bench: "^BenchmarkDNSSet$", Benchtime: "50x"},
	{Pkg: "./executors/albatross/", Bench: "^BenchmarkDeployToRunning$", Benchtime: "5x"},
	{Pkg: "./executors/swarm/", Bench: "^BenchmarkDeployOverhead$", Benchtime: "3x"},
}

// ratioAtMost: ours is at most limit times the baseline (for times).
var round3Specs = func() []spec {
	var rows []spec
	for _, n := range []int{1, 3} {
		bench := fmt.Sprintf("BenchmarkDeployOverhead/replicas-%d", n)
		rows = append(rows, spec{
			What:     fmt.Sprintf("Deploy, approval → converged, Swarm service of %d replica%s, local engine (update watched 1 s a task)", n, map[bool]string{true: "s"}[n > 1]),
			Ours:     metric{Bench: bench, Unit: "s/deploy"},
			Baseline: "`docker service update --image … --detach=false`, same service, alternating", Base: metric{Bench: bench, Unit: "cli-s/deploy"},
			Format: seconds, Target: "≤ 1.05× the CLI", Met: ratioAtMost(1.05),
		})
	}
	return append(rows,
		spec{
			What: "DNS change, approval → verified, one `dns set` on BIND 9", Ours: metric{Bench: "BenchmarkDNSSet", Unit: "ms/change"},
			Baseline: "`nsupdate -y` of the same change, then `dig`, alternating", Base: metric{Bench: "BenchmarkDNSSet", Unit: "nsupdate-ms/change"},
			Format: ms, Target: "≤ 1.2× nsupdate and dig", Met: ratioAtMost(1.2),
		},
		spec{
			What: "Albatross deploy, approval → running (`albatross-client info` shows it), 16 MiB unikernel, test stand-in over OpenSSH", Ours: metric{Bench: "BenchmarkDeployToRunning", Unit: "s/deploy"},
			Baseline: "the seeds' path: crane export | tar x, scp, ssh sha256sum, ssh albatross-client create", Base: metric{Bench: "BenchmarkDeployToRunning", Unit: "seeds-s/deploy"},
			Format: seconds, Target: "≥ 1.5× faster than the seeds' path (ratio ≤ 0.67)", Met: ratioAtMost(1 / 1.5),
		},
		spec{
			What: "Unikernel upload, 256 MiB, median of the runs", Ours: metric{Bench: "BenchmarkUpload256MiB", Unit: "median-MiB/s"},
			Also:     []extra{{metric{Bench: "BenchmarkUpload256MiB", Unit: "x-scp-median"}, func(v float64) string { return fmt.Sprintf("median of the runs' ratios %.2f×", v) }}},
			Baseline: "scp of the extracted file, median", Base: metric{Bench: "BenchmarkUpload256MiB", Unit: "scp-median-MiB/s"},
			Format: mibs, Target: "≥ 1.0× scp in the median of 5 runs", Met: ratioAtLeast(1),
		},
		spec{
			What: "Approval → execution start p99: the deciding click's hand-over to `execution.started` durable (fsync on), 100 requests executing", Ours: metric{Bench: "BenchmarkApprovalToStart/click", Unit: "p99-ms"},
			Also:     []extra{{metric{Bench: "BenchmarkApprovalToStart/click", Unit: "p50-ms"}, func(v float64) string { return "p50 " + ms(v) }}},
			Baseline: "one durable store commit, p99", Base: metric{Bench: "BenchmarkApprovalToStart/commit", Unit: "p99-ms"},
			Format: ms, Target: "p99 < 20 ms", Met: below(20),
		},
		spec{
			What: "Overview page `/`, 500 services, 10,000 deployments, p99", Ours: metric{Bench: "BenchmarkOverview_500Services/10000-deployments", Unit: "p99-ms"},
			Also:     []extra{{metric{Bench: "BenchmarkOverview_500Services/10000-deployments", Unit: "p50-ms"}, func(v float64) string { return "p50 " + ms(v) }}},
			Baseline: "the same page without any deployment, p99", Base: metric{Bench: "BenchmarkOverview_500Services/no-deployments", Unit: "p99-ms"},
			Format: ms, Target: "p99 < 50 ms", Met: below(50),
		},
		spec{
			What: "Drift sweep of 1,000 Swarm services on one engine, the bot's side", Ours: metric{Bench: "BenchmarkDriftSweep_1000Services", Unit: "ns/op", Scale: nsToMs},
			Baseline: "the engine's side: one ServiceList of the 1,000, recorded, decoded", Base: metric{Bench: "BenchmarkSweep_1000Services", Unit: "ns/op", Scale: nsToMs},
			Format: ms, Target: "< 1 s, both sides together (ours)", Met: func(ours, base float64) bool { return ours+base < 1000 },
		},
		spec{
			What: "Poll round over 500 followed branches, no head moved (all 304)", Ours: metric{Bench: "BenchmarkPoll_500Branches/unchanged", Unit: "ns/op", Scale: nsToMs},
			Baseline: "the first round, every head read (200) and recorded", Base: metric{Bench: "BenchmarkPoll_500Branches/first", Unit: "ns/op", Scale: nsToMs},
			Format: ms, Target: "< 5 s a round (ours)", Met: below(5000),
		},
	)
}()
