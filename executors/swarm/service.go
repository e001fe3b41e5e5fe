package swarm

import (
	"context"
	"fmt"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
)

// inspect reads the service. Its errors wrap ErrUnreachable or
// ErrServiceNotFound when that is what happened.
func (e *Executor) inspect(ctx context.Context) (swarm.Service, error) {
	if err := e.c.ready(ctx); err != nil {
		return swarm.Service{}, fmt.Errorf("inspect %s: %w", e.where(), err)
	}
	svc, _, err := e.c.api.ServiceInspectWithRaw(ctx, e.service, swarm.ServiceInspectOptions{})
	if err == nil && svc.Spec.Name != e.service {
		// Docker also matches ID prefixes: a name that is one must not
		// select another service.
		return swarm.Service{}, fmt.Errorf("inspect %s: %w", e.where(), ErrServiceNotFound)
	}
	if err != nil {
		return swarm.Service{}, e.apiErr("inspect", err)
	}
	return svc, nil
}

// apiErr wraps an error of the Docker API with the operation, the service
// and the engine, and the sentinel callers branch on.
func (e *Executor) apiErr(op string, err error) error {
	switch {
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%s %s: %w (%w)", op, e.where(), ErrServiceNotFound, err)
	case client.IsErrConnectionFailed(err):
		return fmt.Errorf("%s %s: %w: %w", op, e.where(), ErrUnreachable, err)
	}
	return fmt.Errorf("%s %s: %w", op, e.where(), err)
}

// containerSpec returns the service's container spec, or an error for
// what Countersign does not deploy (plugins, jobs).
func (e *Executor) containerSpec(svc swarm.Service) (*swarm.ContainerSpec, error) {
	spec := svc.Spec.TaskTemplate.ContainerSpec
	switch {
	case spec == nil:
		return nil, fmt.Errorf("%s has no container spec (a plugin?): Countersign deploys container services only", e.where())
	case svc.Spec.Mode.ReplicatedJob != nil || svc.Spec.Mode.GlobalJob != nil:
		return nil, fmt.Errorf("%s is a job: Countersign deploys replicated and global services only", e.where())
	}
	return spec, nil
}

// currentImage is the image in the service's spec ("" if none).
func currentImage(svc swarm.Service) string {
	if c := svc.Spec.TaskTemplate.ContainerSpec; c != nil {
		return c.Image
	}
	return ""
}

// tasks lists the service's tasks, newest first.
func (e *Executor) tasks(ctx context.Context, svc swarm.Service) ([]swarm.Task, error) {
	ts, err := e.c.api.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	if err != nil {
		return nil, e.apiErr("list tasks of", err)
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Status.Timestamp.After(ts[j].Status.Timestamp) })
	return ts, nil
}

// counts is what the service's tasks show.
type counts struct {
	Desired    int // replicas wanted (global: tasks Swarm wants running)
	Running    int // tasks running that Swarm wants running
	RunningNew int // of those, tasks running the image being deployed
	RunningAll int // tasks running, including those being stopped
}

// count counts the tasks of svc; image is the image being deployed ("" for none).
func count(svc swarm.Service, tasks []swarm.Task, image string) counts {
	var c counts
	nodes := map[string]bool{}
	for _, t := range tasks {
		running := t.Status.State == swarm.TaskStateRunning
		if running {
			c.RunningAll++
		}
		if t.DesiredState != swarm.TaskStateRunning {
			continue
		}
		nodes[t.NodeID] = true
		if !running {
			continue
		}
		c.Running++
		if image != "" && t.Spec.ContainerSpec != nil && sameImage(t.Spec.ContainerSpec.Image, image) {
			c.RunningNew++
		}
	}
	switch r := svc.Spec.Mode.Replicated; {
	case r != nil && r.Replicas != nil:
		c.Desired = int(*r.Replicas)
	case r != nil:
		c.Desired = 1 // Docker's default
	default:
		c.Desired = len(nodes) // global: one task per eligible node
	}
	return c
}

// failures describes the most recent distinct errors of the tasks that
// ran image (all tasks when image is ""), e.g.
// `"task: non-zero exit (1)" (3 tasks, exit code 1)`; "" when none failed.
func failures(tasks []swarm.Task, image string) string {
	type seen struct {
		n    int
		exit int
	}
	var order []string
	byErr := map[string]*seen{}
	for _, t := range tasks { // newest first
		if image != "" && (t.Spec.ContainerSpec == nil || !sameImage(t.Spec.ContainerSpec.Image, image)) {
			continue
		}
		st := t.Status
		if st.Err == "" && st.State != swarm.TaskStateFailed && st.State != swarm.TaskStateRejected {
			continue
		}
		msg := st.Err
		if msg == "" {
			msg = st.Message
		}
		msg = fmt.Sprintf("%s: %s", st.State, msg)
		s := byErr[msg]
		if s == nil {
			s = &seen{}
			byErr[msg] = s
			order = append(order, msg)
		}
		s.n++
		if cst := st.ContainerStatus; cst != nil {
			s.exit = cst.ExitCode
		}
	}
	var parts []string
	for i, msg := range order {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d other errors", len(order)-3))
			break
		}
		s := byErr[msg]
		p := fmt.Sprintf("%q (%d task", msg, s.n)
		if s.n != 1 {
			p += "s"
		}
		if s.exit != 0 {
			p += fmt.Sprintf(", exit code %d", s.exit)
		}
		parts = append(parts, p+")")
	}
	return strings.Join(parts, "; ")
}

// updateState describes svc's UpdateStatus: "completed (update completed)".
func updateState(us *swarm.UpdateStatus) string {
	if us == nil || us.State == "" {
		return "no update yet"
	}
	if us.Message == "" {
		return string(us.State)
	}
	return fmt.Sprintf("%s (%s)", us.State, us.Message)
}
