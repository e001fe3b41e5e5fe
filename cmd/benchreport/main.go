// Command benchreport runs the project's benchmarks, each figure with its
// baseline in the same run, and prints BENCHMARKS.md:
//
//	go run ./cmd/benchreport > BENCHMARKS.md
//
// It runs one `go test -bench` per package (the list is in rows.go),
// echoes their output to standard error as it goes, and prints the
// machine, the commands, the table of figures against baselines and
// targets, how busy the machine was meanwhile, and the benchmark lines
// themselves. Run it from the module's root. It exits 1 if a run failed
// (the report still says what did run), 2 on bad usage.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 3, "runs of each benchmark; the report gives the median")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./cmd/benchreport [-count N] > BENCHMARKS.md")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *count < 1 {
		fs.Usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	rep := report{Count: *count, Machine: describeMachine(ctx), Started: time.Now().UTC(), Output: Output{
		Results: map[string][]Result{}, Skipped: map[string]string{}, Failed: map[string]string{}}}
	code := 0
	for _, s := range suites {
		s.Count = s.runs(*count)
		fmt.Fprintf(stderr, "$ %s\n", s.command())
		r, err := runSuite(ctx, s, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "benchreport: %s: %v\n", s.Pkg, err)
			r.Err = err.Error()
			code = 1
		}
		rep.Runs = append(rep.Runs, r)
		rep.Output.merge(r.Output)
		if ctx.Err() != nil {
			break
		}
	}
	rep.Finished = time.Now().UTC()
	if _, err := io.WriteString(stdout, rep.markdown()); err != nil {
		fmt.Fprintf(stderr, "benchreport: %v\n", err)
		return 1
	}
	return code
}

// suiteRun is what one `go test` did.
type suiteRun struct {
	Suite  suite
	Output Output
	Wall   time.Duration
	// CPU is what go test and everything it ran used (build included);
	// Busy what the whole machine used meanwhile (from /proc/stat, 0
	// where there is none): the difference is other processes'.
	CPU, Busy time.Duration
	Err       string
}

// runSuite runs s, teeing its output to progress.
func runSuite(ctx context.Context, s suite, progress io.Writer) (suiteRun, error) {
	r := suiteRun{Suite: s}
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", s.args()...)
	cmd.Stdout = io.MultiWriter(&buf, progress)
	cmd.Stderr = io.MultiWriter(&buf, progress)
	busy0, _ := machineBusy()
	start := time.Now()
	err := cmd.Run()
	r.Wall = time.Since(start)
	if busy1, ok := machineBusy(); ok {
		r.Busy = busy1 - busy0
	}
	if cmd.ProcessState != nil {
		// On Linux these include every descendant go test waited for:
		// the compiler, the test binary and what it started.
		r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	out, perr := Parse(&buf)
	r.Output = out
	if err != nil {
		return r, fmt.Errorf("go test: %w", err)
	}
	return r, perr
}

// machineBusy is the CPU time all processors spent not idle since boot.
func machineBusy() (time.Duration, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, false
	}
	var ticks int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are already in user
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100, true // USER_HZ
}

// machine describes where the figures come from.
type machine struct {
	GOOS, GOARCH, GoVersion string
	CPUs                    int
	Model                   string // from /proc/cpuinfo
	Load                    string // /proc/loadavg at the start
}

func describeMachine(ctx context.Context) machine {
	m := machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GoVersion: runtime.Version(), CPUs: runtime.NumCPU()}
	if out, err := exec.CommandContext(ctx, "go", "env", "GOOS", "GOARCH", "GOVERSION").Output(); err == nil {
		if f := strings.Fields(string(out)); len(f) == 3 {
			m.GOOS, m.GOARCH, m.GoVersion = f[0], f[1], f[2]
		}
	}
	if out, err := exec.CommandContext(ctx, "nproc").Output(); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
			m.CPUs = n
		}
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) >= 3 {
			m.Load = strings.Join(f[:3], " ")
		}
	}
	return m
}
