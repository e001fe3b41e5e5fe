package swarm

import (
	"context"
	"fmt"
	"slices"

	"github.com/docker/docker/api/types/swarm"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Resume follows a deploy, rollback or scale that an earlier run of the
// bot sent to the engine, after the bot restarted (Docker carries an
// update on without it), with the same watch as Execute, and returns the
// same outcome and errors. It never changes the service.
//
// It follows only what the service shows to be req's change. A deploy or
// rollback: the spec has req's image and the spec before it
// (PreviousSpec) another one, so the last change of the spec set req's
// image, and the UpdateStatus (Docker resets it on every change of the
// spec) is that change's; or Docker is rolling back, on its own, an
// update that started tasks of req's image (Docker's own rollback leaves
// no PreviousSpec; `docker service rollback` swaps the two specs). A
// scale: the spec has req's replica count. Anything else (the service
// changed since, or the bot stopped before the engine had the change), a
// dry run, or a service it cannot read returns an error wrapping
// bot.ErrCannotResume, before any step is reported.
func (e *Executor) Resume(ctx context.Context, req cs.Request, progress func(string) error) (bot.Result, error) {
	a := req.Action
	if err := e.checkTarget(a.Target); err != nil {
		return bot.Result{}, fmt.Errorf("%w: %w", bot.ErrCannotResume, err)
	}
	if e.dryRun(req) {
		return bot.Result{}, fmt.Errorf("%w: a dry run changed nothing on %s", bot.ErrCannotResume, e.where())
	}
	svc, err := e.inspect(ctx)
	if err != nil {
		return bot.Result{}, fmt.Errorf("%w: %w", bot.ErrCannotResume, err)
	}
	var res bot.Result
	switch a.Kind {
	case cs.ActionDeploy, cs.ActionRollback:
		res, err = e.resumeDeploy(ctx, a, svc, progress)
	case cs.ActionScale:
		res, err = e.resumeScale(ctx, a, svc, progress)
	default:
		err = fmt.Errorf("%w: swarm executor cannot %s", bot.ErrCannotResume, a.Kind)
	}
	if err != nil {
		e.c.log.Warn("resumed execution failed", "request", req.ID, "action", a.Kind, "service", e.service, "image", a.Image, "replicas", a.Replicas, "err", err)
		return bot.Result{}, err
	}
	e.c.log.Info("resumed execution done", "request", req.ID, "action", a.Kind, "service", e.service, "summary", res.Summary)
	return res, nil
}

// resumeDeploy follows the update of svc to a.Image, or Docker's
// rollback of it.
func (e *Executor) resumeDeploy(ctx context.Context, a cs.Action, svc swarm.Service, progress func(string) error) (bot.Result, error) {
	r, err := parseDigestRef(a.Image)
	if err != nil {
		return bot.Result{}, fmt.Errorf("%w: %s %s: %w", bot.ErrCannotResume, a.Kind, e.name, err)
	}
	image := r.Pinned()
	cur, prev, us := currentImage(svc), previousImage(svc), svc.UpdateStatus
	var old, step string
	switch {
	case sameImage(cur, image) && !sameImage(prev, image) && !rollingBack(us):
		old = prev
		step = fmt.Sprintf("the bot restarted while %s was being set to %s; following Docker's update (%s) without changing anything",
			e.where(), image, updateState(us))
	case !sameImage(cur, image) && prev == "" && rollingBack(us):
		tasks, err := e.tasks(ctx, svc)
		if err != nil {
			return bot.Result{}, fmt.Errorf("%w: %w", bot.ErrCannotResume, err)
		}
		ran := func(t swarm.Task) bool {
			return t.Spec.ContainerSpec != nil && sameImage(t.Spec.ContainerSpec.Image, image)
		}
		if !slices.ContainsFunc(tasks, ran) {
			return bot.Result{}, fmt.Errorf("%w: Docker rolled %s back to %s (%s), but from an update that ran no task of %s",
				bot.ErrCannotResume, e.where(), cur, updateState(us), image)
		}
		old = cur
		step = fmt.Sprintf("the bot restarted while %s was being set to %s; Docker is rolling that back to %s (%s); following it without changing anything",
			e.where(), image, cur, updateState(us))
	default:
		return bot.Result{}, fmt.Errorf("%w: %s has image %s (before it %s; update: %s), which is not the change to %s this request made: it never reached the engine, or the service changed since",
			bot.ErrCannotResume, e.where(), cur, orNone(prev), updateState(us), image)
	}
	if err := progress(step); err != nil {
		return bot.Result{}, err
	}
	w := &watch{e: e, svcID: svc.ID, image: image, old: old, resumed: true, progress: progress}
	n, err := w.follow(ctx)
	if err != nil {
		return bot.Result{}, err
	}
	return bot.Result{Summary: deploySummary(a, e.where(), image, n), Image: image, Replaced: old}, nil
}

// resumeScale follows the service to req's replica count.
func (e *Executor) resumeScale(ctx context.Context, a cs.Action, svc swarm.Service, progress func(string) error) (bot.Result, error) {
	n, err := e.replicas(svc)
	if err != nil {
		return bot.Result{}, fmt.Errorf("%w: %w", bot.ErrCannotResume, err)
	}
	if n != a.Replicas {
		return bot.Result{}, fmt.Errorf("%w: %s is set to %s, not the %d this request asked for: it never reached the engine, or the service changed since",
			bot.ErrCannotResume, e.where(), plural(n, "replica"), a.Replicas)
	}
	if err := progress(fmt.Sprintf("the bot restarted while %s was scaled to %s; following it without changing anything", e.where(), plural(n, "replica"))); err != nil {
		return bot.Result{}, err
	}
	w := &watch{e: e, svcID: svc.ID, want: a.Replicas, scaling: true, progress: progress}
	if _, err := w.follow(ctx); err != nil {
		return bot.Result{}, err
	}
	return bot.Result{Summary: fmt.Sprintf("%s runs %s (was %d)", e.where(), plural(a.Replicas, "replica"), a.FromReplicas)}, nil
}

// rollingBack reports whether Docker's update status is of a rollback.
func rollingBack(us *swarm.UpdateStatus) bool {
	if us == nil {
		return false
	}
	switch us.State {
	case swarm.UpdateStateRollbackStarted, swarm.UpdateStateRollbackPaused, swarm.UpdateStateRollbackCompleted:
		return true
	}
	return false
}

// previousImage is the image of the service's previous spec ("" if none).
func previousImage(svc swarm.Service) string {
	if p := svc.PreviousSpec; p != nil && p.TaskTemplate.ContainerSpec != nil {
		return p.TaskTemplate.ContainerSpec.Image
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
