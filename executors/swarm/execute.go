package swarm

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/swarm"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Execute carries out an approved deploy, rollback or scale and waits
// until the service converges, reporting progress (each step is audited
// by the caller; an error from progress stops the execution). It returns
// an error, wrapping one of the package's sentinels where one applies,
// when the engine is unreachable, the service is missing, the engine
// cannot pull the image, Docker pauses or rolls back the update, or the
// service does not converge within Options.Timeout. In dry-run it reads
// the service, reports what it would do and changes nothing.
func (e *Executor) Execute(ctx context.Context, req cs.Request, progress func(string) error) (bot.Result, error) {
	a := req.Action
	if err := e.checkTarget(a.Target); err != nil {
		return bot.Result{}, err
	}
	var res bot.Result
	var err error
	switch {
	case e.dryRun(req):
		res, err = e.dryRunExecute(ctx, a, progress)
	case a.Kind == cs.ActionDeploy || a.Kind == cs.ActionRollback:
		res, err = e.deploy(ctx, a, progress)
	case a.Kind == cs.ActionScale:
		res, err = e.scale(ctx, a, progress)
	default:
		err = fmt.Errorf("swarm executor cannot %s (only deploy, rollback and scale)", a.Kind)
	}
	if err != nil {
		e.c.log.Warn("execution failed", "request", req.ID, "action", a.Kind, "service", e.service, "image", a.Image, "replicas", a.Replicas, "err", err)
		return bot.Result{}, err
	}
	e.c.log.Info("execution done", "request", req.ID, "action", a.Kind, "service", e.service, "summary", res.Summary, "dry_run", res.DryRun)
	return res, nil
}

// dryRunExecute reports the plan step by step, and whether the engine can
// read the image, and changes nothing.
func (e *Executor) dryRunExecute(ctx context.Context, a cs.Action, progress func(string) error) (bot.Result, error) {
	plan, err := e.plan(ctx, a)
	if err != nil {
		return bot.Result{}, err
	}
	var steps []string
	for _, p := range plan {
		steps = append(steps, "DRY RUN: would "+p)
	}
	if a.Kind != cs.ActionScale {
		if warn, err := e.checkPullable(ctx, a.Image); err != nil {
			steps = append(steps, fmt.Sprintf("DRY RUN: a real run would stop here: %v", err))
		} else if warn != "" {
			steps = append(steps, "DRY RUN: note: "+warn)
		} else {
			steps = append(steps, fmt.Sprintf("DRY RUN: checked that engine %s can read %s from its registry", e.c.where(), a.Image))
		}
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return bot.Result{}, err
		}
		if err := progress(s); err != nil {
			return bot.Result{}, err
		}
	}
	return bot.Result{Summary: "DRY RUN: nothing was changed", Image: a.Image, DryRun: true}, nil
}

// checkPullable asks the engine to read the image's manifest from its
// registry, so that an image it cannot pull fails before anything
// changes. A registry that wants credentials only gets a warning: the
// nodes pull with the credentials stored in the service, which we cannot
// see.
func (e *Executor) checkPullable(ctx context.Context, image string) (warning string, err error) {
	if err := e.c.ready(ctx); err != nil {
		return "", fmt.Errorf("check image %s on engine %s: %w", image, e.c.where(), err)
	}
	_, err = e.c.api.DistributionInspect(ctx, image, "")
	switch {
	case err == nil:
		return "", nil
	case cerrdefs.IsUnauthorized(err) || cerrdefs.IsPermissionDenied(err):
		return fmt.Sprintf("engine %s could not check %s without credentials (%v); the nodes will pull it with the service's stored credentials", e.c.where(), image, err), nil
	case cerrdefs.IsNotFound(err) || cerrdefs.IsUnknown(err) || cerrdefs.IsInternal(err) || cerrdefs.IsInvalidArgument(err):
		return "", fmt.Errorf("%w: engine %s cannot read %s from its registry: %w", ErrImageNotPullable, e.c.where(), image, err)
	}
	return "", e.apiErr("check image "+image+" for", err)
}

// deploy sets the service's image to a.Image and follows the update.
func (e *Executor) deploy(ctx context.Context, a cs.Action, progress func(string) error) (bot.Result, error) {
	r, err := parseDigestRef(a.Image)
	if err != nil {
		return bot.Result{}, fmt.Errorf("%s %s: %w", a.Kind, e.name, err)
	}
	if err := e.checkRepo(r); err != nil {
		return bot.Result{}, fmt.Errorf("%s %s: %w", a.Kind, e.name, err)
	}
	image := r.Pinned()
	svc, err := e.inspect(ctx)
	if err != nil {
		return bot.Result{}, err
	}
	spec, err := e.containerSpec(svc)
	if err != nil {
		return bot.Result{}, err
	}
	if warn, err := e.checkPullable(ctx, image); err != nil {
		return bot.Result{}, fmt.Errorf("%s %s (nothing was changed): %w", a.Kind, e.name, err)
	} else if warn != "" {
		if err := progress(warn); err != nil {
			return bot.Result{}, err
		}
	}
	old := spec.Image
	var before *time.Time
	if svc.UpdateStatus != nil {
		before = svc.UpdateStatus.StartedAt
	}
	start := time.Now()
	changed := !sameImage(old, image)
	if changed {
		newSpec := svc.Spec
		c := *spec
		c.Image = image
		newSpec.TaskTemplate.ContainerSpec = &c
		resp, err := e.update(ctx, "update", svc, newSpec)
		if err != nil {
			return bot.Result{}, err
		}
		// Docker rolls it out without us now (Resume follows it).
		bot.ChangeSent(ctx)
		step := fmt.Sprintf("set the image of %s from %s to %s; Docker is rolling it out", e.where(), old, image)
		for _, w := range resp.Warnings {
			step += "; Docker warns: " + w
		}
		if err := progress(step); err != nil {
			return bot.Result{}, err
		}
	} else if err := progress(fmt.Sprintf("%s is already set to %s; checking its tasks", e.where(), image)); err != nil {
		return bot.Result{}, err
	}
	w := &watch{e: e, svcID: svc.ID, image: image, old: old, before: before, noUpdate: !changed, progress: progress}
	n, err := w.follow(ctx)
	if err != nil {
		return bot.Result{}, err
	}
	took := time.Since(start).Round(100 * time.Millisecond)
	res := bot.Result{Summary: fmt.Sprintf("%s (converged in %s)", deploySummary(a, e.where(), image, n), took), Image: image}
	if changed {
		res.Replaced = old
	}
	return res, nil
}

// deploySummary is the result of a deploy or rollback whose n tasks run
// image.
func deploySummary(a cs.Action, where, image string, n int) string {
	s := fmt.Sprintf("%s runs %s on %d/%d tasks", where, image, n, n)
	if a.Kind == cs.ActionRollback {
		s = "rolled back: " + s
	}
	return s
}

// staleTries bounds how often update sends a change again after the
// engine refused it as out of sequence.
const staleTries = 3

// update sends newSpec, made from svc.Spec, as the new spec of svc.
// Swarm refuses an update whose version is not the service's latest
// ("update out of sequence"), and the engine bumps the version itself
// while a rollout runs and when it ends (its update status), so a change
// right after another rollout is often refused: update reads the service
// again and, when its spec is still the one newSpec was made from, sends
// newSpec with the new version. A spec that someone else changed is not
// overwritten: that fails, and nothing was changed.
func (e *Executor) update(ctx context.Context, what string, svc swarm.Service, newSpec swarm.ServiceSpec) (swarm.ServiceUpdateResponse, error) {
	for try := 1; ; try++ {
		if e.beforeUpdate != nil {
			e.beforeUpdate()
		}
		resp, err := e.c.api.ServiceUpdate(ctx, svc.ID, svc.Version, newSpec, swarm.ServiceUpdateOptions{})
		if err == nil {
			return resp, nil
		}
		if !outOfSequence(err) || try == staleTries {
			return resp, updateErr(e.apiErr(what, err))
		}
		now, ierr := e.inspect(ctx)
		if ierr != nil {
			return resp, fmt.Errorf("%w; reading it again failed: %w", updateErr(e.apiErr(what, err)), ierr)
		}
		if !reflect.DeepEqual(now.Spec, svc.Spec) {
			return resp, fmt.Errorf("%s %s: someone changed its spec after it was read (version %d, now %d); nothing was changed: look (status) and ask again",
				what, e.where(), svc.Version.Index, now.Version.Index)
		}
		svc = now
	}
}

// outOfSequence reports whether err is Swarm refusing an update made
// from an older version of the service. The engine says so only in the
// message (an rpc error of code Unknown).
func outOfSequence(err error) bool {
	return strings.Contains(err.Error(), "update out of sequence")
}

// updateErr says whether a failed ServiceUpdate may have changed anything:
// an answer from Docker means it did not; a lost connection leaves it open.
func updateErr(err error) error {
	if errors.Is(err, ErrUnreachable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w; the change may or may not have reached the engine: see status", err)
	}
	return fmt.Errorf("%w; nothing was changed", err)
}

// scale sets the service's replica count and waits until exactly that
// many tasks run.
func (e *Executor) scale(ctx context.Context, a cs.Action, progress func(string) error) (bot.Result, error) {
	if a.Replicas < 0 {
		return bot.Result{}, fmt.Errorf("scale %s: replicas must be 0 or more, not %d", e.name, a.Replicas)
	}
	svc, err := e.inspect(ctx)
	if err != nil {
		return bot.Result{}, err
	}
	from, err := e.replicas(svc)
	if err != nil {
		return bot.Result{}, err
	}
	start := time.Now()
	if from != a.Replicas {
		newSpec := svc.Spec
		n := uint64(a.Replicas)
		newSpec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &n}
		if _, err := e.update(ctx, "scale", svc, newSpec); err != nil {
			return bot.Result{}, err
		}
		bot.ChangeSent(ctx)
	}
	if err := progress(fmt.Sprintf("set %s from %d to %d replicas", e.where(), from, a.Replicas)); err != nil {
		return bot.Result{}, err
	}
	w := &watch{e: e, svcID: svc.ID, want: a.Replicas, scaling: true, progress: progress}
	if _, err := w.follow(ctx); err != nil {
		return bot.Result{}, err
	}
	took := time.Since(start).Round(100 * time.Millisecond)
	return bot.Result{Summary: fmt.Sprintf("%s runs %s (was %d; converged in %s)", e.where(), plural(a.Replicas, "replica"), from, took)}, nil
}

// plural says "1 replica", "3 replicas".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
