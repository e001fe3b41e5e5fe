package bot

import (
	"context"
	"time"

	cs "github.com/countersign/countersign"
)

// Store persists requests, locks, deployment history, GitHub deliveries
// and the audit chain. bot/store implements it over bbolt.
type Store interface {
	// Update runs fn in one read-write transaction. The events fn appends
	// are chained and committed together with its other writes, durably
	// (fsync) before Update returns, or not at all. fn may be called more
	// than once (the store groups concurrent updates into one commit and
	// retries the others if one fails), so it must not act outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(tx ReadTx) error) error
}

// ReadTx reads a consistent snapshot.
type ReadTx interface {
	// Request returns the request, or an error wrapping cs.ErrNotFound.
	Request(id cs.RequestID) (cs.Request, error)
	// OpenRequests returns the requests whose state is open (pending,
	// approved, executing), oldest first; target "" means all targets.
	OpenRequests(target string) ([]cs.Request, error)
	// Lock returns the lock on target; ok is false when there is none.
	Lock(target string) (lock cs.Lock, ok bool, err error)
	// Locks returns every lock, by target.
	Locks() ([]cs.Lock, error)
	// Deployments returns the target's deployment history, newest first,
	// at most limit entries (limit <= 0: all).
	Deployments(target string, limit int) ([]cs.Deployment, error)
	// Events returns the audit records that match q, oldest first.
	Events(q EventQuery) ([]cs.Event, error)
	// Outbox returns queued chat messages, oldest first, at most limit
	// (limit <= 0: all).
	Outbox(limit int) ([]Outgoing, error)
	// Aside returns the outbox entries set aside, oldest first.
	Aside() ([]Aside, error)
	// AsideSummary returns how many entries are set aside and when the
	// newest was (zero when none), reading only that one.
	AsideSummary() (n int, newest time.Time, err error)
	// MessageRef returns where the chat put the bot's message id; ok is
	// false while it has not been delivered.
	MessageRef(id string) (ref cs.MessageRef, ok bool, err error)
	// PushRecord returns the push thread of (service, sha); ok is false
	// when there is none.
	PushRecord(service, sha string) (rec PushRecord, ok bool, err error)
	// Pushes returns the push threads in state, oldest first.
	Pushes(state PushState) ([]PushRecord, error)
	// BranchHead returns what the bot knows of a followed branch's head
	// (repo compared ignoring case); ok is false when it knows nothing.
	BranchHead(repo, branch string) (h BranchHead, ok bool, err error)
	// Config returns the config file kept under its hash; CurrentConfig
	// the hash of the one in force ("" if none was recorded).
	Config(hash string) (text []byte, ok bool, err error)
	CurrentConfig() (string, error)
}

// EventQuery filters audit records. Zero fields match everything.
type EventQuery struct {
	Target  string
	Actor   cs.Actor
	Kind    cs.EventKind
	Request cs.RequestID
	Since   time.Time // inclusive
	Until   time.Time // exclusive
	// Before keeps records with a Seq below it (0: no bound): a page of
	// the trail ends where the next, older one starts.
	Before uint64
	// Limit keeps the newest Limit matches (0: all).
	Limit int
}

// Tx reads and writes.
type Tx interface {
	ReadTx
	// NextRequestID allocates the next request ID: R1 in a new database.
	NextRequestID() (cs.RequestID, error)
	PutRequest(r cs.Request) error
	PutLock(l cs.Lock) error
	// DeleteLock removes the lock on target; no lock is not an error.
	DeleteLock(target string) error
	PutDeployment(d cs.Deployment) error
	// Append chains e after the last record (setting Seq, Prev, Hash and,
	// if zero, Time) and returns it as stored.
	Append(e cs.Event) (cs.Event, error)
	// SeenDelivery records a GitHub delivery ID and reports whether it had
	// been recorded before.
	SeenDelivery(id string, at time.Time) (seen bool, err error)
	// Payload returns what is kept of a verified webhook payload, by its
	// digest, and whether there is anything.
	Payload(digest string) (PayloadSeen, bool, error)
	// PutPayload keeps p under digest. Payloads first seen a week before
	// p.At or earlier are forgotten.
	PutPayload(digest string, p PayloadSeen) error
	// QueueOutgoing appends o to the outbox with the next sequence number
	// (and, for a post, the message's local ID) and returns it as stored.
	QueueOutgoing(o Outgoing) (Outgoing, error)
	// PutOutgoing replaces the queued message o.Seq.
	PutOutgoing(o Outgoing) error
	// DeleteOutgoing removes a queued message; a missing one is not an error.
	DeleteOutgoing(seq uint64) error
	// SetAside moves a.Entry out of the outbox into the aside list, which
	// keeps the newest entries only (the audit trail keeps them all).
	SetAside(a Aside) error
	// PutMessageRef records where the chat put the bot's message ref.ID.
	PutMessageRef(ref cs.MessageRef) error
	// PutPush stores a push thread, keyed by its service and commit.
	PutPush(rec PushRecord) error
	// PutBranchHead stores h, keyed by its repository and branch.
	PutBranchHead(h BranchHead) error
	// PutConfig keeps a config file's bytes (not audited: they may hold
	// secrets) and returns their hex SHA-256; SetCurrentConfig records
	// the one in force (rules.go).
	PutConfig(text []byte) (hash string, err error)
	SetCurrentConfig(hash string) error
}

// BranchReader reads the head of a branch from the code host (GitHub's
// GET /repos/{owner}/{repo}/branches/{branch}). bot/github implements it.
// It must be safe for concurrent use.
type BranchReader interface {
	// ReadBranch returns the head of repo's branch. With etag (from an
	// earlier read) the read is conditional: a head unchanged since then
	// comes back as HeadRead{NotModified: true} and costs no rate limit.
	// A spent rate limit is a *RateLimitedError.
	ReadBranch(ctx context.Context, repo, branch, etag string) (HeadRead, error)
}

// Clock tells the time; tests inject their own.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits for d on the system clock, or until ctx ends.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Comparer compares two commits of a repository (GitHub's compare), for
// the "what changed" list of a deploy's card.
type Comparer interface {
	// Compare returns how head stands to base and the first max commits
	// of base..head, oldest first. A commit the host does not know gives
	// an error wrapping cs.ErrNotFound.
	Compare(ctx context.Context, repo, base, head string, max int) (Comparison, error)
}

// Comparison is what a Comparer found.
type Comparison struct {
	Status        string // cs.CompareAhead, …
	Ahead, Behind int
	// Commits may hold whole messages as titles, and no Author: the bot
	// keeps the first line and maps logins itself.
	Commits []cs.Commit
	URL     string // the whole comparison, for people
}
