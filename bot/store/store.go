// Package store keeps the bot's state and its audit chain in one bbolt
// file: requests, locks, deployment history, GitHub deliveries and the
// hash-chained audit records. *DB implements bot.Store.
//
// bbolt lets one process hold the file for writing. Open fails at once
// with ErrInUse when another process (or another Open in this one) holds
// it, so that `countersign audit …` never hangs behind a running serve.
package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/countersign/countersign/bot"
)

// Errors callers branch on.
var (
	// ErrInUse means another process (or another Open in this one) holds
	// the database file.
	ErrInUse = errors.New("database is in use by another process")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("database is closed")
	// ErrReadOnly is returned by Update on a database opened ReadOnly.
	ErrReadOnly = errors.New("database is opened read-only")
)

// lockTimeout is how long Open waits for the file lock before giving up
// with ErrInUse. bbolt's flock is per open file, so this also bounds a
// second Open of the same file from this process.
const lockTimeout = 100 * time.Millisecond

// Options tune Open. The zero value is what production wants.
type Options struct {
	// ReadOnly opens the file with a shared lock and no writer; the file
	// must exist. Update returns ErrReadOnly.
	ReadOnly bool
	// Logger receives failed and slow commits, panics in update
	// functions and backups that could not spool; nil discards.
	Logger *slog.Logger
	// NoSync skips fsync on commit. Tests and benchmarks only: a crash
	// may lose or corrupt committed data.
	NoSync bool
	// CheckOnOpen makes Open read the whole file and run bbolt's
	// consistency check before anything else, and refuse a damaged file
	// with an error wrapping ErrDamaged that names what is damaged. It
	// costs a read of the file; `serve` and the audit commands want it.
	CheckOnOpen bool

	// openFile replaces os.OpenFile, for tests that break the disk.
	openFile func(name string, flag int, perm os.FileMode) (*os.File, error)
}

// DB is the bbolt-backed store. Its methods are safe for concurrent use.
type DB struct {
	bolt     *bolt.DB
	path     string
	readOnly bool
	log      *slog.Logger
	now      func() time.Time

	decoded deploymentMemo // history.go

	// Group commit (commit.go).
	mu      sync.Mutex
	queue   []*call
	closed  bool
	wake    chan struct{} // buffered 1: there is work in queue
	stop    chan struct{} // closed by Close
	stopped chan struct{} // closed when the committer has returned
	commits uint64        // number of bbolt commits, for tests; under mu
	// writeErr is the error of the last commit that changed something,
	// nil when it succeeded; under mu. CanWrite reports it.
	writeErr error

	// What runQueued waits for before it starts a batch; the
	// committer's own.
	lastBatch int       // calls it ran last time
	answered  time.Time // when it had answered them

	// Moving audit_unindexed into the indexes (index.go); owned by the
	// committer's goroutine.
	indexDue bool   // moveIndex after this batch
	indexAt  uint64 // records waiting that make it due

	closeOnce sync.Once
	closeErr  error
}

var _ bot.Store = (*DB)(nil)

// Open opens the database at path, creating it (and its buckets) unless
// opts.ReadOnly. If the file is held by another process — typically a
// running `countersign serve` — it fails within about 100ms with an error
// wrapping ErrInUse that says to use --server URL instead.
//
// A file bbolt cannot read gives an error wrapping ErrDamaged, as does,
// with opts.CheckOnOpen, one that fails the consistency check.
//
// The caller must Close the DB.
func Open(path string, opts Options) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Not NoFreelistSync: it saves one page of the ten a commit writes,
	// but then opening for writing rebuilds the freelist by reading every
	// page, a second or more for a million records.
	bopts := &bolt.Options{
		Timeout:      lockTimeout,
		ReadOnly:     opts.ReadOnly,
		NoSync:       opts.NoSync,
		FreelistType: bolt.FreelistMapType,
		// Room for a database of some size without remapping: a remap
		// waits for every open read transaction.
		InitialMmapSize: 64 << 20,
		OpenFile:        opts.openFile,
		// A read-only Open leaves the freelist to the check, which reads
		// it on a goroutine where a fault cannot be caught.
		PreLoadFreelist: opts.CheckOnOpen,
	}
	b, err := openBolt(path, bopts, log)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w (is `countersign serve` running? use --server URL to reach it instead)", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if opts.CheckOnOpen {
		if err := check(b, log); err != nil {
			b.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	db := &DB{
		bolt:     b,
		path:     path,
		readOnly: opts.ReadOnly,
		log:      log,
		now:      time.Now,
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
		indexAt:  indexEvery,
	}
	if opts.ReadOnly {
		close(db.stopped)
		return db, nil
	}
	if err := protect(log, func() error {
		return b.Update(func(tx *bolt.Tx) error {
			for _, name := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return fmt.Errorf("create bucket %s: %w", name, err)
				}
			}
			return nil
		})
	}); err != nil {
		b.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	go db.committer()
	return db, nil
}

// Path returns the file the DB was opened from.
func (db *DB) Path() string { return db.path }

// Commits returns how many commits the DB has made since it was opened,
// each one shared by a batch of updates: benchmarks divide by it.
func (db *DB) Commits() uint64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.commits
}

// Close waits for the updates already queued to finish, moves the audit
// records waiting in audit_unindexed into the indexes, stops the committer
// and closes the file. Calls made after Close return ErrClosed;
// Close waits for running View calls. Calling Close again returns nil.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock()
		db.closed = true
		db.mu.Unlock()
		close(db.stop)
		<-db.stopped
		if err := db.bolt.Close(); err != nil {
			db.closeErr = fmt.Errorf("close %s: %w", db.path, err)
		}
	})
	return db.closeErr
}

// isClosed reports whether Close has been called.
func (db *DB) isClosed() bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.closed
}
