package swarm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// maxBlips is how many looks in a row may fail to reach the engine
// before a wait gives up.
const maxBlips = 5

// firstPoll is the wait before the second look; each wait is twice the
// one before, up to Options.Poll.
const firstPoll = 50 * time.Millisecond

// watch follows one deploy or scale until it converges, fails or times out.
type watch struct {
	e     *Executor
	svcID string

	// Deploy: the image going out, the one it replaces, and the
	// UpdateStatus.StartedAt before our update, which tells Docker's
	// status of our update from an older one. noUpdate: the spec already
	// had the image, so Docker starts no update; only the tasks count.
	image, old string
	before     *time.Time
	noUpdate   bool
	// resumed: following, after a restart of the bot, an update it sent
	// earlier; no UpdateStatus yet means Docker has not started it (it
	// resets the status on every change of the spec), or that the spec
	// had the image already: the tasks decide.
	resumed bool

	// Scale: the replica count wanted.
	scaling bool
	want    int

	progress func(string) error

	lastCount    string // the last task count reported
	rollbackWhy  string // Docker's message when it started rolling back
	lastSeen     string // what the last look showed, for a timeout
	lastFailures string
}

// follow looks at the service until it converges (it returns the number
// of tasks running the new image, or the replicas), or until Docker
// pauses or rolls back the update, or Options.Timeout passes. It looks
// again after 50 ms, then twice as long each time up to Options.Poll, and
// at once whenever the engine reports an event of the service: Docker's
// update state changes are events, so the end of an update is seen
// within milliseconds, not up to a Poll later.
func (w *watch) follow(ctx context.Context) (int, error) {
	opts := w.e.c.opts
	tctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	changed := w.subscribe(tctx)
	// The first looks come quickly, for what events do not tell (tasks
	// starting, as in a scale), then every Poll.
	wait := min(firstPoll, opts.Poll)
	tick := time.NewTimer(wait)
	defer tick.Stop()
	blips := 0 // consecutive looks that could not reach the engine
	w.lastSeen = "nothing yet"
	for {
		n, done, err := w.look(tctx)
		switch {
		case err == nil:
			blips = 0
		case errors.Is(err, ErrUnreachable) && blips < maxBlips && tctx.Err() == nil:
			// The change was sent: a dropped connection (an SSH link
			// re-dials) must not turn a good update into a failure.
			blips++
			w.lastSeen = fmt.Sprintf("the engine unreachable (%v)", err)
			w.e.c.log.Warn("engine unreachable while waiting; retrying", "service", w.e.service, "err", err)
		case errors.Is(err, ErrUpdatePaused) || errors.Is(err, ErrRolledBack):
			return 0, err
		case tctx.Err() == nil:
			return 0, fmt.Errorf("%w (the change was sent: Docker may still be carrying it out; see status)", err)
		}
		if done {
			return n, nil
		}
		select {
		case <-tick.C:
			wait = min(2*wait, opts.Poll)
		case <-changed:
			// Docker moved: look again soon too, in case this look
			// comes a moment before the tasks show it.
			wait = min(firstPoll, opts.Poll)
		case <-tctx.Done():
		}
		tick.Reset(wait)
		if tctx.Err() != nil {
			if ctx.Err() != nil {
				return 0, fmt.Errorf("stopped waiting for %s: %w (last saw %s)", w.e.where(), ctx.Err(), w.lastSeen)
			}
			failing := ""
			if w.lastFailures != "" {
				failing = "; failing tasks: " + w.lastFailures
			}
			return 0, fmt.Errorf("%w after %s waiting for %s to converge; last saw %s%s; Docker may still be working on it: see status",
				ErrTimeout, opts.Timeout, w.e.where(), w.lastSeen, failing)
		}
	}
}

// subscribe follows the engine's events of the service until ctx ends.
// The channel gets a value when there was one since the last receive.
// Without events (an engine that refuses them, a stream that breaks) it
// gets nothing more, and follow's polling alone finds the end.
func (w *watch) subscribe(ctx context.Context) <-chan struct{} {
	changed := make(chan struct{}, 1)
	msgs, errs := w.e.c.api.Events(ctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ServiceEventType)), filters.Arg("service", w.svcID))})
	go func() {
		for {
			select {
			case <-msgs:
				select {
				case changed <- struct{}{}:
				default: // a look is due already
				}
			case err := <-errs:
				if ctx.Err() == nil {
					w.e.c.log.Debug("no events from the engine; polling only", "service", w.e.service, "err", err)
				}
				return
			}
		}
	}()
	return changed
}

// look inspects the service and its tasks once, reports progress when the
// count changed, and says whether the change is done.
func (w *watch) look(ctx context.Context) (int, bool, error) {
	e := w.e
	svc, err := e.inspect(ctx)
	if err != nil {
		return 0, false, err
	}
	tasks, err := e.tasks(ctx, svc)
	if err != nil {
		return 0, false, err
	}
	if w.scaling {
		return w.lookScale(svc, tasks)
	}
	c := count(svc, tasks, w.image)
	w.lastFailures = failures(tasks, w.image)
	if err := w.reportCount(fmt.Sprintf("tasks running new image %d/%d", c.RunningNew, c.Desired)); err != nil {
		return 0, false, err
	}
	w.lastSeen = fmt.Sprintf("update state %s, tasks running new image %d/%d", updateState(svc.UpdateStatus), c.RunningNew, c.Desired)
	us := svc.UpdateStatus
	if w.noUpdate || (w.resumed && (us == nil || us.State == "")) {
		// No update of ours: the tasks decide, unless an earlier update
		// to this very image is stuck.
		if us != nil && (us.State == swarm.UpdateStatePaused || us.State == swarm.UpdateStateRollbackPaused) {
			return 0, false, w.failed(ErrUpdatePaused, fmt.Sprintf("%s is already set to %s, but Docker's update to it is %s: %q", e.where(), w.image, us.State, us.Message),
				"deploy another image, or roll back")
		}
		return c.RunningNew, c.RunningNew == c.Desired && c.Running == c.Desired, nil
	}
	if !w.ours(us) {
		return c.RunningNew, false, nil // an older update's status: ours has not started yet
	}
	switch us.State {
	case swarm.UpdateStateCompleted:
		return c.RunningNew, c.RunningNew == c.Desired, nil
	case swarm.UpdateStatePaused:
		return 0, false, w.failed(ErrUpdatePaused, fmt.Sprintf("Docker paused the update of %s: %q", e.where(), us.Message),
			fmt.Sprintf("the service is left paused with %d/%d tasks on %s: fix the image and deploy again, or roll back", c.RunningNew, c.Desired, w.image))
	case swarm.UpdateStateRollbackStarted:
		if w.rollbackWhy == "" {
			w.rollbackWhy = us.Message
			if err := w.progress(fmt.Sprintf("Docker is rolling the update back to %s: %s", w.old, us.Message)); err != nil {
				return 0, false, err
			}
		}
	case swarm.UpdateStateRollbackCompleted:
		why := w.rollbackWhy
		if why == "" {
			why = us.Message
		}
		return 0, false, w.failed(ErrRolledBack, fmt.Sprintf("Docker rolled the update of %s back: %q", e.where(), why),
			fmt.Sprintf("the service runs %s again", w.old))
	case swarm.UpdateStateRollbackPaused:
		return 0, false, w.failed(ErrUpdatePaused, fmt.Sprintf("Docker's rollback of %s paused: %q (rollback started because: %q)", e.where(), us.Message, w.rollbackWhy),
			"the service is left half way between the images: look at its tasks")
	}
	return c.RunningNew, false, nil
}

// lookScale is look for a scale: done when exactly want tasks run.
func (w *watch) lookScale(svc swarm.Service, tasks []swarm.Task) (int, bool, error) {
	c := count(svc, tasks, "")
	w.lastFailures = failures(tasks[:min(len(tasks), 20)], "")
	w.lastSeen = fmt.Sprintf("%d of %d tasks running (%d running in all)", c.Running, w.want, c.RunningAll)
	step := fmt.Sprintf("tasks running %d/%d", c.Running, w.want)
	if stopping := c.RunningAll - c.Running; stopping > 0 {
		step += fmt.Sprintf(" (%d stopping)", stopping)
	}
	if err := w.reportCount(step); err != nil {
		return 0, false, err
	}
	return c.Running, c.Running == w.want && c.RunningAll == w.want, nil
}

// ours reports whether us is the status of our update (or of the rollback
// Docker started after it): its StartedAt differs from the one before.
func (w *watch) ours(us *swarm.UpdateStatus) bool {
	switch {
	case us == nil || us.State == "":
		return false
	case w.before == nil:
		return true // no update had started before ours
	case us.StartedAt == nil:
		return false
	}
	return !us.StartedAt.Equal(*w.before)
}

// reportCount reports a task count when it changed since the last one.
func (w *watch) reportCount(step string) error {
	if step == w.lastCount {
		return nil
	}
	w.lastCount = step
	return w.progress(step)
}

// failed builds the error of a paused or rolled-back update: Docker's
// words, the failing tasks' errors, and where that leaves the service.
func (w *watch) failed(kind error, what, after string) error {
	msg := what
	if w.lastFailures != "" {
		msg += "; failing tasks: " + w.lastFailures
	}
	return fmt.Errorf("%w: %s; %s", kind, msg, after)
}
