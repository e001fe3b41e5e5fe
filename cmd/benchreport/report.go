package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// report is everything BENCHMARKS.md shows.
type report struct {
	Count             int // runs of each benchmark (-count)
	Machine           machine
	Started, Finished time.Time
	Runs              []suiteRun
	Output            Output
}

// baselines says what each baseline is, for the reader of the table;
// %s is the record size of the raw bbolt baseline.
const baselines = `- **bare net/http handler** (Slack): an ` + "`httptest`" + ` server whose handler reads the
  body, checks Slack's ` + "`v0`" + ` signature and answers 200, sent the same signed slash
  command by the same client, in the same process while the bot runs its 100
  slow executions (` + "`BenchmarkAck/http/bare`" + `).
- **bare Socket Mode client**: a second fake Slack and a gorilla/websocket loop
  that acks each envelope as soon as it has read it, timed by the fake as ours
  is (` + "`BenchmarkAck/socket/bare`" + `).
- **bare net/http handler** (GitHub): reads the body and checks
  ` + "`X-Hub-Signature-256`" + `, nothing else, under the same 16 concurrent clients
  (` + "`BenchmarkWebhook/bare`" + `). Ours also parses, dedups the delivery and audits
  it: one durable update per delivery, its commit shared with the other
  deliveries waiting (deliveries/commit).
- **raw bbolt Update**: bbolt with its default options (fsync on every
  commit), 8 goroutines each putting one record of the same size (the sealed
  line the store writes, %s) per ` + "`db.Update`" + `; no chain, no indexes, no
  group commit (` + "`BenchmarkRawUpdate_8Writers`" + `).
- **raw bbolt cursor scan**: the same 1,000,000-record file, read-only, a cursor
  over the audit bucket touching every value and decoding nothing
  (` + "`BenchmarkRawScan_1M`" + `). ` + "`audit list`" + ` beats it by using its index;
  ` + "`audit verify`" + ` must do at least this, plus decoding and hashing every record.
- **scp**, **the seeds' path**: the same 256 MiB binary to the same sshd,
  ` + "`scp`" + ` of the extracted file, and ocurrent-deployer's way (` + "`crane export | tar x`" + `
  into a temporary file, ` + "`scp`" + `, ` + "`sha256sum`" + ` on the host over ssh), measured
  in the same iterations as ours (` + "`BenchmarkUpload256MiB`" + `; it needs OpenSSH's
  ` + "`sshd`" + ` and ` + "`scp`" + ` and skips without them).
- **one durable store commit**: ` + "`store.Update`" + ` appending one audit record, one at
  a time, with fsync (` + "`BenchmarkPushToApproval/commit`" + `); the push path is several
  of these in a row.
`

func (rep report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	for _, section := range []func(func(string, ...any)){
		rep.intro, rep.machine, rep.figures, rep.baselines, rep.busy, rep.commandsAndOutput,
	} {
		section(p)
	}
	return b.String()
}

// intro says what the file is, how to make it again and how to read it.
func (rep report) intro(p func(format string, args ...any)) {
	p("# Benchmarks\n\n")
	p("Every figure next to its baseline, both measured in the same run on the\n")
	p("same machine. This file is generated; to make it again, from the module's root:\n\n")
	p("    go run ./cmd/benchreport > BENCHMARKS.md\n\n")
	took := "about a minute"
	if d := rep.Finished.Sub(rep.Started); d > 90*time.Second {
		took = fmt.Sprintf("%.0f minutes", d.Minutes())
	}
	p("It took %s here. CI does not run it.\n", took)
	if rep.Count > 1 {
		p("Each benchmark ran %d times (`-count %d`): each figure and baseline is the\n", rep.Count, rep.Count)
		p("median of its runs, with their range beside it (the upload takes the median\n")
		p("of its own 5 iterations and runs once).\n")
	} else {
		p("Each figure is one run of one benchmark.\n")
	}
	p("Read them as orders of magnitude: ratios to a baseline measured alongside\n")
	p("travel better than the absolute numbers, and\n")
	p("\"How busy the machine was\" says how much else ran meanwhile.\n\n")
}

// machine is the table of the machine the run was on.
func (rep report) machine(p func(format string, args ...any)) {
	m := rep.Machine
	p("## Machine\n\n")
	p("| | |\n| --- | --- |\n")
	p("| OS/arch (`go env GOOS GOARCH`) | %s/%s |\n", m.GOOS, m.GOARCH)
	p("| CPUs (`nproc`) | %d |\n", m.CPUs)
	model := m.Model
	if cpu := rep.Output.CPU; cpu != "" && cpu != model {
		model = fmt.Sprintf("%s (Go says: %s)", orDash(model), cpu)
	}
	p("| CPU (/proc/cpuinfo) | %s |\n", orDash(model))
	p("| Go | %s |\n", m.GoVersion)
	p("| date | %s – %s |\n", rep.Started.Format("2006-01-02 15:04"), rep.Finished.Format("15:04 UTC"))
	p("| load average at the start | %s |\n\n", orDash(m.Load))
}

// figures is the table of every figure beside its baseline, and the notes.
func (rep report) figures(p func(format string, args ...any)) {
	p("## Figures\n\n")
	p("Ratio is ours ÷ the baseline: for a time, above 1 is slower than the baseline;\n")
	p("for a rate, below 1 is slower. Targets marked (ours) are this project's own picks.\n\n")
	p("| figure | ours | baseline | ratio | target | met? |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows(rep.Output) {
		cells := []string{r.What, r.Figure, r.Baseline, r.Ratio, r.Target, r.Met}
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		p("| %s |\n", strings.Join(cells, " | "))
	}
	p("\n")
	if notes := rep.notes(); len(notes) > 0 {
		p("## Notes\n\n")
		for _, n := range notes {
			p("- %s\n", n)
		}
		p("\n")
	}
}

// baselines says what each baseline measures.
func (rep report) baselines(p func(format string, args ...any)) {
	size := "as in the benchmark output"
	if v, ok := rep.Output.Value("BenchmarkRawUpdate_8Writers", "B/record"); ok {
		size = fmt.Sprintf("%.0f bytes", v)
	}
	p("## Baselines\n\n"+baselines+"\n", size)
}

// busy says how much else the machine did while each package ran.
func (rep report) busy(p func(format string, args ...any)) {
	m := rep.Machine
	p("## How busy the machine was\n\n")
	p("CPU time while each `go test` ran (build included), against what the\n")
	p("machine's %d CPUs could give in that time. \"Others\" is everything else on the\n", m.CPUs)
	p("machine: other test runs, editors, the system.\n\n")
	p("| package | wall | go test and its children | others |\n| --- | --- | --- | --- |\n")
	for _, r := range rep.Runs {
		others := "—"
		if r.Busy > 0 {
			o := max(r.Busy-r.CPU, 0)
			others = fmt.Sprintf("%.0f s (%.0f%% of the machine)", o.Seconds(), 100*o.Seconds()/(r.Wall.Seconds()*float64(m.CPUs)))
		}
		status := ""
		if r.Err != "" {
			status = " — failed: " + r.Err
		}
		p("| `%s`%s | %.0f s | %.0f s | %s |\n", r.Suite.Pkg, status, r.Wall.Seconds(), r.CPU.Seconds(), others)
	}
}

// commandsAndOutput lists the commands run and their whole benchmark output.
func (rep report) commandsAndOutput(p func(format string, args ...any)) {
	p("\n## Commands\n\nThe runs, in order (`benchreport` prints them as it goes):\n\n```\n")
	for _, r := range rep.Runs {
		p("%s\n", r.Suite.command())
	}
	p("```\n\n## Benchmark output\n\n```\n")
	for _, name := range rep.Output.Order {
		for _, r := range rep.Output.Results[name] {
			p("%s\n", r.Line)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(rep.Output.Skipped)) {
		p("--- SKIP: %s: %s\n", name, rep.Output.Skipped[name])
	}
	for _, name := range slices.Sorted(maps.Keys(rep.Output.Failed)) {
		p("--- FAIL: %s: %s\n", name, rep.Output.Failed[name])
	}
	p("```\n")
}

// notes are what the table alone does not tell, worked out from the run.
func (rep report) notes() []string {
	var notes []string
	out := rep.Output
	ours, ok1 := out.Value("BenchmarkAppend_8Writers", "records/s")
	perCommit, ok2 := out.Value("BenchmarkAppend_8Writers", "records/commit")
	raw, ok3 := out.Value("BenchmarkRawUpdate_8Writers", "records/s")
	if ok1 && ok2 && ok3 && raw > 0 && ours > 0 && perCommit > 0 {
		commit := 1000 * perCommit / ours // ms per store commit
		notes = append(notes, fmt.Sprintf("Audit appends wait for the disk: every commit is two fdatasyncs (bbolt "+
			"flushes the pages, then the meta page). Raw bbolt, one record per commit, made a commit every %.2f ms. "+
			"The store shared each commit among the writers waiting, %.1f records per commit (8 writers can give "+
			"at most 8), hence its %.1f× over raw bbolt, and made a commit every %.2f ms: it writes more pages per "+
			"commit (the record, its unindexed entry, the chain's head; the indexes every 4,096 records). "+
			"Both rates follow the disk, so the target is the ratio.",
			1000/raw, perCommit, ours/raw, commit))
	}
	if v, ok := out.Value("BenchmarkPushToApproval/build-wait", "p50-ms"); ok {
		if c, ok := out.Value("BenchmarkPushToApproval/commit", "p50-ms"); ok && c > 0 {
			n := "several"
			if u, ok := out.Value("BenchmarkPushToApproval/build-wait", "updates/push"); ok {
				n = fmt.Sprintf("%.0f", u)
			}
			notes = append(notes, fmt.Sprintf("A push reaches its approval message in about %.0f durable commits' time "+
				"(p50 %s against %s per commit); on the way the bot makes %s store Updates (the push, the parent "+
				"message's delivery, the image, the request, its approval message, each durable before the next "+
				"step), some of which share a commit.", v/c, ms(v), ms(c), n))
		}
	}
	if rs := out.Results["BenchmarkAck/http/bare"]; len(rs) > 0 && rs[0].N >= 100 {
		r := rs[0]
		notes = append(notes, fmt.Sprintf("A p99 of %s acks is the %s slowest: a few scheduler hiccups on "+
			"busy cores move it by milliseconds, for the bare baselines as for ours, so a ratio near or below 1 "+
			"means \"as fast as a bare handler\", not faster. The Slack target of 50 ms is the one BenchmarkAck states.",
			thousands(float64(r.N)), ordinal(r.N/100)))
	}
	var busy, cpu, wall time.Duration
	for _, r := range rep.Runs {
		if r.Busy > 0 {
			busy, cpu, wall = busy+r.Busy, cpu+r.CPU, wall+r.Wall
		}
	}
	if wall > 0 && rep.Machine.CPUs > 0 {
		share := 100 * max(busy-cpu, 0).Seconds() / (wall.Seconds() * float64(rep.Machine.CPUs))
		if share >= 5 {
			notes = append(notes, fmt.Sprintf("The machine was shared: other processes (other test runs among them) "+
				"used %.0f%% of its CPU time while the benchmarks ran, so these figures are noisier, and "+
				"rates lower and latencies higher, than an idle machine would give.", share))
		} else {
			notes = append(notes, fmt.Sprintf("Other processes used %.0f%% of the machine's CPU time during the runs.", share))
		}
	}
	return notes
}

// ordinal writes n as 1st, 2nd, 3rd, 20th.
func ordinal(n int64) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.FormatInt(n, 10) + suffix
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
