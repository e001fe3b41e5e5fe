package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// suite is one `go test` invocation: one package, its benchmarks, one
// -benchtime. The 1M-record store benchmarks share a database that their
// test binary builds once (sync.Once in bot/store/bench_test.go), so
// they must stay in one invocation.
type suite struct {
	Pkg       string
	Bench     string
	Benchtime string
	// Once marks a suite that is run once whatever -count says: its
	// benchmark takes the median of its own iterations already.
	Once  bool
	Count int // go test -count, set from -count by runs
}

// runs is how many times s runs when the report asks for count.
func (s suite) runs(count int) int {
	if s.Once {
		return 1
	}
	return count
}

// suites is every run the report needs.
var suites = []suite{
	{Pkg: "./bot/slack/", Bench: "^BenchmarkAck$", Benchtime: "2000x"},
	{Pkg: "./bot/github/", Bench: "^BenchmarkWebhook$", Benchtime: "2s"},
	{Pkg: "./bot/store/", Bench: "^(BenchmarkAppend_8Writers|BenchmarkRawUpdate_8Writers|BenchmarkListTarget_1M|BenchmarkVerify_1M|BenchmarkRawScan_1M)$", Benchtime: "2s"},
	{Pkg: "./bot/", Bench: "^BenchmarkPushToApproval$", Benchtime: "200x"},
	{Pkg: "./executors/albatross/", Bench: "^BenchmarkUpload256MiB$", Benchtime: "5x", Once: true},
}

// args are the go command's arguments for s.
func (s suite) args() []string {
	return []string{"test", "-run", "^$", "-bench", s.Bench, "-benchtime", s.Benchtime, "-count", strconv.Itoa(max(s.Count, 1)), "-timeout", "20m", s.Pkg}
}

// command is s as a shell command line.
func (s suite) command() string {
	words := []string{"go"}
	for _, a := range s.args() {
		words = append(words, shellWord(a))
	}
	return strings.Join(words, " ")
}

func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// metric names one value of one benchmark. Scale converts it to the
// unit the row shows (ns/op → ms: 1e-6).
type metric struct {
	Bench string
	Unit  string
	Scale float64
}

func (m metric) value(out Output) (float64, bool) {
	v, ok := out.Value(m.Bench, m.Unit)
	if m.Scale != 0 {
		v *= m.Scale
	}
	return v, ok
}

// spread says, when m was measured more than once, that the figure is
// the median and over what range the runs went.
func (m metric) spread(out Output, format func(float64) string) string {
	vs := out.Values(m.Bench, m.Unit)
	if len(vs) < 2 {
		return ""
	}
	scale := m.Scale
	if scale == 0 {
		scale = 1
	}
	return fmt.Sprintf("median of %d runs, %s to %s", len(vs), format(slices.Min(vs)*scale), format(slices.Max(vs)*scale))
}

// spec is one row of the table.
type spec struct {
	What     string
	Ours     metric
	Also     []extra // more of our figures, shown in brackets
	Baseline string  // which baseline, in a few words (Baselines below says more)
	Base     metric
	Format   func(float64) string
	Target   string
	// Met reports whether ours meets the target, given the baseline.
	Met func(ours, base float64) bool
}

type extra struct {
	m      metric
	format func(float64) string
}

// Row is a rendered row.
type Row struct {
	What, Figure, Baseline, Ratio, Target, Met string
}

func ms(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%.2f ms", v)
	case v < 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func seconds(v float64) string { return fmt.Sprintf("%.2f s", v) }

func mibs(v float64) string { return fmt.Sprintf("%.1f MiB/s", v) }

// thousands writes n rounded, with commas: 11,024.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func perSecond(unit string) func(float64) string {
	return func(v float64) string { return thousands(v) + " " + unit + "/s" }
}

func below(limit float64) func(ours, _ float64) bool {
	return func(ours, _ float64) bool { return ours < limit }
}

func ratioAtLeast(limit float64) func(ours, base float64) bool {
	return func(ours, base float64) bool { return base > 0 && ours/base >= limit }
}

func ratioAtMost(limit float64) func(ours, base float64) bool {
	return func(ours, base float64) bool { return base > 0 && ours/base <= limit }
}

func ratioAbove(limit float64) func(ours, base float64) bool {
	return func(ours, base float64) bool { return base > 0 && ours/base > limit }
}

const nsToMs, nsToS = 1e-6, 1e-9

// specs are the figures of BENCHMARKS.md. The ratio is always ours
// divided by the baseline: above 1 is more time for a latency, more
// throughput for a rate.
var specs = func() []spec {
	var rows []spec
	for _, mode := range []struct{ name, key string }{{"HTTP mode", "http"}, {"Socket Mode", "socket"}} {
		for _, kind := range []struct{ name, key string }{{"slash command", "command"}, {"button click", "click"}} {
			bench := "BenchmarkAck/" + mode.key + "/" + kind.key
			rows = append(rows, spec{
				What:     fmt.Sprintf("Slack ack p99, %s, %s, 100 slow executions running", mode.name, kind.name),
				Ours:     metric{Bench: bench, Unit: "p99-ms"},
				Also:     []extra{{metric{Bench: bench, Unit: "p50-ms"}, func(v float64) string { return "p50 " + ms(v) }}},
				Baseline: "bare " + map[string]string{"http": "net/http handler", "socket": "Socket Mode client"}[mode.key],
				Base:     metric{Bench: "BenchmarkAck/" + mode.key + "/bare", Unit: "p99-ms"},
				Format:   ms,
				Target:   "p99 < 50 ms (Slack's limit: 3 s)",
				Met:      below(50),
			})
		}
	}
	return append(rows,
		spec{
			What: "GitHub push intake rate, 16 concurrent deliveries, signed, fsync on", Ours: metric{Bench: "BenchmarkWebhook/verified", Unit: "deliveries/s"},
			Also:     []extra{{metric{Bench: "BenchmarkWebhook/verified", Unit: "deliveries/commit"}, func(v float64) string { return fmt.Sprintf("%.1f deliveries/commit", v) }}},
			Baseline: "bare net/http handler (body + HMAC)", Base: metric{Bench: "BenchmarkWebhook/bare", Unit: "deliveries/s"},
			Format: perSecond("deliveries"), Target: "≥ 0.5× the bare handler (ours; each delivery is recorded durably before the answer, the bare handler writes nothing)", Met: ratioAtLeast(0.5),
		},
		spec{
			What: "GitHub push intake p99, same load", Ours: metric{Bench: "BenchmarkWebhook/verified", Unit: "p99-ms"},
			Baseline: "bare net/http handler (body + HMAC)", Base: metric{Bench: "BenchmarkWebhook/bare", Unit: "p99-ms"},
			Format: ms, Target: "p99 < 100 ms (ours; GitHub waits 10 s)", Met: below(100),
		},
		spec{
			What: "Audit append, 8 writers, each record durable (fsync)", Ours: metric{Bench: "BenchmarkAppend_8Writers", Unit: "records/s"},
			Also:     []extra{{metric{Bench: "BenchmarkAppend_8Writers", Unit: "records/commit"}, func(v float64) string { return fmt.Sprintf("%.1f records/commit", v) }}},
			Baseline: "raw bbolt Update, 8 goroutines, same record size", Base: metric{Bench: "BenchmarkRawUpdate_8Writers", Unit: "records/s"},
			Format: perSecond("records"), Target: "≥ 4.5× raw bbolt (ours; an absolute rate measures the disk)", Met: ratioAtLeast(4.5),
		},
		spec{
			What: "`audit list` of one target (1,000 records) among 1,000,000", Ours: metric{Bench: "BenchmarkListTarget_1M", Unit: "ns/op", Scale: nsToMs},
			Baseline: "raw bbolt cursor scan of the 1,000,000", Base: metric{Bench: "BenchmarkRawScan_1M", Unit: "ns/op", Scale: nsToMs},
			Format: ms, Target: "≤ 0.1× the raw scan (ours: the index is read, not the trail)", Met: ratioAtMost(0.1),
		},
		spec{
			What: "`audit verify` of 1,000,000 records", Ours: metric{Bench: "BenchmarkVerify_1M", Unit: "ns/op", Scale: nsToS},
			Baseline: "raw bbolt cursor scan of the 1,000,000", Base: metric{Bench: "BenchmarkRawScan_1M", Unit: "ns/op", Scale: nsToS},
			Format: seconds, Target: "≤ 5× the raw scan (ours: hashing on every core)", Met: ratioAtMost(5),
		},
		spec{
			What: "Unikernel upload, 256 MiB, registry → host over SSH, hash checked on the host", Ours: metric{Bench: "BenchmarkUpload256MiB", Unit: "MiB/s"},
			Also:     []extra{{metric{Bench: "BenchmarkUpload256MiB", Unit: "peak-MiB-above-idle"}, func(v float64) string { return fmt.Sprintf("peak RSS +%.0f MiB", v) }}},
			Baseline: "scp of the extracted file", Base: metric{Bench: "BenchmarkUpload256MiB", Unit: "scp-MiB/s"},
			Format: mibs, Target: "≥ 1.0× scp (in the median of 5 runs: see the median row)", Met: ratioAtLeast(1),
		},
		spec{
			What: "Unikernel upload, the same", Ours: metric{Bench: "BenchmarkUpload256MiB", Unit: "MiB/s"},
			Baseline: "the seeds' path: crane export | tar x, scp, remote sha256sum", Base: metric{Bench: "BenchmarkUpload256MiB", Unit: "seeds-MiB/s"},
			Format: mibs, Target: "faster than the seeds' path (> 1×)", Met: ratioAbove(1),
		},
		spec{
			What: "Push → approval message p99, `build: wait`, image already in the registry", Ours: metric{Bench: "BenchmarkPushToApproval/build-wait", Unit: "p99-ms"},
			Also:     []extra{{metric{Bench: "BenchmarkPushToApproval/build-wait", Unit: "p50-ms"}, func(v float64) string { return "p50 " + ms(v) }}},
			Baseline: "one durable store commit, p99", Base: metric{Bench: "BenchmarkPushToApproval/commit", Unit: "p99-ms"},
			Format: ms, Target: "p99 < 100 ms (ours)", Met: below(100),
		},
	)
}()

// rows renders specs from out.
func rows(out Output) []Row {
	var rs []Row
	for _, s := range specs {
		r := Row{What: s.What, Target: s.Target, Figure: "—", Baseline: s.Baseline + ": —", Ratio: "—", Met: "not run"}
		ours, okOurs := s.Ours.value(out)
		base, okBase := s.Base.value(out)
		if okOurs {
			r.Figure = "**" + s.Format(ours) + "**"
			var also []string
			if spread := s.Ours.spread(out, s.Format); spread != "" {
				also = append(also, spread)
			}
			if failed(out, s.Ours.Bench) || failed(out, s.Base.Bench) {
				also = append(also, "a run failed: see the benchmark output")
			}
			for _, x := range s.Also {
				if v, ok := x.m.value(out); ok {
					also = append(also, x.format(v))
				}
			}
			if len(also) > 0 {
				r.Figure += " (" + strings.Join(also, ", ") + ")"
			}
			r.Met = "no"
			if s.Met(ours, base) {
				r.Met = "yes"
			}
		} else {
			r.Met = notRun(out, s.Ours.Bench)
		}
		if okBase {
			r.Baseline = s.Baseline + ": " + s.Format(base)
		}
		if okOurs && okBase && base > 0 {
			r.Ratio = fmt.Sprintf("%.2f×", ours/base)
		}
		rs = append(rs, r)
	}
	return rs
}

// failed reports whether a run of bench, or of the benchmark it is part
// of, failed.
func failed(out Output, bench string) bool {
	for name := range out.Failed {
		if name == bench || strings.HasPrefix(bench, name+"/") {
			return true
		}
	}
	return false
}

// notRun says why a benchmark has no result.
func notRun(out Output, bench string) string {
	for name, why := range out.Skipped {
		if name == bench || strings.HasPrefix(bench, name+"/") {
			return "not run (skipped: " + why + ")"
		}
	}
	if failed(out, bench) {
		return "not run (failed)"
	}
	return "not run"
}
