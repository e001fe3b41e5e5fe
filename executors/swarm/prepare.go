package swarm

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/swarm"

	cs "github.com/countersign/countersign"
)

// RefPreviousSpec is the Ref that Prepare gives a rollback whose image it
// took from Swarm's PreviousSpec, because the bot had no history.
const RefPreviousSpec = "Swarm's previous spec"

// Prepare makes an action exact before policy sees it. Deploys and
// rollbacks must name "repo@sha256:…" from the service's repository (a
// tag is refused with ErrNotDigest); a rollback without an image (the bot
// has no history) gets the image of Swarm's PreviousSpec, if that is a
// digest, or ErrNoPrevious. A scale gets the current replica count in
// FromReplicas; a global service is refused with ErrGlobalService. A
// missing service or an unreachable engine is an error, except in dry-run,
// where Describe says what could not be read.
func (e *Executor) Prepare(ctx context.Context, a cs.Action) (cs.Action, error) {
	if err := e.checkTarget(a.Target); err != nil {
		return a, err
	}
	switch a.Kind {
	case cs.ActionDeploy, cs.ActionRollback:
		if a.Kind == cs.ActionRollback && a.Image == "" {
			return e.previousSpec(ctx, a)
		}
		r, err := parseDigestRef(a.Image)
		if err != nil {
			return a, fmt.Errorf("%s %s: %w", a.Kind, e.name, err)
		}
		if err := e.checkRepo(r); err != nil {
			return a, fmt.Errorf("%s %s: %w", a.Kind, e.name, err)
		}
		if e.c.opts.DryRun {
			return a, nil
		}
		svc, err := e.inspect(ctx)
		if err != nil {
			return a, err
		}
		_, err = e.containerSpec(svc)
		return a, err
	case cs.ActionScale:
		if a.Replicas < 0 {
			return a, fmt.Errorf("scale %s: replicas must be 0 or more, not %d", e.name, a.Replicas)
		}
		svc, err := e.inspect(ctx)
		if err != nil {
			if e.c.opts.DryRun {
				return a, nil
			}
			return a, err
		}
		n, err := e.replicas(svc)
		if err != nil {
			return a, err
		}
		a.FromReplicas = n
		return a, nil
	}
	return a, fmt.Errorf("swarm executor cannot %s (only deploy, rollback and scale)", a.Kind)
}

// previousSpec fills a rollback's image from Swarm's PreviousSpec.
func (e *Executor) previousSpec(ctx context.Context, a cs.Action) (cs.Action, error) {
	noHistory := fmt.Sprintf("no deployment of %s is recorded by Countersign", e.name)
	svc, err := e.inspect(ctx)
	if err != nil {
		return a, fmt.Errorf("%s, and Swarm's previous spec cannot be read: %w", noHistory, err)
	}
	if svc.PreviousSpec == nil || svc.PreviousSpec.TaskTemplate.ContainerSpec == nil {
		return a, fmt.Errorf("%w: %s, and Swarm keeps no previous spec of %s", ErrNoPrevious, noHistory, e.where())
	}
	prev := svc.PreviousSpec.TaskTemplate.ContainerSpec.Image
	r, err := parseImage(prev)
	if err != nil || r.Digest == "" {
		return a, fmt.Errorf("%w: %s, and Swarm's previous image of %s is %q, not a digest: deploy an exact image instead (deploy %s sha256:…)",
			ErrNoPrevious, noHistory, e.service, prev, e.name)
	}
	if sameImage(prev, currentImage(svc)) {
		return a, fmt.Errorf("%w: %s, and Swarm's previous spec of %s has the image it runs now (%s)", ErrNoPrevious, noHistory, e.service, prev)
	}
	if err := e.checkRepo(r); err != nil {
		return a, fmt.Errorf("rollback %s to Swarm's previous image: %w", e.name, err)
	}
	a.Image = r.Pinned()
	if a.Ref == "" {
		a.Ref = RefPreviousSpec
	}
	return a, nil
}

// replicas returns the replica count of a replicated service.
func (e *Executor) replicas(svc swarm.Service) (int, error) {
	if _, err := e.containerSpec(svc); err != nil {
		return 0, err
	}
	r := svc.Spec.Mode.Replicated
	if r == nil {
		return 0, fmt.Errorf("scale %s: %w: %s runs one task on every node and cannot be scaled", e.name, ErrGlobalService, e.where())
	}
	if r.Replicas == nil {
		return 1, nil // Docker's default
	}
	return int(*r.Replicas), nil
}

// Describe says exactly what Execute will do: the service and engine, the
// current image and the new one, or the replica change. With
// Options.DryRun or a dry-run request it starts with "DRY RUN: ". It reads
// the service's current state and says what it could not read; it fails
// only for an action it cannot carry out at all.
func (e *Executor) Describe(ctx context.Context, req cs.Request) (string, error) {
	if err := e.checkTarget(req.Action.Target); err != nil {
		return "", err
	}
	steps, err := e.plan(ctx, req.Action)
	if err != nil {
		return "", err
	}
	if e.dryRun(req) {
		return "DRY RUN: would " + strings.Join(steps, "; then would "), nil
	}
	return strings.Join(steps, "; then "), nil
}

// dryRun reports whether req must change nothing.
func (e *Executor) dryRun(req cs.Request) bool { return e.c.opts.DryRun || req.DryRun }

// plan returns the steps of an action, in the infinitive ("set the image
// of …"), after reading the service.
func (e *Executor) plan(ctx context.Context, a cs.Action) ([]string, error) {
	svc, readErr := e.inspect(ctx)
	notRead := func(what string) string {
		return fmt.Sprintf("%s (not read: %v)", what, readErr)
	}
	timeout := fmt.Sprintf("(timeout %s)", e.c.opts.Timeout)
	switch a.Kind {
	case cs.ActionDeploy, cs.ActionRollback:
		r, err := parseDigestRef(a.Image)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", a.Kind, e.name, err)
		}
		from := notRead("its current image")
		if readErr == nil {
			from = currentImage(svc)
			if sameImage(from, a.Image) {
				return []string{
					fmt.Sprintf("leave %s as it is: it is already set to %s", e.where(), r.Pinned()),
					fmt.Sprintf("check that all its tasks run that image %s", timeout),
				}, nil
			}
		}
		first := fmt.Sprintf("set the image of %s from %s to %s, keeping the rest of its spec", e.where(), from, r.Pinned())
		if a.Kind == cs.ActionRollback {
			why := "the image of deployment " + a.Deployment
			switch {
			case a.Ref == RefPreviousSpec:
				why = "Swarm's previous image; Countersign has no deployment recorded"
			case a.Deployment == "":
				why = "the image asked for"
			}
			first = fmt.Sprintf("roll back %s from %s to %s (%s), keeping the rest of its spec", e.where(), from, r.Pinned(), why)
		}
		return []string{first, fmt.Sprintf("follow the update until Docker reports it completed %s", timeout)}, nil
	case cs.ActionScale:
		if a.Replicas < 0 {
			return nil, fmt.Errorf("scale %s: replicas must be 0 or more, not %d", e.name, a.Replicas)
		}
		from := notRead("its current replica count")
		if readErr == nil {
			n, err := e.replicas(svc)
			if err != nil {
				return nil, err
			}
			from = fmt.Sprintf("%d", n)
		}
		return []string{
			fmt.Sprintf("scale %s from %s to %d replicas", e.where(), from, a.Replicas),
			fmt.Sprintf("wait until exactly %d tasks run %s", a.Replicas, timeout),
		}, nil
	}
	return nil, fmt.Errorf("swarm executor cannot %s (only deploy, rollback and scale)", a.Kind)
}
