package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Wait waits until repo:tag exists, checking with a HEAD request on its
// manifest at once and then every PollInterval, for at most timeout, and
// returns "repo@sha256:…" with the digest of the manifest or index.
//
// A missing tag is what Wait waits for, not an error. The errors are:
// ErrTimeout (the message names the tag and how long Wait waited, and the
// last trouble it had, if any); ErrUnauthorized at once, since waiting
// will not fix credentials; ErrUnreachable when the first check cannot
// reach the registry (a wrong host name should not cost the whole
// timeout), whereas later network trouble is logged and waited out; and
// the context's error when ctx ends first. timeout must be positive.
func (r *Resolver) Wait(ctx context.Context, repo, tag string, timeout time.Duration) (string, error) {
	op := "wait for " + repo + ":" + tag
	if timeout <= 0 {
		return "", fmt.Errorf("%s: the timeout must be positive, not %s", op, timeout)
	}
	ref, err := r.tagRef(repo, tag)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	host := ref.Context().RegistryStr()
	log := r.logger().With("image", repo+":"+tag)

	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	timer := time.NewTimer(0)
	defer timer.Stop()

	var lastTrouble error // the last failure other than "not there yet"
	for checks := 0; ; checks++ {
		select {
		case <-waitCtx.Done():
			return "", r.waitEnded(ctx, op, timeout, lastTrouble)
		case <-timer.C:
		}
		digest, err := r.head(waitCtx, ref, false)
		if err == nil {
			log.Info("image appeared", "digest", digest, "checks", checks+1)
			return repo + "@" + digest, nil
		}
		if waitCtx.Err() != nil {
			return "", r.waitEnded(ctx, op, timeout, lastTrouble)
		}
		failure := r.fail(waitCtx, op, host, err)
		switch {
		case errors.Is(failure, ErrNotFound):
			lastTrouble = nil
			log.Debug("image not there yet")
		case errors.Is(failure, ErrUnauthorized):
			return "", failure
		case errors.Is(failure, ErrUnreachable) && checks == 0:
			return "", failure
		default:
			lastTrouble = failure
			log.Warn("registry check failed; still waiting", "err", failure)
		}
		timer.Reset(r.pollInterval())
	}
}

// waitEnded explains why the wait stopped: the caller's context, or the
// timeout (with the last trouble, if the registry was misbehaving then).
func (r *Resolver) waitEnded(ctx context.Context, op string, timeout time.Duration, lastTrouble error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if lastTrouble != nil {
		last := strings.TrimPrefix(lastTrouble.Error(), op+": ")
		return fmt.Errorf("%s: %w after %s (last check: %s)", op, ErrTimeout, formatDuration(timeout), last)
	}
	return fmt.Errorf("%s: %w after %s: the tag did not appear", op, ErrTimeout, formatDuration(timeout))
}

// formatDuration prints d without trailing zero units: 50m, 1h30m, 200ms.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
