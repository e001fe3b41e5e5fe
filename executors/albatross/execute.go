package albatross

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// hostState is what the host says before a change.
type hostState struct {
	index   index
	running string // SHA-256 that `info` shows; "" when not running
}

// readState reads the index and what runs.
func (e *Executor) readState(ctx context.Context, c *conn) (hostState, error) {
	out, err := c.run(ctx, e.cmdReadIndex(), nil, false)
	if err != nil {
		return hostState{}, fmt.Errorf("read index %s on %s: %w", e.indexFile(), c.host, err)
	}
	x, err := parseIndex(out)
	if err != nil {
		return hostState{}, fmt.Errorf("read index %s on %s: %w", e.indexFile(), c.host, err)
	}
	running, err := e.info(ctx, c)
	if err != nil {
		return hostState{}, err
	}
	return hostState{index: x, running: running}, nil
}

// info returns the digest `albatross-client info NAME` shows ("" if none).
func (e *Executor) info(ctx context.Context, c *conn) (string, error) {
	out, err := c.run(ctx, e.cmdInfo(), nil, true)
	if err != nil {
		return "", fmt.Errorf("ask albatross about %s on %s: %w", e.uk.Name, c.host, err)
	}
	return parseInfo(out)
}

// Execute deploys or rolls back. Steps reported: fetched (size, SHA-256),
// uploaded, verified on the host, replaced, running digest, pruned; and a
// restore of the previous image when the new one does not come up. The
// returned error says whether the previous image was restored. Errors
// wrap sshclient.ErrUnknownHost or ErrHostKeyChanged, ErrBinaryNotFound,
// ErrChecksum, ErrNotOnHost, ErrNotRunning, or are a *CommandError.
func (e *Executor) Execute(ctx context.Context, req cs.Request, progress func(string) error) (bot.Result, error) {
	a := req.Action
	digest, err := checkAction(a)
	if err != nil {
		return bot.Result{}, err
	}
	if e.opts.DryRun || req.DryRun {
		return e.dryRun(ctx, a, progress)
	}
	c, err := e.dial(ctx)
	if err != nil {
		return bot.Result{}, err
	}
	defer c.Close()
	st, err := e.readState(ctx, c)
	if err != nil {
		return bot.Result{}, err
	}
	// The index says which binary the image holds, if it was here before.
	want := entry{Image: a.Image, Commit: a.Commit}
	if kept, ok := st.index.byDigest(digest); ok {
		want.SHA256 = kept.SHA256
		if want.Commit == "" {
			want.Commit = kept.Commit
		}
	}
	switch {
	case want.SHA256 != "" && want.SHA256 == st.running:
		return e.unchanged(ctx, c, st, want, progress)
	case want.SHA256 != "":
		tool, err := e.verifyKept(ctx, c, want.SHA256)
		if err == nil {
			if err := progress(fmt.Sprintf("using the copy kept on the host: %s (%s confirms it); not fetched again", e.file(want.SHA256), tool.name)); err != nil {
				return bot.Result{}, err
			}
			break
		}
		if errors.Is(err, ErrNoHasher) {
			return bot.Result{}, fmt.Errorf("%s %s to %s: %w", a.Kind, e.uk.Name, a.Image, err)
		}
		if a.Kind == cs.ActionRollback {
			return bot.Result{}, fmt.Errorf("roll back %s to %s: %w: %w", e.uk.Name, a.Image, ErrNotOnHost, err)
		}
		e.log.Warn("kept binary unusable, fetching it again", "unikernel", e.uk.Name, "err", err)
		want.SHA256 = ""
	case a.Kind == cs.ActionRollback:
		return bot.Result{}, fmt.Errorf("roll back %s to %s (deployment %s): %w: the host's index has no binary for it (pruned, or not deployed by Countersign); deploy it by digest instead",
			e.uk.Name, a.Image, a.Deployment, ErrNotOnHost)
	}
	if want.SHA256 == "" {
		sum, err := e.upload(ctx, c, a.Image, progress)
		if err != nil {
			return bot.Result{}, err
		}
		want.SHA256 = sum
		if sum == st.running {
			return e.unchanged(ctx, c, st, want, progress)
		}
	}
	return e.replace(ctx, c, st, want, progress)
}

// unchanged is the end of a deploy whose binary already runs.
func (e *Executor) unchanged(ctx context.Context, c *conn, st hostState, want entry, progress func(string) error) (bot.Result, error) {
	msg := fmt.Sprintf("%s on %s already runs sha256 %s (%s): nothing changed", e.uk.Name, c.host, cs.ShortHash(want.SHA256), want.Image)
	if err := progress(msg); err != nil {
		return bot.Result{}, err
	}
	if x := st.index.touch(want); x.String() != st.index.String() {
		if err := e.writeIndex(ctx, c, x); err != nil {
			e.log.Warn("record unchanged image", "unikernel", e.uk.Name, "err", err)
		}
	}
	return bot.Result{Summary: msg, Image: want.Image}, nil
}

// replace creates the unikernel from want's binary, checks that it runs,
// and records it; if it does not run, it restores what ran before.
func (e *Executor) replace(ctx context.Context, c *conn, st hostState, want entry, progress func(string) error) (bot.Result, error) {
	cmd, err := e.cmdCreate(e.file(want.SHA256), want.SHA256)
	if err != nil {
		return bot.Result{}, err
	}
	_, err = c.run(ctx, cmd, nil, e.tmpl == nil)
	if err == nil {
		if err = progress(fmt.Sprintf("replaced %s: `%s`", e.uk.Name, cmd)); err != nil {
			return bot.Result{}, err
		}
		err = e.waitRunning(ctx, c, want.SHA256)
	}
	if err != nil {
		err = fmt.Errorf("replace %s on %s with sha256 %s: %w", e.uk.Name, c.host, cs.ShortHash(want.SHA256), err)
		if _, inIndex := st.index.bySHA(want.SHA256); !inIndex && ctx.Err() == nil {
			e.cleanup(c, e.file(want.SHA256))
		}
		return bot.Result{}, e.restore(ctx, c, st, err, progress)
	}
	if err := progress(fmt.Sprintf("running: `%s` shows digest %s%s", e.cmdInfo(), want.SHA256, commitNote(want.Commit))); err != nil {
		return bot.Result{}, err
	}
	e.log.Info("unikernel replaced", "unikernel", e.uk.Name, "host", c.host, "sha256", want.SHA256, "image", want.Image, "previous", st.running)
	summary := fmt.Sprintf("%s on %s runs sha256 %s from %s%s", e.uk.Name, c.host, cs.ShortHash(want.SHA256), want.Image, commitNote(want.Commit))
	if st.running != "" {
		summary += fmt.Sprintf("; the previous binary sha256 %s is kept for rollback", cs.ShortHash(st.running))
	}
	if err := e.record(ctx, c, st, want, progress); err != nil {
		// The new unikernel runs: the deploy succeeded; say what is amiss.
		e.log.Warn("record deployment on host", "unikernel", e.uk.Name, "err", err)
		summary += fmt.Sprintf(" (but the host's index was not updated: %v)", err)
	}
	res := bot.Result{Summary: summary, Image: want.Image}
	if prev, ok := st.index.bySHA(st.running); ok && st.running != "" {
		res.Replaced = prev.Image
	}
	return res, nil
}

// commitNote is " (commit abc1234)" or "".
func commitNote(commit string) string {
	if commit == "" {
		return ""
	}
	return " (commit " + cs.ShortHash(commit) + ")"
}

// waitRunning polls `info` until it shows sha, for VerifyTimeout.
func (e *Executor) waitRunning(ctx context.Context, c *conn, sha string) error {
	deadline := time.Now().Add(e.verifyTimeout())
	interval := min(500*time.Millisecond, e.verifyTimeout()/4)
	for {
		got, err := e.info(ctx, c)
		if err != nil {
			return err
		}
		if got == sha {
			return nil
		}
		if time.Now().After(deadline) {
			shows := "no unikernel " + e.uk.Name
			if got != "" {
				shows = "digest " + got
			}
			return fmt.Errorf("%w: after %s, `%s` shows %s", ErrNotRunning, e.verifyTimeout(), e.cmdInfo(), shows)
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// restore brings back what ran before a failed replace and returns
// cause, saying whether that worked.
func (e *Executor) restore(ctx context.Context, c *conn, st hostState, cause error, progress func(string) error) error {
	if ctx.Err() != nil {
		return cause
	}
	if st.running == "" {
		return fmt.Errorf("%w; nothing ran before, so nothing was restored", cause)
	}
	prev := st.running
	if now, err := e.info(ctx, c); err == nil && now == prev {
		return fmt.Errorf("%w; the previous binary sha256 %s is still running", cause, cs.ShortHash(prev))
	}
	e.log.Warn("new unikernel not running, restoring the previous one", "unikernel", e.uk.Name, "host", c.host, "previous", prev, "err", cause)
	perr := progress(fmt.Sprintf("⚠️ the new image is not running (%v); re-creating the previous binary sha256 %s", cause, cs.ShortHash(prev)))
	if perr != nil {
		return errors.Join(cause, perr)
	}
	_, err := e.verifyKept(ctx, c, prev)
	var cmd string
	if err == nil {
		cmd, err = e.cmdCreate(e.file(prev), prev)
	}
	if err == nil {
		_, err = c.run(ctx, cmd, nil, e.tmpl == nil)
	}
	if err == nil {
		err = e.waitRunning(ctx, c, prev)
	}
	if err != nil {
		return fmt.Errorf("%w; restoring the previous binary sha256 %s also failed, %s may be down: %v", cause, cs.ShortHash(prev), e.uk.Name, err)
	}
	what := "sha256 " + cs.ShortHash(prev)
	if old, ok := st.index.bySHA(prev); ok {
		what += " from " + old.Image + commitNote(old.Commit)
	}
	if perr := progress(fmt.Sprintf("restored the previous binary %s: `%s` shows digest %s again", what, e.cmdInfo(), prev)); perr != nil {
		return errors.Join(cause, perr)
	}
	return fmt.Errorf("%w; the previous binary %s was restored and is running", cause, what)
}

// record makes want current in the index and prunes old binaries,
// never the running or the previous one.
func (e *Executor) record(ctx context.Context, c *conn, st hostState, want entry, progress func(string) error) error {
	x, drop := st.index.touch(want).prune(e.uk.Keep, want.SHA256, st.running)
	if err := e.writeIndex(ctx, c, x); err != nil {
		return err
	}
	if len(drop) == 0 {
		return nil
	}
	files := make([]string, len(drop))
	for i, sha := range drop {
		files[i] = e.file(sha)
	}
	if _, err := c.run(ctx, cmdRemove(files...), nil, false); err != nil {
		return fmt.Errorf("prune old images on %s: %w", c.host, err)
	}
	return progress(fmt.Sprintf("pruned %d old binary(ies) from %s; %d image(s) kept for rollback", len(drop), e.dir(), len(x)))
}

// writeIndex replaces the host's index atomically.
func (e *Executor) writeIndex(ctx context.Context, c *conn, x index) error {
	if _, err := c.run(ctx, e.cmdWriteIndex(e.tmpName("index", randomHex())), strings.NewReader(x.String()), false); err != nil {
		return fmt.Errorf("write index %s on %s: %w", e.indexFile(), c.host, err)
	}
	return nil
}
