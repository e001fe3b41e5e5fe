package e2e

// The Swarm peer of the e2e scenarios: services on this machine's engine
// in swarm mode, their state, and waiting for a rollout to converge.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// swarmService is what swarmState reads of a Swarm service.
type swarmService struct {
	Image         string // the spec's image
	Update        string // UpdateStatus.State ("updating", "completed", "paused", …), "" before any update
	UpdateMessage string
	Tasks         []swarmTask // the tasks meant to run
}

// swarmTask is a task of a Swarm service.
type swarmTask struct {
	ID, Image, State, Err, Container string
}

var swarmLeftovers sync.Once

// createSwarmService creates a replicated service name running image on
// replicas tasks, labelled e2eLabel, quick to update (one task at a
// time, stop-first, monitored 1s, stopped within 1s), and waits until its
// tasks run. It removes the service at cleanup and waits for its
// containers to go. The first call of a run removes services left by
// interrupted runs. extra are more options of `docker service create`.
func createSwarmService(t *testing.T, name, image string, replicas int, extra ...string) {
	t.Helper()
	swarmLeftovers.Do(func() { removeSwarmLeftovers(t) })
	stamp := strconv.FormatInt(time.Now().UnixNano(), 10)
	t.Cleanup(func() { removeSwarmService(t, name) })
	args := []string{"service", "create", "--detach", "--no-resolve-image", "--name", name,
		"--replicas", strconv.Itoa(replicas), "--label", e2eLabel + "=" + stamp, "--container-label", e2eLabel + "=" + stamp,
		"--stop-grace-period", "1s", "--restart-delay", "1s",
		"--update-parallelism", "1", "--update-order", "stop-first", "--update-monitor", "1s", "--update-failure-action", "pause",
	}
	mustDocker(t, slices.Concat(args, extra, []string{image})...)
	waitConverged(t, name, image, replicas, time.Minute)
}

// removeSwarmService removes the service and waits for its containers to go.
func removeSwarmService(t *testing.T, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := docker(ctx, nil, nil, "service", "rm", name); err != nil {
		t.Logf("remove service %s: %v", name, err)
		return
	}
	if err := retry(45*time.Second, func() error {
		ids, err := docker(ctx, nil, nil, "ps", "--all", "--quiet", "--filter", "label=com.docker.swarm.service.name="+name)
		if err == nil && ids != "" {
			err = fmt.Errorf("containers left: %s", strings.Join(strings.Fields(ids), " "))
		}
		return err
	}); err != nil {
		t.Errorf("service %s: %v", name, err)
	}
}

// removeSwarmLeftovers removes the services and images labelled e2eLabel
// that are older than leftoverAge: what interrupted runs left (younger
// ones may belong to runs of other checkouts still going).
func removeSwarmLeftovers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	old := func(stamp string) bool {
		ns, err := strconv.ParseInt(stamp, 10, 64)
		return err == nil && time.Since(time.Unix(0, ns)) > leftoverAge
	}
	for _, kind := range []struct {
		list, inspect, remove []string
	}{
		{[]string{"service", "ls", "--quiet", "--filter", "label=" + e2eLabel}, []string{"service", "inspect", "--format", "{{index .Spec.Labels \"" + e2eLabel + "\"}}"}, []string{"service", "rm"}},
		{[]string{"image", "ls", "--quiet", "--no-trunc", "--filter", "label=" + e2eLabel}, []string{"image", "inspect", "--format", "{{index .Config.Labels \"" + e2eLabel + "\"}}"}, []string{"image", "rm", "--force"}},
	} {
		ids, err := docker(ctx, nil, nil, kind.list...)
		if err != nil {
			continue
		}
		for _, id := range slices.Compact(strings.Fields(ids)) {
			stamp, err := docker(ctx, nil, nil, append(kind.inspect, id)...)
			if err != nil || !old(stamp) {
				continue
			}
			if _, err := docker(ctx, nil, nil, append(kind.remove, id)...); err == nil {
				t.Logf("removed the leftover %s %s", kind.list[0], id)
			}
		}
	}
}

// swarmState reads the service's spec image, update status and the tasks
// meant to run, from the engine.
func swarmState(name string) (swarmService, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := docker(ctx, nil, nil, "service", "inspect", name)
	if err != nil {
		return swarmService{}, err
	}
	var svcs []struct {
		Spec struct {
			TaskTemplate struct{ ContainerSpec struct{ Image string } }
		}
		UpdateStatus *struct{ State, Message string }
	}
	if err := json.Unmarshal([]byte(out), &svcs); err != nil || len(svcs) != 1 {
		return swarmService{}, fmt.Errorf("docker service inspect %s: %v: %s", name, err, out)
	}
	st := swarmService{Image: svcs[0].Spec.TaskTemplate.ContainerSpec.Image}
	if u := svcs[0].UpdateStatus; u != nil {
		st.Update, st.UpdateMessage = u.State, u.Message
	}
	ids, err := docker(ctx, nil, nil, "service", "ps", "--quiet", "--no-trunc", "--filter", "desired-state=running", name)
	if err != nil || ids == "" {
		return st, err
	}
	out, err = docker(ctx, nil, nil, append([]string{"inspect", "--type", "task"}, strings.Fields(ids)...)...)
	if err != nil {
		return st, err
	}
	var tasks []struct {
		ID   string
		Spec struct{ ContainerSpec struct{ Image string } }
		// Status.ContainerStatus is absent until the task has a container.
		Status struct {
			State, Err      string
			ContainerStatus *struct{ ContainerID string }
		}
	}
	if err := json.Unmarshal([]byte(out), &tasks); err != nil {
		return st, fmt.Errorf("docker inspect tasks of %s: %v", name, err)
	}
	for _, tk := range tasks {
		task := swarmTask{ID: tk.ID, Image: tk.Spec.ContainerSpec.Image, State: tk.Status.State, Err: tk.Status.Err}
		if tk.Status.ContainerStatus != nil {
			task.Container = tk.Status.ContainerStatus.ContainerID
		}
		st.Tasks = append(st.Tasks, task)
	}
	return st, nil
}

// waitConverged waits until the service's spec names image, no update is
// under way, and exactly replicas tasks are meant to run and run image;
// then it returns the state. After timeout it fails the test with the
// service's tasks.
func waitConverged(t *testing.T, name, image string, replicas int, timeout time.Duration) swarmService {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := swarmState(name)
		done := err == nil && st.Image == image && (st.Update == "" || st.Update == "completed") && len(st.Tasks) == replicas
		for _, task := range st.Tasks {
			done = done && task.State == "running" && task.Image == image
		}
		if done {
			return st
		}
		if time.Now().After(deadline) {
			tasks := dockerLog(context.Background(), "service", "ps", "--no-trunc", name)
			t.Fatalf("service %s did not converge on %s (%d tasks) within %s: %+v %v\n%s", name, image, replicas, timeout, st, err, tasks)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// containerDigests returns the repo@sha256:… names of the image the
// container runs, as the engine has them.
func containerDigests(t *testing.T, container string) []string {
	t.Helper()
	id := mustDocker(t, "inspect", "--type", "container", "--format", "{{.Image}}", container)
	var digests []string
	if err := json.Unmarshal([]byte(mustDocker(t, "image", "inspect", "--format", "{{json .RepoDigests}}", id)), &digests); err != nil {
		t.Fatal(err)
	}
	return digests
}
