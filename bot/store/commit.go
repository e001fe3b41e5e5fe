package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/countersign/countersign/bot"
)

// Group commit. An fsync costs milliseconds, so commits are shared: Update
// queues its function and one committer goroutine runs everything queued in
// one bbolt read-write transaction, commits (fsync) once, and answers every
// caller. While it commits, the next batch queues up.

// maxBatch bounds one transaction, so that a failing function does not make
// the committer re-run an unbounded batch.
const maxBatch = 1000

// maxBatchDelay is how long after answering a batch the committer waits
// for as many calls as it had before it starts the next one with fewer.
// A writer just answered needs some microseconds to queue its next update,
// and a batch that starts without it costs it a whole commit of its own
// (two fsyncs): with 8 writers, commits went from 7.6 to 7.9 records on
// average. Callers that do not come back cost the next batch at most this.
// The wait spins (yielding) rather than sleeps: a timer this short fires
// after a millisecond.
const maxBatchDelay = 50 * time.Microsecond

// slowCommit is how long a commit (write and fsync) may take before it is
// logged: the disk is struggling and every update is waiting on it.
const slowCommit = time.Second

// States of a call.
const (
	callQueued int32 = iota
	callTaken
	callAbandoned
)

// call is one queued Update.
type call struct {
	fn    func(bot.Tx) error
	state atomic.Int32
	done  chan outcome // buffered 1
}

// outcome is what Update returns, or the panic it re-raises.
type outcome struct {
	err      error
	panicked bool
	panicVal any
}

// Update runs fn in a read-write transaction and returns when the
// transaction is committed and fsync'd, or has failed. Events fn appends
// commit together with its other writes, or not at all.
//
// Concurrent Updates share one bbolt transaction and one commit. If fn
// returns an error, the shared transaction is rolled back and the other
// functions of the batch run again in a new one, so fn may run more than
// once and must not act outside tx; Update returns fn's error, and none of
// fn's writes are kept. If the commit itself fails (a disk error), every
// Update of the batch returns that error. If fn panics, its writes are
// dropped and the panic is re-raised in the caller of Update.
//
// fn runs on the committer goroutine, one function at a time: it must not
// block, nor call Update or View of the same DB (that deadlocks), nor keep
// tx after it returns. If ctx is done while the call is still queued,
// Update returns ctx.Err() and fn does not run; once its batch has started
// Update waits for the commit. After Close, Update returns ErrClosed; on a
// read-only DB, ErrReadOnly.
func (db *DB) Update(ctx context.Context, fn func(bot.Tx) error) error {
	if db.readOnly {
		return ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &call{fn: fn, done: make(chan outcome, 1)}
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return ErrClosed
	}
	db.queue = append(db.queue, c)
	db.mu.Unlock()
	select {
	case db.wake <- struct{}{}:
	default: // already awake
	}

	var o outcome
	select {
	case o = <-c.done:
	case <-ctx.Done():
		if c.state.CompareAndSwap(callQueued, callAbandoned) {
			return ctx.Err()
		}
		o = <-c.done // its batch is running: the commit decides
	}
	if o.panicked {
		panic(o.panicVal)
	}
	return o.err
}

// View runs fn in a read-only transaction on a consistent snapshot. Views
// run concurrently with each other and with Update. A long View can delay
// writers when the file must grow, so fn should not wait on anything
// outside the store. After Close, View returns ErrClosed. If bbolt panics
// on a damaged page, View returns an error wrapping ErrDamaged; a panic
// of fn's own goes on to View's caller.
func (db *DB) View(ctx context.Context, fn func(bot.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.isClosed() {
		return ErrClosed
	}
	err := protect(db.log, func() error {
		return db.bolt.View(func(btx *bolt.Tx) error {
			t := &tx{db: db, btx: btx}
			defer t.finish()
			return fn(t)
		})
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// committer runs batches until Close; it runs what was queued before
// Close before it returns.
func (db *DB) committer() {
	defer close(db.stopped)
	// A fault on bbolt's memory map (a damaged page) becomes a panic,
	// which runFn and commit turn into ErrDamaged, not a crash.
	debug.SetPanicOnFault(true)
	for {
		select {
		case <-db.wake:
			db.runQueued()
			if db.indexDue {
				db.moveIndex()
			}
		case <-db.stop:
			db.runQueued()
			db.moveIndex() // leave the file fully indexed
			return
		}
	}
}

// runQueued takes every queued call that its caller has not abandoned and
// runs them in batches of at most maxBatch.
func (db *DB) runQueued() {
	// The callers just answered are runnable; let them queue their next
	// update first, so that busy writers share a commit instead of
	// alternating between two half-size ones, and give the ones that have
	// not until maxBatchDelay after they were answered. Costs nothing when
	// idle.
	runtime.Gosched()
	db.mu.Lock()
	for deadline := db.answered.Add(maxBatchDelay); len(db.queue) < db.lastBatch && time.Now().Before(deadline); {
		db.mu.Unlock()
		runtime.Gosched()
		db.mu.Lock()
	}
	queued := db.queue
	db.queue = nil
	db.mu.Unlock()
	if len(queued) == 0 {
		// Woken for calls that an earlier wait took already: keep what
		// that batch taught, or the next one would not wait for anyone.
		return
	}
	defer func() { db.answered = time.Now() }()

	batch := make([]*call, 0, min(len(queued), maxBatch))
	db.lastBatch = 0
	for _, c := range queued {
		if !c.state.CompareAndSwap(callQueued, callTaken) {
			continue
		}
		db.lastBatch++
		batch = append(batch, c)
		if len(batch) == maxBatch {
			db.runBatch(batch)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		db.runBatch(batch)
	}
}

// runBatch runs the calls in one transaction and commits once. A call
// whose fn fails is answered with its error and the rest run again in a
// fresh transaction.
func (db *DB) runBatch(batch []*call) {
	for len(batch) > 0 {
		btx, err := db.bolt.Begin(true)
		if err != nil {
			err = fmt.Errorf("begin transaction: %w", err)
			db.wrote(err)
			answer(batch, err)
			return
		}
		failed := -1
		var o outcome
		for i, c := range batch {
			if o = db.runFn(btx, c.fn); o.err != nil || o.panicked {
				failed = i
				break
			}
		}
		if failed >= 0 {
			db.rollback(btx)
			batch[failed].done <- o
			batch = slices.Delete(batch, failed, failed+1)
			continue
		}
		// A transaction that changed nothing commits without needing a
		// page more (bbolt rewrites its meta page): it says nothing of
		// whether the store can write.
		stats := btx.Stats()
		changed := stats.GetNodeCount() > 0
		start := time.Now()
		err = db.commit(btx)
		if d := time.Since(start); d > slowCommit {
			db.log.Warn("store: slow commit", "updates", len(batch), "duration", d)
		}
		if err != nil {
			err = fmt.Errorf("commit %s: %w", db.path, err)
			db.log.Error("store: commit failed", "updates", len(batch), "err", err)
		}
		db.mu.Lock()
		db.commits++
		db.mu.Unlock()
		if changed {
			db.wrote(err)
		}
		answer(batch, err)
		return
	}
}

// commit commits btx. If bbolt panics on a damaged page, btx is rolled
// back (it holds the writer's lock) and the error wraps ErrDamaged.
func (db *DB) commit(btx *bolt.Tx) error {
	err := protect(db.log, btx.Commit)
	if errors.Is(err, ErrDamaged) {
		db.rollback(btx)
	}
	return err
}

// rollback rolls back btx, which a panic may already have closed.
func (db *DB) rollback(btx *bolt.Tx) {
	if err := protect(db.log, btx.Rollback); err != nil && !errors.Is(err, bolterrors.ErrTxClosed) {
		db.log.Error("store: rollback", "err", err)
	}
}

// runFn runs one update function in btx and catches its panic. A panic
// raised inside bbolt (a damaged page) fails the update with ErrDamaged
// instead of reaching the caller.
func (db *DB) runFn(btx *bolt.Tx, fn func(bot.Tx) error) (o outcome) {
	t := &tx{db: db, btx: btx}
	defer t.finish()
	defer func() {
		if p := recover(); p != nil {
			if isDamage(p) {
				err := damaged(p)
				db.log.Error("store: bbolt panicked: the database file is damaged", "err", err, "stack", string(debug.Stack()))
				o = outcome{err: fmt.Errorf("update %s: %w", db.path, err)}
				return
			}
			db.log.Error("store: update function panicked", "panic", p, "stack", string(debug.Stack()))
			o = outcome{panicked: true, panicVal: p}
		}
	}()
	if err := fn(t); err != nil {
		return outcome{err: err}
	}
	// A failed write may have left part of its changes in btx; never
	// commit them, even if fn ignored the error.
	return outcome{err: t.failed}
}

func answer(batch []*call, err error) {
	for _, c := range batch {
		c.done <- outcome{err: err}
	}
}
