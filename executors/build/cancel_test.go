package build

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/executors/dockertest"
)

func TestBuilder_BuildCancelledMidStep(t *testing.T) {
	t.Parallel()
	f := env(t)
	tc := f.start(t)
	spec := tc.commit(files("Dockerfile", tc.dockerfile("COPY hello /hello", `RUN ["/hello", "-sleep=5m"]`)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled time.Time
	var mu sync.Mutex
	progress := func(line string) {
		if strings.HasPrefix(line, "Step 4/4") {
			// Let the step's container start, then supersede the build.
			time.AfterFunc(time.Second, func() {
				mu.Lock()
				cancelled = time.Now()
				mu.Unlock()
				cancel()
			})
		}
	}
	_, err := tc.builder(Config{}, Options{}).Build(ctx, spec, progress)
	returned := time.Now()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build = %v, want context.Canceled", err)
	}
	mu.Lock()
	took := returned.Sub(cancelled)
	mu.Unlock()
	t.Logf("returned %s after the cancellation: %v", took, err)
	if took > 5*time.Second {
		t.Errorf("Build returned %s after the cancellation, want promptly", took)
	}
	// The engine stops the step when the client goes; its container
	// carries the image's label.
	tc.waitNoContainers(t, 30*time.Second)
}

// waitNoContainers waits until no container with the test's label is
// left on the engine, and fails the test if one stays.
func (tc *testCase) waitNoContainers(t *testing.T, within time.Duration) {
	t.Helper()
	byLabel := filters.NewArgs(filters.Arg("label", testLabel+"="+tc.label))
	deadline := time.Now().Add(within)
	for {
		ctrs, err := tc.f.docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: byLabel})
		if err != nil {
			t.Fatalf("list containers: %v", err)
		}
		if len(ctrs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("the step's container %s (%s) is still there after %s", ctrs[0].ID[:12], ctrs[0].State, within)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func TestBuilder_BuildTimeout(t *testing.T) {
	t.Parallel()
	f := env(t)
	tc := f.start(t)
	spec := tc.commit(files("Dockerfile", tc.dockerfile("COPY hello /hello", `RUN ["/hello", "-sleep=5m"]`)))
	const timeout = 8 * time.Second
	start := time.Now()
	_, err := tc.builder(Config{Timeout: timeout}, Options{}).Build(context.Background(), spec, nil)
	took := time.Since(start)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Build = %v, want ErrTimeout and context.DeadlineExceeded", err)
	}
	if took > timeout+5*time.Second {
		t.Errorf("Build took %s with a %s timeout", took, timeout)
	}
	// How far the build got depends on the machine's load; the error
	// must say where it was, that it timed out, and end with the log.
	if !strings.Contains(err.Error(), "docker build: build timed out after 8s") || !strings.Contains(err.Error(), "\nStep ") {
		t.Errorf("error = %q, want the stage, the timeout and the log", err)
	}
	tc.waitNoContainers(t, 30*time.Second)
}

// TestBuilder_BuildCancelledMidFetch cancels while the engine is still
// receiving a commit that GitHub sends slowly.
func TestBuilder_BuildCancelledMidFetch(t *testing.T) {
	t.Parallel()
	f := env(t)
	tc := f.start(t)
	sha := dockertest.RandomHex(20)
	f.github.addSlow("acme/app", sha, tree{
		"Dockerfile": {data: []byte(tc.dockerfile("COPY hello /hello"))},
		"hello":      {data: f.hello, exec: true},
	}, 20*time.Millisecond) // a minute for the binary
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	start := time.Now()
	_, err := tc.builder(Config{}, Options{}).Build(ctx, bot.BuildSpec{Repo: "acme/app", SHA: sha, Tag: "t-" + sha[:7]}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Build returned %s after the start, cancelled after 1s", took)
	}
	t.Logf("error: %v", err)
}
