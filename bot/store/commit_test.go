package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/store/storetest"
)

// blockCommitter starts an Update whose function holds the committer
// until release is called; its Update's result arrives on done.
func blockCommitter(t *testing.T, db *DB) (release func(), done <-chan error) {
	t.Helper()
	running, hold := make(chan struct{}), make(chan struct{})
	res := make(chan error, 1)
	go func() {
		res <- db.Update(context.Background(), func(tx bot.Tx) error {
			close(running)
			<-hold
			_, err := tx.Append(cs.Event{Kind: cs.EventConfigLoaded, Actor: cs.ActorBot})
			return err
		})
	}()
	<-running
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	return release, res
}

// waitQueued waits until n calls are queued behind the committer.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		db.mu.Lock()
		got := len(db.queue)
		db.mu.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("%d calls never got queued", n)
}

func commits(db *DB) uint64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.commits
}

// goUpdate runs db.Update in a goroutine and returns its result channel.
func goUpdate(ctx context.Context, db *DB, fn func(bot.Tx) error) <-chan error {
	res := make(chan error, 1)
	go func() { res <- db.Update(ctx, fn) }()
	return res
}

func appendFn(target string) func(bot.Tx) error {
	return func(tx bot.Tx) error {
		_, err := tx.Append(cs.Event{Kind: cs.EventLockSet, Actor: "U1", Target: target})
		return err
	}
}

func TestDB_UpdatesShareCommit(t *testing.T) {
	db := openTest(t)
	release, blocked := blockCommitter(t, db)
	const n = 10
	var results []<-chan error
	for i := range n {
		results = append(results, goUpdate(context.Background(), db, appendFn(fmt.Sprint("svc-", i))))
	}
	waitQueued(t, db, n)
	release()
	if err := <-blocked; err != nil {
		t.Fatalf("blocking update: %v", err)
	}
	for i, res := range results {
		if err := <-res; err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	if got, want := commits(db), uint64(2); got != want {
		t.Errorf("%d commits for the blocking update and %d queued ones, want %d", got, n, want)
	}
	if count, _, err := db.VerifyAudit(context.Background()); count != n+1 || err != nil {
		t.Errorf("VerifyAudit = %d, %v; want %d records", count, err, n+1)
	}
}

func TestDB_FailedFunctionRerunsOthers(t *testing.T) {
	db := openTest(t)
	release, blocked := blockCommitter(t, db)
	errBoom := errors.New("boom")
	var runsA int
	a := goUpdate(context.Background(), db, func(tx bot.Tx) error {
		runsA++ // only the committer runs functions
		return appendFn("a")(tx)
	})
	waitQueued(t, db, 1)
	b := goUpdate(context.Background(), db, func(tx bot.Tx) error {
		if err := appendFn("b")(tx); err != nil {
			return err
		}
		return errBoom
	})
	waitQueued(t, db, 2)
	c := goUpdate(context.Background(), db, appendFn("c"))
	waitQueued(t, db, 3)
	release()
	<-blocked

	for _, tc := range []struct {
		name string
		res  <-chan error
		want error
	}{
		{"a", a, nil},
		{"b", b, errBoom},
		{"c", c, nil},
	} {
		if err := <-tc.res; !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("update %s = %v, want %v", tc.name, err, tc.want)
		}
	}
	if runsA != 2 {
		t.Errorf("a ran %d times, want 2 (once before b failed, once after)", runsA)
	}
	es, err := db.ListAudit(context.Background(), bot.EventQuery{Kind: cs.EventLockSet})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Target)
	}
	if fmt.Sprint(got) != "[a c]" {
		t.Errorf("records of the batch: %v, want [a c]", got)
	}
	if n, _, err := db.VerifyAudit(context.Background()); n != 3 || err != nil {
		t.Errorf("VerifyAudit = %d, %v; want 3 records", n, err)
	}
}

func TestDB_PanicReachesCaller(t *testing.T) {
	db := openTest(t)
	release, blocked := blockCommitter(t, db)
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		db.Update(context.Background(), func(tx bot.Tx) error {
			appendFn("p")(tx)
			panic("kaboom")
		})
	}()
	waitQueued(t, db, 1)
	ok := goUpdate(context.Background(), db, appendFn("ok"))
	waitQueued(t, db, 2)
	release()
	<-blocked
	if got := <-panicked; got != "kaboom" {
		t.Errorf("caller recovered %v, want kaboom", got)
	}
	if err := <-ok; err != nil {
		t.Errorf("update next to the panicking one: %v", err)
	}
	if es, _ := db.ListAudit(context.Background(), bot.EventQuery{Target: "p"}); len(es) != 0 {
		t.Errorf("panicking update kept %d records", len(es))
	}
}

func TestDB_ContextCanceledWhileQueued(t *testing.T) {
	db := openTest(t)
	release, blocked := blockCommitter(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	res := goUpdate(ctx, db, func(bot.Tx) error { ran = true; return nil })
	waitQueued(t, db, 1)
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled queued Update = %v, want context.Canceled", err)
	}
	release()
	<-blocked
	// One more update goes through the committer after the abandoned one.
	if err := db.Update(context.Background(), appendFn("after")); err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("function of a canceled Update ran")
	}
}

func TestDB_CloseFinishesQueued(t *testing.T) {
	// The committer sees Close and queued work at once and picks one at
	// random: repeat so that dropping the queued work cannot pass by luck.
	for range 12 {
		db := openTest(t)
		release, blocked := blockCommitter(t, db)
		queued := goUpdate(context.Background(), db, appendFn("queued"))
		waitQueued(t, db, 1)
		closed := make(chan error, 1)
		go func() { closed <- db.Close() }()
		for !db.isClosed() {
			time.Sleep(time.Millisecond)
		}
		if err := db.Update(context.Background(), appendFn("late")); !errors.Is(err, ErrClosed) {
			t.Errorf("Update during Close = %v, want ErrClosed", err)
		}
		release()
		for name, res := range map[string]<-chan error{"blocking": blocked, "queued": queued, "Close": closed} {
			if err := <-res; err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
}

func TestDB_FailedWriteFailsUpdate(t *testing.T) {
	// A write that failed fails the Update even if fn ignores the error,
	// so that half an Append or PutRequest is never committed.
	db := openTest(t)
	var putErr error
	err := db.Update(context.Background(), func(tx bot.Tx) error {
		putErr = tx.PutLock(cs.Lock{Target: strings.Repeat("x", bolt.MaxKeySize+1)})
		return appendFn("www")(tx)
	})
	if putErr == nil || err == nil {
		t.Fatalf("PutLock with an oversized key = %v, Update = %v; want both to fail", putErr, err)
	}
	if n, _, err := db.VerifyAudit(context.Background()); n != 0 || err != nil {
		t.Errorf("VerifyAudit = %d, %v; want nothing committed", n, err)
	}
}

func TestDB_CommitFailureReachesEveryCaller(t *testing.T) {
	var file *os.File
	db := openAt(t, filepath.Join(t.TempDir(), "countersign.db"), Options{
		openFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	})
	release, blocked := blockCommitter(t, db)
	var results []<-chan error
	for i := range 3 {
		results = append(results, goUpdate(context.Background(), db, appendFn(fmt.Sprint("svc-", i))))
	}
	waitQueued(t, db, 3)
	file.Close() // the disk goes away: every write and fsync fails
	release()
	results = append(results, blocked)
	for i, res := range results {
		if err := <-res; !errors.Is(err, os.ErrClosed) {
			t.Errorf("update %d = %v, want the commit's error", i, err)
		}
	}
}

// TestDB_CanWrite: a health check answered ok while every write failed
// on a full disk. CanWrite says the store cannot write once a commit that
// changes something failed, until one succeeds; a commit that changes
// nothing (bbolt rewrites its meta page, which a full disk allows) says
// nothing either way; and a full disk is seen before a commit fails.
func TestDB_CanWrite(t *testing.T) {
	dir := storetest.SmallDisk(t, "4m")
	db := openAt(t, filepath.Join(dir, "countersign.db"), Options{})
	ctx := context.Background()
	if err := db.CanWrite(); err != nil {
		t.Fatalf("CanWrite of a sound store = %v", err)
	}
	free := storetest.Fill(t, filepath.Join(dir, "filler"))
	if err := db.CanWrite(); !errors.Is(err, ErrCannotWrite) || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("CanWrite on a full disk = %v, want ErrCannotWrite and ENOSPC", err)
	}
	big := func(tx bot.Tx) error {
		_, err := tx.Append(cs.Event{Kind: cs.EventLockSet, Actor: "U1", Target: "www", Detail: []byte(`{"reason":"` + strings.Repeat("x", 64<<10) + `"}`)})
		return err
	}
	if err := db.Update(ctx, big); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a 64 KiB record on a full disk: %v, want ENOSPC", err)
	}
	free()
	must(t, db.Update(ctx, func(bot.Tx) error { return nil }))
	if err := db.CanWrite(); !errors.Is(err, ErrCannotWrite) || !strings.Contains(err.Error(), "the last commit failed") || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("CanWrite after a failed commit and an empty one = %v, want ErrCannotWrite saying the last commit failed", err)
	}
	must(t, db.Update(ctx, big))
	if err := db.CanWrite(); err != nil {
		t.Errorf("CanWrite once a commit succeeded = %v", err)
	}

	ro := openAt(t, filepath.Join(t.TempDir(), "ro.db"), Options{NoSync: true})
	must(t, ro.Close())
	rodb := openAt(t, ro.Path(), Options{ReadOnly: true})
	if err := rodb.CanWrite(); !errors.Is(err, ErrCannotWrite) || !errors.Is(err, ErrReadOnly) {
		t.Errorf("CanWrite of a read-only store = %v", err)
	}
}
