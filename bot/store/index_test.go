package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// indexEvent is record i+1 of the index tests: a few targets, actors,
// kinds and requests, some records without a target or request.
func indexEvent(i int) cs.Event {
	e := cs.Event{
		Kind:   []cs.EventKind{cs.EventRequestCreated, cs.EventApprovalGranted, cs.EventLockSet}[i%3],
		Actor:  cs.Actor(fmt.Sprint("U", i%3)),
		Target: fmt.Sprint("svc-", i%4),
	}
	if i%5 != 4 {
		e.Request = cs.FormatRequestID(uint64(i/5 + 1))
	}
	if i%7 == 6 {
		e.Target = ""
	}
	return e
}

// waiting is how many records wait in audit_unindexed.
func waiting(t *testing.T, db *DB) int {
	t.Helper()
	n := 0
	must(t, db.bolt.View(func(btx *bolt.Tx) error {
		if b := btx.Bucket(bucketAuditUnindexed); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	}))
	return n
}

// scanFor answers q from every record, without an index.
func scanFor(t *testing.T, db *DB, q bot.EventQuery) []uint64 {
	t.Helper()
	all, err := db.ListAudit(context.Background(), bot.EventQuery{})
	must(t, err)
	var seqs []uint64
	for _, e := range all {
		if matches(q, e) {
			seqs = append(seqs, e.Seq)
		}
	}
	if q.Limit > 0 && len(seqs) > q.Limit {
		seqs = seqs[len(seqs)-q.Limit:]
	}
	return seqs
}

// backupTo writes a Backup of db to path.
func backupTo(t *testing.T, db *DB, path string) {
	t.Helper()
	f, err := os.Create(path)
	must(t, err)
	_, err = db.Backup(context.Background(), f)
	must(t, err)
	must(t, f.Close())
}

func TestEvents_IndexedOrWaiting(t *testing.T) {
	const n = 40
	queries := []bot.EventQuery{
		{Target: "svc-1"},
		{Target: "svc-1", Limit: 3},
		{Target: "svc-2", Limit: 30},
		{Actor: "U2"},
		{Actor: "U1", Kind: cs.EventApprovalGranted},
		{Request: "R3"},
		{Request: "R8", Limit: 1},
		{Target: "svc-0", Actor: "U0"},
		{Target: "svc-3", Request: "R2"},
		{Target: "nope"},
		{Request: "R99"},
	}
	// moved records are in the indexes, the rest wait in audit_unindexed.
	for _, moved := range []int{0, 1, 17, n - 1, n} {
		t.Run(fmt.Sprint(moved, " indexed"), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "countersign.db")
			db := openAt(t, path, Options{NoSync: true})
			appendN(t, db, moved, indexEvent)
			must(t, db.Close()) // moves them
			db = openAt(t, path, Options{NoSync: true})
			appendN(t, db, n-moved, func(i int) cs.Event { return indexEvent(moved + i) })
			if got, want := waiting(t, db), n-moved; got != want {
				t.Fatalf("%d records wait to be indexed, want %d", got, want)
			}
			for _, q := range queries {
				es, err := db.ListAudit(context.Background(), q)
				must(t, err)
				var got []uint64
				for _, e := range es {
					got = append(got, e.Seq)
				}
				if want := scanFor(t, db, q); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("ListAudit(%+v) = %v, want %v", q, got, want)
				}
			}
		})
	}
}

func TestDB_MovesWaitingRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "countersign.db")
	db := openAt(t, path, Options{NoSync: true})
	appendN(t, db, indexEvery-1, indexEvent)
	if got := waiting(t, db); got != indexEvery-1 {
		t.Fatalf("%d records wait after %d appends, want all of them", got, indexEvery-1)
	}
	appendN(t, db, 1, func(int) cs.Event { return indexEvent(indexEvery - 1) })
	// The committer moves them after that commit, before the next.
	must(t, db.Update(ctx, func(bot.Tx) error { return nil }))
	if got := waiting(t, db); got != 0 {
		t.Fatalf("%d records wait after %d appends, want none", got, indexEvery)
	}
	q := bot.EventQuery{Target: "svc-3", Actor: "U1"}
	es, err := db.ListAudit(ctx, q)
	if want := scanFor(t, db, q); err != nil || len(es) != len(want) || len(want) == 0 {
		t.Fatalf("ListAudit(%+v) = %d records, %v; want %d", q, len(es), err, len(want))
	}

	// Close moves what waits, so a closed file is fully indexed.
	appendN(t, db, 3, func(i int) cs.Event { return indexEvent(indexEvery + i) })
	must(t, db.Close())
	db = openAt(t, path, Options{ReadOnly: true})
	if got := waiting(t, db); got != 0 {
		t.Errorf("%d records wait after Close, want none", got)
	}
	if n, _, err := db.VerifyAudit(ctx); n != indexEvery+3 || err != nil {
		t.Errorf("VerifyAudit = %d, %v; want %d records", n, err, indexEvery+3)
	}
}

func TestEvents_WaitingAfterCrash(t *testing.T) {
	// A process that stops without Close leaves records waiting; a later
	// Open finds them, and read-only queries see them.
	ctx := context.Background()
	db := openTest(t)
	appendN(t, db, 12, indexEvent)
	crashed := filepath.Join(t.TempDir(), "crashed.db")
	backupTo(t, db, crashed) // the file as it is between commits

	for _, opts := range []Options{{ReadOnly: true}, {NoSync: true}} {
		db := openAt(t, crashed, opts)
		if got := waiting(t, db); got != 12 {
			t.Fatalf("%d records wait in the copy, want 12", got)
		}
		q := bot.EventQuery{Target: "svc-1"}
		es, err := db.ListAudit(ctx, q)
		if want := scanFor(t, db, q); err != nil || len(es) != len(want) {
			t.Errorf("ListAudit(%+v) = %d records, %v; want %d", q, len(es), err, len(want))
		}
		must(t, db.Close())
	}
}

func TestOpen_FileWithoutUnindexed(t *testing.T) {
	// A file written before audit_unindexed existed has every record in
	// the indexes.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "countersign.db")
	db := openAt(t, path, Options{NoSync: true})
	appendN(t, db, 10, indexEvent)
	must(t, db.Close())
	b, err := bolt.Open(path, 0o600, nil)
	must(t, err)
	must(t, b.Update(func(btx *bolt.Tx) error { return btx.DeleteBucket(bucketAuditUnindexed) }))
	must(t, b.Close())

	q := bot.EventQuery{Actor: "U2"}
	for _, opts := range []Options{{ReadOnly: true}, {NoSync: true}} {
		db := openAt(t, path, opts)
		es, err := db.ListAudit(ctx, q)
		if want := scanFor(t, db, q); err != nil || len(es) != len(want) || len(want) == 0 {
			t.Errorf("ListAudit(%+v) with %+v = %d records, %v; want %d", q, opts, len(es), err, len(want))
		}
		if !opts.ReadOnly {
			appendN(t, db, 5, func(i int) cs.Event { return indexEvent(10 + i) })
			if es, err := db.ListAudit(ctx, q); err != nil || len(es) != len(scanFor(t, db, q)) {
				t.Errorf("ListAudit(%+v) after appending = %d records, %v", q, len(es), err)
			}
		}
		must(t, db.Close())
	}
}

func TestEvents_CorruptWaitingEntry(t *testing.T) {
	db := openTest(t)
	appendN(t, db, 3, indexEvent)
	must(t, db.bolt.Update(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketAuditUnindexed).Put(u64Key(2), []byte{0x7f})
	}))
	_, err := db.ListAudit(context.Background(), bot.EventQuery{Target: "svc-0"})
	if !errors.Is(err, errCorruptUnindexed) || !strings.Contains(err.Error(), "record 2") {
		t.Errorf("ListAudit over a corrupt entry: %v, want an error naming record 2", err)
	}
}

func TestNames_RoundTrip(t *testing.T) {
	long := strings.Repeat("x", maxIndexed)
	for _, n := range []names{
		{},
		{target: "www", actor: "U1", request: "R1"},
		{actor: string(cs.ActorBot)},
		{target: "a\x00b", actor: "\x00", request: ""},
		{target: long, actor: long, request: long},
	} {
		v := encodeNames(n)
		got, err := decodeNames(v)
		if err != nil || got != n {
			t.Errorf("decodeNames(encodeNames(%q)) = %q, %v", n, got, err)
		}
		for i, want := range []string{n.target, n.actor, n.request} {
			if b, err := nameIn(v, i); err != nil || string(b) != want {
				t.Errorf("nameIn(%q, %d) = %q, %v; want %q", n, i, b, err, want)
			}
		}
	}
	for _, v := range [][]byte{nil, {}, {3, 'a'}, {0, 0}, {0, 0, 0, 0}, {0x80}} {
		if _, err := decodeNames(v); !errors.Is(err, errCorruptUnindexed) {
			t.Errorf("decodeNames(%x) = %v, want errCorruptUnindexed", v, err)
		}
	}
}
