// Package bodytest floods an HTTP handler with large request bodies and
// measures the process's memory, for the tests that bound what
// unauthenticated bodies may hold (bot.BodyBudget).
package bodytest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// childEnv marks the process a test re-executed itself in.
const childEnv = "COUNTERSIGN_BODYTEST_CHILD"

// InChild reports whether the calling test runs in a process of its own.
// If not, it runs the test again alone in a fresh test process (so that
// the memory it measures is its own, not that of the tests before it),
// fails t if that run fails, and returns false: the caller returns.
func InChild(t *testing.T) bool {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		return true
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status: Linux only")
	}
	if race {
		t.Skip("the race detector's shadow memory swamps the memory measured (CI runs this without it too)")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("in a process of its own:\n%s", out)
	if err != nil {
		t.Fatalf("%s in a process of its own: %v", t.Name(), err)
	}
	return false
}

// Memory returns the process's peak resident memory so far (VmHWM) and
// its resident memory now (VmRSS), in bytes.
func Memory(t testing.TB) (peak, now int64) {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		var dst *int64
		switch name {
		case "VmHWM":
			dst = &peak
		case "VmRSS":
			dst = &now
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("/proc/self/status %s: %v", name, err)
		}
		*dst = kb << 10
	}
	if peak == 0 || now == 0 {
		t.Fatal("/proc/self/status: no VmHWM or VmRSS")
	}
	return peak, now
}

// Bounds are what a flood may cost the process's memory.
type Bounds struct {
	Growth int64 // the peak (VmHWM) above the start
	Kept   int64 // the resident memory (VmRSS) above the start, once it is over
}

// FloodWithin floods url as Flood does, fails t if the process's memory
// grew beyond bounds, logs the figures, and returns the answers.
func FloodWithin(t *testing.T, url string, n int, size int64, header func(http.Header), bounds Bounds) map[int]int {
	t.Helper()
	runtime.GC()
	base, _ := Memory(t)
	got := Flood(t.Context(), url, n, size, header)
	peak, now := Memory(t)
	t.Logf("%d bodies of %d MiB at once: answers %v; peak memory %d MiB → %d MiB (+%d MiB), %d MiB after",
		n, size>>20, got, base>>20, peak>>20, (peak-base)>>20, now>>20)
	if peak-base > bounds.Growth {
		t.Errorf("peak memory grew by %d MiB, want at most %d MiB", (peak-base)>>20, bounds.Growth>>20)
	}
	if now-base > bounds.Kept {
		t.Errorf("memory after the flood is %d MiB above the start, want at most %d MiB", (now-base)>>20, bounds.Kept>>20)
	}
	return got
}

// Flood POSTs n requests at once to url, each with a body of size bytes
// (made as it is sent, so the sender holds none of it) and the headers
// header sets, and returns how many got each status; a request the server
// cut off before answering counts under 0. Each body stops short of its
// last byte until every request has either sent that much or been
// answered, so that the server holds all it takes of them at once.
func Flood(ctx context.Context, url string, n int, size int64, header func(http.Header)) map[int]int {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var arrived sync.WaitGroup
	arrived.Add(n)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var once sync.Once
			here := func() { once.Do(arrived.Done) }
			body := io.MultiReader(io.LimitReader(filler{}, size-1), &lastByte{here: here, all: all})
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
			if err != nil {
				panic(fmt.Sprintf("bodytest: %v", err))
			}
			req.ContentLength = size
			header(req.Header)
			status := 0
			if res, err := client.Do(req); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				status = res.StatusCode
			}
			here()
			mu.Lock()
			got[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return got
}

// lastByte is a body's last byte, held back until all are there.
type lastByte struct {
	here func()
	all  <-chan struct{}
	done bool
}

func (l *lastByte) Read(p []byte) (int, error) {
	if l.done {
		return 0, io.EOF
	}
	l.here()
	<-l.all
	l.done = true
	p[0] = 'x'
	return 1, io.EOF
}

// filler reads as an endless run of 'x'.
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}
