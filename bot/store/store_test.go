package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/store/storetest"
)

func TestStore_Conformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, dir string) storetest.Store {
		db, err := Open(filepath.Join(dir, "countersign.db"), Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return db
	})
}

// openTest opens a fresh database (NoSync) that is closed when t ends.
func openTest(t testing.TB) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "countersign.db"), Options{NoSync: true})
}

func openAt(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// appendN appends n events in one Update.
func appendN(t testing.TB, db *DB, n int, mk func(i int) cs.Event) {
	t.Helper()
	err := db.Update(context.Background(), func(tx bot.Tx) error {
		for i := range n {
			if _, err := tx.Append(mk(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("append %d events: %v", n, err)
	}
}

func lockEvent(i int) cs.Event {
	return cs.Event{
		Time:   time.Date(2026, 11, 22, 10, 0, i, 0, time.UTC),
		Kind:   cs.EventLockSet,
		Actor:  "U1",
		Target: "www",
		Detail: []byte(`{"reason":"incident"}`),
	}
}

func TestOpen_InUse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second Options
	}{
		{"second writer", Options{}},
		{"reader while writer", Options{ReadOnly: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "countersign.db")
			openAt(t, path, Options{NoSync: true})

			start := time.Now()
			db, err := Open(path, tc.second)
			if err == nil {
				db.Close()
				t.Fatal("second Open succeeded, want ErrInUse")
			}
			if !errors.Is(err, ErrInUse) {
				t.Fatalf("second Open: %v, want an error wrapping ErrInUse", err)
			}
			for _, want := range []string{path, "in use by another process", "--server"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			// Generous: without a lock timeout it would block forever.
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("second Open took %v, want it to fail fast", d)
			}
		})
	}
}

func TestOpen_ReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "countersign.db")
	db := openAt(t, path, Options{NoSync: true})
	appendN(t, db, 3, lockEvent)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Readers share the file.
	ro1 := openAt(t, path, Options{ReadOnly: true})
	ro2 := openAt(t, path, Options{ReadOnly: true})
	for _, ro := range []*DB{ro1, ro2} {
		if n, _, err := ro.VerifyAudit(context.Background()); n != 3 || err != nil {
			t.Errorf("VerifyAudit read-only = %d, %v; want 3 records", n, err)
		}
	}
	err := ro1.Update(context.Background(), func(bot.Tx) error { return nil })
	if !errors.Is(err, ErrReadOnly) {
		t.Errorf("Update on read-only DB = %v, want ErrReadOnly", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.db"), Options{ReadOnly: true}); err == nil {
		t.Error("read-only Open of a missing file succeeded, want an error")
	}
}

func TestDB_CloseTwice(t *testing.T) {
	db := openTest(t)
	if err := db.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if err := db.Update(context.Background(), func(bot.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Update after Close = %v, want ErrClosed", err)
	}
	if _, err := db.ListAudit(context.Background(), bot.EventQuery{}); !errors.Is(err, ErrClosed) {
		t.Errorf("ListAudit after Close = %v, want ErrClosed", err)
	}
}

func TestTx_UsedAfterReturn(t *testing.T) {
	db := openTest(t)
	var kept bot.Tx
	if err := db.Update(context.Background(), func(tx bot.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.Append(lockEvent(0)); !errors.Is(err, errTxDone) {
		t.Errorf("Append on a finished tx = %v, want errTxDone", err)
	}
	if _, err := kept.NextRequestID(); !errors.Is(err, errTxDone) {
		t.Errorf("NextRequestID on a finished tx = %v, want errTxDone", err)
	}
}

func TestTx_PutRefusesBadIDs(t *testing.T) {
	for _, tc := range []struct {
		name string
		put  func(bot.Tx) error
		want string
	}{
		{"request not allocated", func(tx bot.Tx) error { return tx.PutRequest(cs.Request{ID: "R5"}) }, "not allocated"},
		{"request lower case", func(tx bot.Tx) error { return tx.PutRequest(cs.Request{ID: "r1"}) }, "bad request ID"},
		{"request empty", func(tx bot.Tx) error { return tx.PutRequest(cs.Request{}) }, "bad request ID"},
		{"deployment without ID", func(tx bot.Tx) error { return tx.PutDeployment(cs.Deployment{Target: "www"}) }, "bad request ID"},
		{"deployment without target", func(tx bot.Tx) error { return tx.PutDeployment(cs.Deployment{ID: "R1"}) }, "empty target"},
		{"lock without target", func(tx bot.Tx) error { return tx.PutLock(cs.Lock{Actor: "U1"}) }, "empty target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			err := db.Update(context.Background(), func(tx bot.Tx) error {
				if _, err := tx.NextRequestID(); err != nil {
					return err
				}
				return tc.put(tx)
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestTx_SeenDeliveryPrunes(t *testing.T) {
	db := openTest(t)
	day := 24 * time.Hour
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		id   string
		at   time.Time
		want bool
	}{
		{"old", t0, false},
		{"recent", t0.Add(3 * day), false},
		{"old", t0.Add(6 * day), true},
		{"trigger", t0.Add(7*day + time.Second), false}, // forgets "old"
		{"old", t0.Add(7*day + 2*time.Second), false},
		{"recent", t0.Add(7*day + 3*time.Second), true},
	} {
		var got bool
		err := db.Update(context.Background(), func(tx bot.Tx) error {
			var err error
			got, err = tx.SeenDelivery(tc.id, tc.at)
			return err
		})
		if err != nil || got != tc.want {
			t.Errorf("%d: SeenDelivery(%s) = %v, %v; want %v", i, tc.id, got, err, tc.want)
		}
	}
	var ids, times int
	db.bolt.View(func(btx *bolt.Tx) error {
		ids = btx.Bucket(bucketDeliveries).Stats().KeyN
		times = btx.Bucket(bucketDeliveryTimes).Stats().KeyN
		return nil
	})
	if ids != 3 || times != 3 {
		t.Errorf("after pruning: %d IDs and %d times, want 3 of each", ids, times)
	}
}

func TestTx_AppendRefuses(t *testing.T) {
	long := strings.Repeat("x", maxIndexed+1)
	for _, tc := range []struct {
		name string
		e    cs.Event
	}{
		{"no kind", cs.Event{Actor: "U1"}},
		{"long target", cs.Event{Kind: cs.EventLockSet, Target: long}},
		{"long actor", cs.Event{Kind: cs.EventLockSet, Actor: cs.Actor(long)}},
		{"long request", cs.Event{Kind: cs.EventLockSet, Request: cs.RequestID(long)}},
		{"detail not JSON", cs.Event{Kind: cs.EventLockSet, Detail: []byte("{")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			var appendErr error
			err := db.Update(context.Background(), func(tx bot.Tx) error {
				_, appendErr = tx.Append(tc.e)
				return nil // a refused Append writes nothing, so this may commit
			})
			if appendErr == nil || err != nil {
				t.Fatalf("Append = %v, Update = %v; want Append refused and nothing else failing", appendErr, err)
			}
			if n, _, err := db.VerifyAudit(context.Background()); n != 0 || err != nil {
				t.Errorf("VerifyAudit = %d, %v; want an empty, sound trail", n, err)
			}
		})
	}
}

// TestDeployments_RewrittenRecordIsReadAgain: decoded deployments are
// reused only for the very same stored bytes, so a record rewritten under
// the same ID (a deploy that finished) reads as written, and a caller that
// changes what it got does not change the next read.
func TestDeployments_RewrittenRecordIsReadAgain(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	put := func(d cs.Deployment) {
		t.Helper()
		if err := db.Update(ctx, func(tx bot.Tx) error { return tx.PutDeployment(d) }); err != nil {
			t.Fatal(err)
		}
	}
	newest := func() cs.Deployment {
		t.Helper()
		var got []cs.Deployment
		err := db.View(ctx, func(tx bot.ReadTx) error {
			var err error
			got, err = tx.Deployments("www", 1)
			return err
		})
		if err != nil || len(got) != 1 {
			t.Fatalf("Deployments(www, 1) = %v, %v", got, err)
		}
		return got[0]
	}
	d := cs.Deployment{ID: "R1", Target: "www", Kind: cs.ActionDeploy, Image: "reg/www@" + strings.Repeat("1", 64), Requester: "UDEV1", Approvers: []cs.Actor{"UOPS1"}}
	put(d)
	if got := newest(); got.Succeeded {
		t.Fatalf("the unfinished deployment reads as succeeded: %+v", got)
	}
	newest().Approvers[0] = "UCHANGED"
	if got := newest(); got.Approvers[0] != "UOPS1" {
		t.Errorf("a caller's change reached the next read: approvers %v", got.Approvers)
	}
	d.Succeeded, d.Approvers = true, []cs.Actor{"UOPS1", "UOPS2"}
	put(d)
	if got := newest(); !got.Succeeded || len(got.Approvers) != 2 {
		t.Errorf("the rewritten deployment reads as before: %+v", got)
	}
}
