package albatross

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Describe says exactly what Execute would do — every remote command —
// after reading the host's index and `albatross-client info` (within
// ReadTimeout; when that fails it says so and describes the full path).
// A rollback to an image the host no longer keeps is an error wrapping
// ErrNotOnHost, so that nobody approves what cannot run.
func (e *Executor) Describe(ctx context.Context, req cs.Request) (string, error) {
	steps, now, err := e.plan(ctx, req.Action)
	if err != nil {
		return "", err
	}
	if e.opts.DryRun || req.DryRun {
		return "DRY RUN: " + now + "; would " + strings.Join(steps, "; then would "), nil
	}
	return now + "; will " + strings.Join(steps, "; then "), nil
}

// dryRun reports the plan step by step and changes nothing.
func (e *Executor) dryRun(ctx context.Context, a cs.Action, progress func(string) error) (bot.Result, error) {
	steps, now, err := e.plan(ctx, a)
	if err != nil {
		return bot.Result{}, err
	}
	for _, s := range append([]string{now}, steps...) {
		if err := ctx.Err(); err != nil {
			return bot.Result{}, err
		}
		if s != now {
			s = "would " + s
		}
		if err := progress("DRY RUN: " + s); err != nil {
			return bot.Result{}, err
		}
	}
	return bot.Result{Summary: "DRY RUN: nothing was changed", Image: a.Image, DryRun: true}, nil
}

// plan reads the host (read-only) and lists the steps for a, with a
// sentence on what runs now.
func (e *Executor) plan(ctx context.Context, a cs.Action) (steps []string, now string, err error) {
	digest, err := checkAction(a)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, e.readTimeout())
	defer cancel()
	var st hostState
	c, rerr := e.dial(ctx)
	if rerr == nil {
		defer c.Close()
		st, rerr = e.readState(ctx, c)
	}
	var known bool
	var kept entry
	if rerr != nil {
		now = fmt.Sprintf("current state of %s not read (%v)", e.where(), rerr)
	} else {
		now = e.describeRunning(st)
		kept, known = st.index.byDigest(digest)
		if known && kept.SHA256 == st.running {
			return []string{fmt.Sprintf("change nothing: %s already runs sha256 %s (%s)", e.uk.Name, cs.ShortHash(kept.SHA256), a.Image)}, now, nil
		}
		if !known && a.Kind == cs.ActionRollback {
			return nil, "", fmt.Errorf("roll back %s to %s (deployment %s): %w: the index on %s has no binary for it; deploy it by digest instead",
				e.uk.Name, a.Image, a.Deployment, ErrNotOnHost, e.where())
		}
	}
	// Every other way hashes on the host: say with what, and refuse what
	// cannot be verified there.
	tool, note, err := e.planHasher(ctx, c, rerr, a)
	if err != nil {
		return nil, "", err
	}
	now += note
	sha := placeholderSHA
	switch {
	case known:
		sha = kept.SHA256
		steps = append(steps, fmt.Sprintf("use the copy kept on the host, %s, after `%s` confirms its SHA-256 (no registry needed)", e.file(sha), cmdSum(e.file(sha), tool)))
	case a.Kind == cs.ActionRollback:
		steps = append(steps, fmt.Sprintf("look %s up in %s and use the binary kept on the host, after checking its SHA-256 with %s (no registry needed)", a.Image, e.indexFile(), tool.name))
	default:
		tmp := e.tmpName("upload", "<random>")
		steps = append(steps,
			fmt.Sprintf("stream %s out of %s (each layer checked against its digest) straight into `%s` over SSH to %s, host key checked against %s, computing its SHA-256 on the way",
				e.uk.Binary, a.Image, e.cmdUpload(tmp, tool), e.where(), e.host.KnownHosts),
			fmt.Sprintf("compare the SHA-256 the host prints with ours, then `%s`", cmdRename(tmp, e.file(sha))))
	}
	replace, err := e.replaceSteps(sha, st.running, rerr == nil)
	if err != nil {
		return nil, "", err
	}
	steps = append(steps, replace...)
	return steps, now, nil
}

// planHasher is the SHA-256 tool the host hashes with, read over c
// unless reading the host failed (rerr), with a note for "now" when it
// was not found; a host that has none is an error wrapping ErrNoHasher.
func (e *Executor) planHasher(ctx context.Context, c *conn, rerr error, a cs.Action) (tool hasher, note string, err error) {
	tool, ok := e.cachedHasher()
	if !ok {
		tool = hasher{name: "<the host's SHA-256 tool>"} // only ever shown
	}
	if rerr == nil {
		t, err := e.hasherFor(ctx, c)
		switch {
		case errors.Is(err, ErrNoHasher):
			return hasher{}, "", fmt.Errorf("%s %s to %s: %w", a.Kind, e.uk.Name, a.Image, err)
		case err != nil:
			note = fmt.Sprintf("; its SHA-256 tool not found (%v)", err)
		default:
			tool = t
		}
	}
	return tool, note, nil
}

// replaceSteps are the last steps of every plan that changes something:
// replace the unikernel with the binary sha, check it runs, and record
// it. running is the SHA-256 that runs now, read tells whether the host
// could be read at all.
func (e *Executor) replaceSteps(sha, running string, read bool) ([]string, error) {
	create, err := e.cmdCreate(e.file(sha), sha)
	if err != nil {
		return nil, err
	}
	restore := "re-create the binary that runs now"
	switch {
	case running != "":
		restore = "re-create " + e.file(running)
	case read:
		restore = "fail (nothing runs now, so there is nothing to restore)"
	}
	return []string{
		fmt.Sprintf("replace the running unikernel (albatross destroys it first, a short outage): `%s`", create),
		fmt.Sprintf("check that `%s` shows the new digest within %s, and if not, %s", e.cmdInfo(), e.verifyTimeout(), restore),
		fmt.Sprintf("record the image in %s and keep the newest %d binaries, always with the running and the previous one", e.indexFile(), e.uk.Keep),
	}, nil
}

// describeRunning says what runs, from st.
func (e *Executor) describeRunning(st hostState) string {
	if st.running == "" {
		return fmt.Sprintf("%s is not running on %s (`%s` lists no such unikernel)", e.uk.Name, e.where(), e.cmdInfo())
	}
	s := fmt.Sprintf("%s on %s runs sha256 %s", e.uk.Name, e.where(), st.running)
	if x, ok := st.index.bySHA(st.running); ok {
		s += " from " + x.Image + commitNote(x.Commit)
	} else {
		s += " (not in the host's index: not deployed by Countersign)"
	}
	return s
}

// readOnly connects and reads the host's state within ReadTimeout.
func (e *Executor) readOnly(ctx context.Context) (hostState, error) {
	ctx, cancel := context.WithTimeout(ctx, e.readTimeout())
	defer cancel()
	c, err := e.dial(ctx)
	if err != nil {
		return hostState{}, err
	}
	defer c.Close()
	return e.readState(ctx, c)
}

// Status says what runs now, from `albatross-client info`, and which
// image and commit it came from, from the host's index. target is the
// service name; the executor serves one unikernel, so it is not needed.
func (e *Executor) Status(ctx context.Context, target string) (string, error) {
	st, err := e.readOnly(ctx)
	if err != nil {
		return "", fmt.Errorf("status of %s: %w", e.uk.Name, err)
	}
	s := e.describeRunning(st)
	if prev, ok := st.index.previous(st.running); ok && st.running != "" {
		s += fmt.Sprintf("; previous: sha256 %s from %s%s", cs.ShortHash(prev.SHA256), prev.Image, commitNote(prev.Commit))
	}
	return s, nil
}

// Prepare fills in a rollback that the bot's history cannot (no recorded
// deployment): the image that ran before the current one, from the
// host's index. Other actions are returned unchanged.
func (e *Executor) Prepare(ctx context.Context, a cs.Action) (cs.Action, error) {
	if a.Kind != cs.ActionRollback || a.Image != "" {
		return a, nil
	}
	st, err := e.readOnly(ctx)
	if err != nil {
		return a, fmt.Errorf("find the previous image of %s: %w", e.uk.Name, err)
	}
	prev, ok := st.index.previous(st.running)
	if !ok {
		return a, fmt.Errorf("find the previous image of %s: %w: the index on %s lists no other image", e.uk.Name, ErrNotOnHost, e.where())
	}
	a.Image, a.Commit = prev.Image, prev.Commit
	return a, nil
}
