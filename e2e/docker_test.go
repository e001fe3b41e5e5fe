package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runPrefix starts the name of everything a run creates in the engine
// (stack, configs, secrets, volume, image tag), followed by the run's
// start in Unix nanoseconds: leftovers of interrupted runs are found by
// it and removed once they are old enough not to belong to a run still
// going (other checkouts may run this test at the same time).
const (
	runPrefix   = "cse2e-"
	imageRepo   = "countersign-e2e"
	leftoverAge = 30 * time.Minute
)

// docker runs the docker CLI with env added to the environment and
// returns its standard output, trimmed. The error holds the command, its
// exit status and its standard error.
func docker(ctx context.Context, env []string, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// dockerLog returns what `docker ARGS` (logs, service logs) prints on
// both its outputs, which carry the container's standard output and
// error.
func dockerLog(ctx context.Context, args ...string) string {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%s(docker %s: %v)", out, strings.Join(args, " "), err)
	}
	return string(out)
}

// mustDocker is docker with a two-minute limit that fails the test on error.
func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := docker(ctx, nil, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// requireDocker skips the test when there is no docker CLI or engine, or
// fails it when CI is set (CI machines have Docker).
func requireDocker(t *testing.T) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		missing("docker CLI not found (apt-get install docker.io): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := docker(ctx, nil, nil, "info", "--format", "{{.ServerVersion}}"); err != nil {
		missing("docker engine not reachable: %v", err)
	}
}

// swarmManager makes the engine a swarm manager, initialising a swarm
// when it is in none, and leaves it so, as executors/swarm's tests do.
// It returns what it did, for the log.
func swarmManager(t *testing.T) string {
	t.Helper()
	state := func() string {
		return mustDocker(t, "info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}")
	}
	switch s := state(); s {
	case "active true":
		return "swarm already active"
	case "inactive false":
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := docker(ctx, nil, nil, "swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377")
		if err == nil {
			return "swarm initialised by the test (left initialised)"
		}
		// Another test (executors/swarm, another checkout) may have just
		// initialised it.
		if state() == "active true" {
			return "swarm initialised meanwhile by someone else"
		}
		t.Fatalf("swarm init (docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377): %v", err)
	case "active false":
		t.Fatal("this engine is in a swarm but not a manager: the test needs a manager (docker swarm leave, then rerun)")
	default:
		t.Fatalf("engine swarm state is %q: cannot deploy a stack", s)
	}
	return ""
}

// removeLeftovers removes what interrupted runs left behind: stacks
// first, then what they used (which refuses removal while in use; the
// next run retries).
func removeLeftovers(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	old := func(name string) bool {
		rest, ok := strings.CutPrefix(name, runPrefix)
		if !ok {
			return false
		}
		stamp, _, _ := strings.Cut(rest, "-")
		ns, err := strconv.ParseInt(stamp, 10, 64)
		return err == nil && time.Since(time.Unix(0, ns)) > leftoverAge
	}
	for _, kind := range []struct {
		list, remove []string
	}{
		{[]string{"stack", "ls", "--format", "{{.Name}}"}, []string{"stack", "rm"}},
		{[]string{"secret", "ls", "--format", "{{.Name}}"}, []string{"secret", "rm"}},
		{[]string{"config", "ls", "--format", "{{.Name}}"}, []string{"config", "rm"}},
		{[]string{"volume", "ls", "--format", "{{.Name}}"}, []string{"volume", "rm"}},
		{[]string{"image", "ls", imageRepo, "--format", "{{.Tag}}"}, []string{"image", "rm"}},
	} {
		out, err := docker(ctx, nil, nil, kind.list...)
		if err != nil {
			continue
		}
		for _, name := range strings.Fields(out) {
			if !old(name) {
				continue
			}
			if kind.list[0] == "image" {
				name = imageRepo + ":" + name
			}
			if _, err := docker(ctx, nil, nil, append(kind.remove, name)...); err == nil {
				t.Logf("removed the leftover %s %s", kind.list[0], name)
			}
		}
	}
}

// retry calls f until it succeeds or d has passed, and returns its last error.
func retry(d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}
