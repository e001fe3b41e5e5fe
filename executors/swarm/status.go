package swarm

import (
	"context"
	"fmt"
)

// Status says what runs now: the image in the service's spec, replicas
// desired and running, and the state of Docker's last update. It returns
// an error wrapping ErrUnreachable or ErrServiceNotFound when it cannot
// read the service.
func (e *Executor) Status(ctx context.Context, target string) (string, error) {
	if err := e.checkTarget(target); err != nil {
		return "", err
	}
	svc, err := e.inspect(ctx)
	if err != nil {
		return "", err
	}
	tasks, err := e.tasks(ctx, svc)
	if err != nil {
		return "", err
	}
	image := currentImage(svc)
	c := count(svc, tasks, image)
	mode := "replicas"
	if svc.Spec.Mode.Global != nil {
		mode = "global tasks"
	}
	s := fmt.Sprintf("%s: image %s; %s %d desired, %d running (%d on that image); update: %s",
		e.where(), image, mode, c.Desired, c.Running, c.RunningNew, updateState(svc.UpdateStatus))
	if us := svc.UpdateStatus; us != nil && us.CompletedAt != nil {
		s += ", finished " + us.CompletedAt.UTC().Format("2006-01-02 15:04:05 MST")
	} else if us != nil && us.StartedAt != nil {
		s += ", started " + us.StartedAt.UTC().Format("2006-01-02 15:04:05 MST")
	}
	if f := failures(tasks[:min(len(tasks), 10)], ""); f != "" && c.Running < c.Desired {
		s += "; recent task errors: " + f
	}
	return s, nil
}
