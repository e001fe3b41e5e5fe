package bot

import (
	"context"
	"errors"
	"fmt"

	cs "github.com/countersign/countersign"
)

// `adopt SERVICE` takes what runs at a service now as its approved state:
// the request names the exact image (and replicas) read when it was
// made, policy decides it as action adopt, and once approved the bot
// reads again and records it as a deployment of kind adopt, replacing
// the image it had approved before, so that drift ends and a rollback
// goes back to that image. Nothing outside the bot is changed.

// readLive reads what runs at one service through its executor.
func (b *Bot) readLive(ctx context.Context, s Service) (Live, error) {
	o, ok := s.Executor.(Observer)
	if !ok {
		return Live{}, fmt.Errorf("the executor of %s cannot read what runs (a dry run?), so there is nothing to adopt", s.Name)
	}
	got, err := o.Sweeper().Sweep(ctx, []string{s.Name})
	if err != nil {
		return Live{}, fmt.Errorf("read what runs at %s: %w", s.Name, err)
	}
	l, ok := got[s.Name]
	switch {
	case !ok:
		return Live{}, fmt.Errorf("read what runs at %s: the executor said nothing about it", s.Name)
	case l.Unknown != "":
		return Live{}, fmt.Errorf("read what runs at %s: %s", s.Name, l.Unknown)
	case l.Image == "" && l.Hash != "":
		return Live{}, fmt.Errorf("%s runs a binary (sha256 %s) that no image in the host's index names: deploy an image instead", s.Name, l.Hash)
	case l.Image == "":
		return Live{}, fmt.Errorf("nothing runs at %s, so there is nothing to adopt", s.Name)
	}
	return l, nil
}

// resolveAdopt fills in an adopt action with what runs now.
func (b *Bot) resolveAdopt(ctx context.Context, s Service, a *cs.Action) error {
	l, err := b.readLive(ctx, s)
	if err != nil {
		return err
	}
	a.Image = l.Image
	if l.Replicas > 0 {
		a.Replicas = l.Replicas
	}
	return nil
}

// adoptPlan is what an approver of adopt is told will happen.
func adoptPlan(a cs.Action) string {
	s := "record " + a.Image
	if a.Replicas > 0 {
		s += fmt.Sprintf(" with %d replicas", a.Replicas)
	}
	return s + " as what " + a.Target + " should run, after checking that it still runs; nothing on " + a.Target + " is changed"
}

// errAdoptMoved: what runs changed between the request and its run.
var errAdoptMoved = errors.New("what runs changed since the request")

// runAdopt checks that what the request names still runs and reports it
// as the deployment finish records.
func (b *Bot) runAdopt(ctx context.Context, r cs.Request) (Result, error) {
	s, ok := b.service(r.Action.Target)
	if !ok {
		return Result{}, fmt.Errorf("%w %q", cs.ErrUnknownService, r.Action.Target)
	}
	l, err := b.readLive(ctx, s)
	if err != nil {
		return Result{}, err
	}
	if !sameDigest(l.Image, r.Action.Image) || r.Action.Replicas > 0 && l.Replicas >= 0 && l.Replicas != r.Action.Replicas {
		now := cs.Action{Target: s.Name, Image: l.Image, Replicas: max(l.Replicas, 0)}
		return Result{}, fmt.Errorf("%w: it now runs %s; request adopt again", errAdoptMoved, adoptPlanRuns(now))
	}
	var before string
	if err := b.store.View(ctx, func(tx ReadTx) error {
		xs, err := b.serviceExpects(tx, s.Name)
		if len(xs) == 1 {
			before = xs[0].image
		}
		return err
	}); err != nil {
		return Result{}, fmt.Errorf("read the approved state of %s: %w", s.Name, err)
	}
	return Result{Summary: "adopted " + adoptPlanRuns(r.Action) + " as what " + s.Name + " should run", Image: r.Action.Image, Replaced: before}, nil
}

func adoptPlanRuns(a cs.Action) string {
	if a.Replicas > 0 {
		return fmt.Sprintf("%s with %d replicas", a.Image, a.Replicas)
	}
	return a.Image
}
