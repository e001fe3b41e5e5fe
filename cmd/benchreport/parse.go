package main

import (
	"bufio"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Result is one benchmark's line of `go test -bench` output: its
// iterations and every "value unit" pair, ns/op and custom metrics
// (b.ReportMetric) alike.
type Result struct {
	Name    string // without the -GOMAXPROCS suffix
	Pkg     string // from the preceding "pkg:" line
	N       int64
	Metrics map[string]float64 // unit → value
	Line    string             // as printed
}

// Output is what Parse read from one or more `go test -bench` runs.
type Output struct {
	Results map[string][]Result // by Name, one per run (go test -count), in the order run
	Skipped map[string]string   // benchmark → why, from "--- SKIP:"
	Failed  map[string]string   // benchmark → what it logged, from "--- FAIL:"
	CPU     string              // the "cpu:" line, as Go names the processor
	Order   []string            // Names in the order they were printed
}

// benchLine is a result: name, iterations, then value-unit pairs. The
// name may be preceded by stray output a benchmark printed.
var benchLine = regexp.MustCompile(`(Benchmark\S+)\s+(\d+)\s+(.+)$`)

// procSuffix is the -GOMAXPROCS that go test appends to names.
var procSuffix = regexp.MustCompile(`-\d+$`)

// Parse reads `go test -bench` output. Lines it does not recognise are
// skipped; a result line whose pairs do not parse is skipped too.
func Parse(r io.Reader) (Output, error) {
	out := Output{Results: map[string][]Result{}, Skipped: map[string]string{}, Failed: map[string]string{}}
	var pkg string
	var noted map[string]string // Skipped or Failed, while reading the indented lines after "--- SKIP:"
	var notedName string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		// A run that fails before its result has its name printed, then
		// the failure on the same line: "BenchmarkX-2 \t--- FAIL: BenchmarkX-2".
		if i := strings.Index(trimmed, "--- "); i > 0 && strings.HasPrefix(trimmed, "Benchmark") {
			trimmed = trimmed[i:]
		}
		if noted != nil {
			if strings.HasPrefix(line, "    ") && trimmed != "" {
				if noted[notedName] != "" {
					noted[notedName] += "; "
				}
				noted[notedName] += trimmed
				continue
			}
			noted = nil
		}
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
			continue
		case strings.HasPrefix(line, "cpu: "):
			out.CPU = strings.TrimSpace(strings.TrimPrefix(line, "cpu: "))
			continue
		case strings.HasPrefix(trimmed, "--- SKIP: "), strings.HasPrefix(trimmed, "--- FAIL: "):
			noted = out.Skipped
			if strings.HasPrefix(trimmed, "--- FAIL: ") {
				noted = out.Failed
			}
			f := strings.Fields(trimmed)
			if len(f) < 3 {
				noted = nil
				continue
			}
			notedName = procSuffix.ReplaceAllString(f[2], "")
			noted[notedName] += ""
			continue
		}
		res, ok := parseResult(line)
		if !ok {
			continue
		}
		res.Pkg = pkg
		if _, seen := out.Results[res.Name]; !seen {
			out.Order = append(out.Order, res.Name)
		}
		out.Results[res.Name] = append(out.Results[res.Name], res)
	}
	return out, sc.Err()
}

// parseResult reads one result line.
func parseResult(line string) (Result, bool) {
	m := benchLine.FindStringSubmatch(line)
	if m == nil {
		return Result{}, false
	}
	n, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return Result{}, false
	}
	f := strings.Fields(m[3])
	if len(f) == 0 || len(f)%2 != 0 {
		return Result{}, false
	}
	res := Result{Name: procSuffix.ReplaceAllString(m[1], ""), N: n, Metrics: map[string]float64{},
		Line: strings.TrimSpace(line[strings.Index(line, m[1]):])}
	for i := 0; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		res.Metrics[f[i+1]] = v
	}
	return res, true
}

// merge adds o's results to out.
func (out *Output) merge(o Output) {
	for _, name := range o.Order {
		if _, seen := out.Results[name]; !seen {
			out.Order = append(out.Order, name)
		}
		out.Results[name] = append(out.Results[name], o.Results[name]...)
	}
	for k, v := range o.Skipped {
		out.Skipped[k] = v
	}
	for k, v := range o.Failed {
		out.Failed[k] = v
	}
	if out.CPU == "" {
		out.CPU = o.CPU
	}
}

// Value returns benchmark name's metric unit: the median of its runs,
// so that one run disturbed by the rest of the machine does not decide
// a figure (the lower middle one of an even count).
func (out Output) Value(name, unit string) (float64, bool) {
	vs := out.Values(name, unit)
	if len(vs) == 0 {
		return 0, false
	}
	slices.Sort(vs)
	return vs[(len(vs)-1)/2], true
}

// Values returns benchmark name's metric unit in every run that reported it.
func (out Output) Values(name, unit string) []float64 {
	var vs []float64
	for _, r := range out.Results[name] {
		if v, ok := r.Metrics[unit]; ok {
			vs = append(vs, v)
		}
	}
	return vs
}
