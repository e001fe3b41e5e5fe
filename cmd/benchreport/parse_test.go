package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parseFile(t *testing.T, name string) Output {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParse_Sample(t *testing.T) {
	out := parseFile(t, "sample.txt")
	tests := []struct {
		bench, unit string
		want        float64
	}{
		{"BenchmarkAck/http/command", "p99-ms", 9.388},
		{"BenchmarkAck/socket/bare", "p50-ms", 0.032},
		{"BenchmarkWebhook/verified", "deliveries/s", 2315},
		{"BenchmarkAppend_8Writers", "records/commit", 7.908},
		{"BenchmarkRawUpdate_8Writers", "B/record", 460},
		{"BenchmarkListTarget_1M", "ns/op", 14818597},
		{"BenchmarkPushToApproval/build-wait", "p99-ms", 29.65},
	}
	for _, tt := range tests {
		t.Run(tt.bench+" "+tt.unit, func(t *testing.T) {
			got, ok := out.Value(tt.bench, tt.unit)
			if !ok || got != tt.want {
				t.Errorf("Value = %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
	if got, want := len(out.Results), 16; got != want {
		t.Errorf("%d results, want %d: %v", got, want, out.Order)
	}
	if got, want := out.Results["BenchmarkPushToApproval/commit"][0].Pkg, "github.com/countersign/countersign/bot"; got != want {
		t.Errorf("Pkg = %q, want %q", got, want)
	}
	if got, want := out.Results["BenchmarkVerify_1M"][0].N, int64(1); got != want {
		t.Errorf("N = %d, want %d", got, want)
	}
	if got := out.Skipped["BenchmarkUpload256MiB"]; !strings.Contains(got, "scp not installed") {
		t.Errorf("skip reason = %q", got)
	}
	if got, want := out.CPU, "Oxide Virtual Turin-like Processor"; got != want {
		t.Errorf("CPU = %q, want %q", got, want)
	}
}

func TestParse_Lines(t *testing.T) {
	tests := []struct {
		name, line string
		bench      string
		metrics    map[string]float64
	}{
		{"custom metrics", "BenchmarkUpload256MiB-2   \t       1\t26780037120 ns/op\t        72.43 MiB/s\t         1.097 x-scp\t         2.198 x-seeds",
			"BenchmarkUpload256MiB", map[string]float64{"ns/op": 26780037120, "MiB/s": 72.43, "x-scp": 1.097, "x-seeds": 2.198}},
		{"stray output before the name", "registry up\tBenchmarkX/a-b-8 \t 10\t 5 ns/op",
			"BenchmarkX/a-b", map[string]float64{"ns/op": 5}},
		{"no -GOMAXPROCS suffix", "BenchmarkY 3 1.5 ns/op 2 allocs/op", "BenchmarkY", map[string]float64{"ns/op": 1.5, "allocs/op": 2}},
		{"name line of -v", "BenchmarkAppend_8Writers", "", nil},
		{"odd pairs", "BenchmarkZ-2 3 1.5 ns/op 7", "", nil},
		{"not a number", "BenchmarkZ-2 3 fast ns/op", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Parse(strings.NewReader(tt.line + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.bench == "" {
				if len(out.Results) != 0 {
					t.Fatalf("parsed %v, want nothing", out.Results)
				}
				return
			}
			rs := out.Results[tt.bench]
			if len(rs) != 1 {
				t.Fatalf("%d results of %s in %v, want 1", len(rs), tt.bench, out.Order)
			}
			r := rs[0]
			for unit, want := range tt.metrics {
				if got := r.Metrics[unit]; got != want {
					t.Errorf("%s = %v, want %v", unit, got, want)
				}
			}
			if len(r.Metrics) != len(tt.metrics) {
				t.Errorf("metrics %v, want %v", r.Metrics, tt.metrics)
			}
		})
	}
}

func TestRows_Sample(t *testing.T) {
	got := map[string]Row{}
	for _, r := range rows(parseFile(t, "sample.txt")) {
		got[r.What] = r
	}
	tests := []struct {
		what string
		want Row
	}{
		{"Slack ack p99, HTTP mode, slash command, 100 slow executions running", Row{
			Figure: "**9.4 ms** (p50 0.16 ms)", Baseline: "bare net/http handler: 5.0 ms", Ratio: "1.88×", Met: "yes"}},
		{"Slack ack p99, Socket Mode, button click, 100 slow executions running", Row{
			Figure: "**61 ms** (p50 0.17 ms)", Baseline: "bare Socket Mode client: 2.5 ms", Ratio: "24.19×", Met: "no"}},
		{"GitHub push intake rate, 16 concurrent deliveries, signed, fsync on", Row{
			Figure: "**2,315 deliveries/s**", Baseline: "bare net/http handler (body + HMAC): 9,360 deliveries/s", Ratio: "0.25×", Met: "no"}},
		{"Audit append, 8 writers, each record durable (fsync)", Row{
			Figure: "**4,581 records/s** (7.9 records/commit)", Baseline: "raw bbolt Update, 8 goroutines, same record size: 935 records/s",
			Ratio: "4.90×", Met: "yes"}},
		{"`audit list` of one target (1,000 records) among 1,000,000", Row{
			Figure: "**15 ms**", Baseline: "raw bbolt cursor scan of the 1,000,000: 63 ms", Ratio: "0.24×", Met: "no"}},
		{"`audit verify` of 1,000,000 records", Row{
			Figure: "**1.04 s**", Baseline: "raw bbolt cursor scan of the 1,000,000: 0.06 s", Ratio: "16.60×", Met: "no"}},
		{"Push → approval message p99, `build: wait`, image already in the registry", Row{
			Figure: "**30 ms** (p50 6.4 ms)", Baseline: "one durable store commit, p99: 2.2 ms", Ratio: "13.33×", Met: "yes"}},
		{"Unikernel upload, 256 MiB, registry → host over SSH, hash checked on the host", Row{
			Figure: "—", Baseline: "scp of the extracted file: —", Ratio: "—",
			Met: "not run (skipped: bench_test.go:193: scp not installed: apt-get install -y --no-install-recommends openssh-client)"}},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			r, ok := got[tt.what]
			if !ok {
				t.Fatalf("no row %q", tt.what)
			}
			r.What, r.Target = "", ""
			if r != tt.want {
				t.Errorf("row\n got %+v\nwant %+v", r, tt.want)
			}
		})
	}
	if len(got) != len(specs) {
		t.Errorf("%d distinct rows, want %d", len(got), len(specs))
	}
}

// TestParse_Count reads three runs of one benchmark (go test -count 3):
// the figure is their median, the rows say so with the range, and the
// output keeps every line.
func TestParse_Count(t *testing.T) {
	out, err := Parse(strings.NewReader(`pkg: github.com/countersign/countersign/bot/store
BenchmarkVerify_1M-2   	       7	 400000000 ns/op
BenchmarkVerify_1M-2   	       7	 150000000 ns/op
BenchmarkVerify_1M-2   	       7	 160000000 ns/op
BenchmarkRawScan_1M-2  	      64	  35000000 ns/op
BenchmarkRawScan_1M-2  	      64	  30000000 ns/op
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(out.Results["BenchmarkVerify_1M"]); got != 3 {
		t.Fatalf("%d runs of BenchmarkVerify_1M, want 3", got)
	}
	if got, ok := out.Value("BenchmarkVerify_1M", "ns/op"); !ok || got != 160000000 {
		t.Errorf("Value = %v, %v; want the median 160000000", got, ok)
	}
	// Of an even count, the lower middle one: no figure that was never measured.
	if got, ok := out.Value("BenchmarkRawScan_1M", "ns/op"); !ok || got != 30000000 {
		t.Errorf("Value = %v, %v; want 30000000", got, ok)
	}
	if got := out.Values("BenchmarkVerify_1M", "MiB/s"); len(got) != 0 {
		t.Errorf("Values of a unit never reported = %v", got)
	}
	var verify Row
	for _, r := range rows(out) {
		if strings.HasPrefix(r.What, "`audit verify`") {
			verify = r
		}
	}
	if want := "**0.16 s** (median of 3 runs, 0.15 s to 0.40 s)"; verify.Figure != want {
		t.Errorf("figure %q, want %q", verify.Figure, want)
	}
	if verify.Ratio != "5.33×" || verify.Met != "no" {
		t.Errorf("ratio %s met %s, want 5.33× no (medians 0.16 s against 0.03 s)", verify.Ratio, verify.Met)
	}
	md := report{Count: 3, Output: out}.markdown()
	for _, want := range []string{"Each benchmark ran 3 times (`-count 3`)", "BenchmarkVerify_1M-2   \t       7\t 150000000 ns/op"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestParse_FailedRun: a run that fails before its result prints the
// failure after the benchmark's name on one line; it is counted as
// failed, and the figure from the other runs says a run failed.
func TestParse_FailedRun(t *testing.T) {
	out, err := Parse(strings.NewReader(`pkg: github.com/countersign/countersign/executors/dns
BenchmarkDNSSet-2   	      50	  42386304 ns/op	         3.996 ms/change	        38.39 nsupdate-ms/change
BenchmarkDNSSet-2   	--- FAIL: BenchmarkDNSSet-2
    bench_test.go:54: Execute: update bench.example.test. A: timed out
BenchmarkDNSSet-2   	      50	  55556856 ns/op	         6.788 ms/change	        48.77 nsupdate-ms/change
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Failed["BenchmarkDNSSet"]; !strings.Contains(got, "timed out") {
		t.Errorf("Failed = %q, want the run's log", got)
	}
	if got := len(out.Results["BenchmarkDNSSet"]); got != 2 {
		t.Errorf("%d results, want the 2 that ran", got)
	}
	for _, r := range rows(out) {
		if strings.HasPrefix(r.What, "DNS change") && !strings.Contains(r.Figure, "a run failed") {
			t.Errorf("DNS figure %q does not say a run failed", r.Figure)
		}
	}
}

func TestSuite_Runs(t *testing.T) {
	s := suite{Pkg: "./bot/store/", Bench: "^B$", Benchtime: "2s"}
	s.Count = s.runs(3)
	if got := s.command(); !strings.Contains(got, "-count 3 ") {
		t.Errorf("command %q, want -count 3", got)
	}
	once := suite{Pkg: "./executors/albatross/", Bench: "^B$", Benchtime: "5x", Once: true}
	if got := once.runs(3); got != 1 {
		t.Errorf("a suite that takes its own median runs %d times, want 1", got)
	}
}

func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{
		"./bot/slack/": "./bot/slack/",
		"^$":           "'^$'",
		"2000x":        "2000x",
		"^(A|B)$":      "'^(A|B)$'",
		"it's":         `'it'\''s'`,
	} {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarkdown_Sample(t *testing.T) {
	rep := report{Machine: machine{GOOS: "linux", GOARCH: "amd64", GoVersion: "go1.26.8", CPUs: 2, Model: "AMD EPYC"},
		Output: parseFile(t, "sample.txt"),
		Runs:   []suiteRun{{Suite: suites[0], Wall: 10 * time.Second, CPU: 12 * time.Second, Busy: 16 * time.Second}}}
	md := rep.markdown()
	for _, want := range []string{
		"go run ./cmd/benchreport > BENCHMARKS.md",
		"CI does not run it",
		"| CPU (/proc/cpuinfo) | AMD EPYC (Go says: Oxide Virtual Turin-like Processor) |",
		"| figure | ours | baseline | ratio | target | met? |",
		"the same size (the sealed\n  line the store writes, 460 bytes)",
		"Raw bbolt, one record per commit, made a commit every 1.07 ms",
		"7.9 records per commit (8 writers can give at most 8), hence its 4.9× over raw bbolt, and made a commit every 1.73 ms",
		"p50 6.4 ms against 0.80 ms per commit",
		"A p99 of 2,000 acks is the 20th slowest",
		"| `./bot/slack/` | 10 s | 12 s | 4 s (20% of the machine) |",
		"The machine was shared: other processes (other test runs among them) used 20%",
		"go test -run '^$' -bench '^BenchmarkAck$' -benchtime 2000x -count 1 -timeout 20m ./bot/slack/",
		"--- SKIP: BenchmarkUpload256MiB: bench_test.go:193: scp not installed",
		"| the seeds' path: crane export \\| tar x, scp, remote sha256sum: — |", // a | would end the cell
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
}

// TestRun_BadUsage: bad flags and arguments exit 2 before any benchmark runs.
func TestRun_BadUsage(t *testing.T) {
	for _, args := range [][]string{{"-count", "0"}, {"-count", "x"}, {"extra"}, {"-nope"}} {
		var stdout, stderr strings.Builder
		if got := run(args, &stdout, &stderr); got != 2 {
			t.Errorf("run(%q) = %d, want 2", args, got)
		}
		if stdout.Len() != 0 || !strings.Contains(stderr.String(), "usage: go run ./cmd/benchreport [-count N]") {
			t.Errorf("run(%q): stdout %q, stderr %q", args, stdout.String(), stderr.String())
		}
	}
}
