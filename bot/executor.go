package bot

import (
	"context"
	"errors"
	"time"

	cs "github.com/countersign/countersign"
)

// Executor changes one outside system: a Swarm service, an Albatross host,
// a DNS zone. Each target names its executor in the bot's Config.
type Executor interface {
	// Describe says exactly what Execute would do with req, for the
	// approval message and for dry-runs. It may read (current image, DNS
	// records) but never changes anything, and says plainly what it could
	// not read.
	Describe(ctx context.Context, req cs.Request) (string, error)
	// Execute carries out the approved request. It reports each step
	// through progress and stops if progress returns an error (the step
	// could not be audited).
	Execute(ctx context.Context, req cs.Request, progress func(step string) error) (Result, error)
}

// Result is what an execution achieved.
type Result struct {
	// Summary is one line for the thread and the audit record.
	Summary string
	// Image is the exact image now running, for deploys and rollbacks.
	Image string
	// Replaced is the image that ran before, when the executor could
	// tell: the history keeps it, so that a rollback returns to it.
	Replaced string
	// DryRun says nothing was changed.
	DryRun bool
}

// Statuser is implemented by executors that can say what runs now.
type Statuser interface {
	Status(ctx context.Context, target string) (string, error)
}

// Resumer is implemented by executors whose target carries on without
// the bot: a Swarm engine finishes a rolling update it was given. When
// the bot starts and finds an execution it was running when it stopped,
// it follows it with Resume to its end, instead of marking it
// interrupted.
type Resumer interface {
	// Resume follows req, which an earlier run of the bot started, to its
	// end on the target, and returns its outcome as Execute would. It
	// never changes the target. When the target shows no change of req's
	// to follow (it never got there, or a later change replaced it), or
	// cannot be read, it returns an error wrapping ErrCannotResume,
	// before reporting any step.
	Resume(ctx context.Context, req cs.Request, progress func(step string) error) (Result, error)
}

// ErrCannotResume says an execution cut off by a restart cannot be
// followed on its target: it stays interrupted.
var ErrCannotResume = errors.New("nothing to follow on the target")

// Images resolves commits to immutable image digests in a registry.
type Images interface {
	// Resolve resolves repo:tag once and returns "repo@sha256:…".
	Resolve(ctx context.Context, repo, tag string) (string, error)
	// Wait waits up to timeout for repo:tag and returns "repo@sha256:…".
	Wait(ctx context.Context, repo, tag string, timeout time.Duration) (string, error)
	// Check confirms an exact "repo@sha256:…" exists.
	Check(ctx context.Context, ref string) error
}

// Preparer is implemented by executors that must read the target's current
// state to make an action exact before policy sees it: the current DNS
// RRset, the current replica count.
type Preparer interface {
	Prepare(ctx context.Context, a cs.Action) (cs.Action, error)
}

// Shower is implemented by DNS executors: `dns show NAME [TYPE]`.
type Shower interface {
	Show(ctx context.Context, name, typ string) ([]cs.Record, error)
}
