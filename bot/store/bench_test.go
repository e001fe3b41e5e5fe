package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// The 1,000,000-record database is built once per test binary run, in a
// temporary directory that TestMain removes.
const (
	bigRecords = 1_000_000
	bigTargets = 1_000
	bigBatch   = 20_000 // appends per Update while building
)

var big struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if big.dir != "" {
		os.RemoveAll(big.dir)
	}
	os.Exit(code)
}

// benchEvent is record i of the big database: a realistic size, spread
// over bigTargets targets, 50 actors and one request per 10 records.
func benchEvent(i int) cs.Event {
	kinds := []cs.EventKind{cs.EventRequestCreated, cs.EventApprovalRequested, cs.EventApprovalGranted, cs.EventExecutionStarted, cs.EventExecutionSucceeded}
	return cs.Event{
		Time:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Kind:    kinds[i%len(kinds)],
		Actor:   cs.Actor(fmt.Sprintf("U%03d", i%50)),
		Request: cs.FormatRequestID(uint64(i/10 + 1)),
		Action:  cs.ActionDeploy,
		Target:  fmt.Sprintf("svc-%04d", i%bigTargets),
		Detail:  []byte(`{"image":"registry.example.org/ocurrent/www@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945","policy":"deploys","policy_version":"3f2a"}`),
	}
}

// bigDB returns the path of the big database, building it the first time.
func bigDB(b *testing.B) string {
	b.Helper()
	big.once.Do(func() {
		start := time.Now()
		big.dir, big.err = os.MkdirTemp("", "countersign-bench-")
		if big.err != nil {
			return
		}
		big.path = filepath.Join(big.dir, "1m.db")
		db, err := Open(big.path, Options{NoSync: true})
		if err != nil {
			big.err = err
			return
		}
		defer db.Close()
		for from := 0; from < bigRecords && big.err == nil; from += bigBatch {
			big.err = db.Update(context.Background(), func(tx bot.Tx) error {
				for i := from; i < from+bigBatch; i++ {
					if _, err := tx.Append(benchEvent(i)); err != nil {
						return err
					}
				}
				return nil
			})
		}
		fi, _ := os.Stat(big.path)
		b.Logf("built %d records in %v, %d MB", bigRecords, time.Since(start).Round(time.Millisecond), fi.Size()>>20)
	})
	if big.err != nil {
		b.Fatalf("build 1M database: %v", big.err)
	}
	return big.path
}

// BenchmarkAppend_8Writers measures durable appends (fsync on commit)
// from 8 goroutines, one event per Update.
func BenchmarkAppend_8Writers(b *testing.B) {
	db := openAt(b, filepath.Join(b.TempDir(), "append.db"), Options{})
	const writers = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				err := db.Update(context.Background(), func(tx bot.Tx) error {
					_, err := tx.Append(benchEvent(int(i)))
					return err
				})
				if err != nil {
					b.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	db.mu.Lock()
	b.ReportMetric(float64(b.N)/float64(max(db.commits, 1)), "records/commit")
	db.mu.Unlock()
}

// BenchmarkRawUpdate_8Writers is BenchmarkAppend_8Writers's baseline:
// bbolt alone, with its default options (fsync on every commit), 8
// goroutines each putting one record per db.Update, the record being
// benchEvent's sealed line, the bytes Append puts in the audit bucket.
// No chain, no indexes, no group commit: bbolt serialises the Updates,
// so this is about one fsync'd commit per record.
func BenchmarkRawUpdate_8Writers(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	e := benchEvent(1)
	line, err := e.Seal(1, cs.GenesisHash)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(bucketAudit)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	const writers = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				err := db.Update(func(tx *bolt.Tx) error {
					return tx.Bucket(bucketAudit).Put(u64Key(uint64(i)), line)
				})
				if err != nil {
					b.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(len(line)), "B/record")
}

// BenchmarkListTarget_1M lists one target's records (1,000 of them) among
// 1,000,000.
func BenchmarkListTarget_1M(b *testing.B) {
	db := openAt(b, bigDB(b), Options{ReadOnly: true})
	want := bigRecords / bigTargets
	b.ResetTimer()
	for b.Loop() {
		es, err := db.ListAudit(context.Background(), bot.EventQuery{Target: "svc-0421"})
		if err != nil || len(es) != want {
			b.Fatalf("ListAudit = %d records, %v; want %d", len(es), err, want)
		}
	}
}

// BenchmarkListRecent_1M lists the newest 50 records of one kind: no
// index, a scan from the end.
func BenchmarkListRecent_1M(b *testing.B) {
	db := openAt(b, bigDB(b), Options{ReadOnly: true})
	b.ResetTimer()
	for b.Loop() {
		es, err := db.ListAudit(context.Background(), bot.EventQuery{Kind: cs.EventExecutionSucceeded, Limit: 50})
		if err != nil || len(es) != 50 {
			b.Fatalf("ListAudit = %d records, %v; want 50", len(es), err)
		}
	}
}

// BenchmarkVerify_1M verifies the whole 1,000,000-record chain.
func BenchmarkVerify_1M(b *testing.B) {
	db := openAt(b, bigDB(b), Options{ReadOnly: true})
	b.ResetTimer()
	for b.Loop() {
		n, _, err := db.VerifyAudit(context.Background())
		if err != nil || n != bigRecords {
			b.Fatalf("VerifyAudit = %d, %v; want %d records", n, err, bigRecords)
		}
	}
}

// BenchmarkRawScan_1M is the baseline of the 1M listing and verifying:
// bbolt alone, read-only, a cursor over the audit bucket's 1,000,000
// records, touching each value and decoding nothing.
func BenchmarkRawScan_1M(b *testing.B) {
	db, err := bolt.Open(bigDB(b), 0o400, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	for b.Loop() {
		n, size := 0, 0
		err := db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketAudit).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				n++
				size += len(v)
			}
			return nil
		})
		if err != nil || n != bigRecords || size == 0 {
			b.Fatalf("scan = %d records, %v; want %d", n, err, bigRecords)
		}
	}
}

// BenchmarkExport_1M writes the whole trail as JSON Lines.
func BenchmarkExport_1M(b *testing.B) {
	db := openAt(b, bigDB(b), Options{ReadOnly: true})
	b.ResetTimer()
	for b.Loop() {
		n, err := db.ExportAudit(context.Background(), discard{})
		if err != nil || n != bigRecords {
			b.Fatalf("ExportAudit = %d, %v; want %d records", n, err, bigRecords)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkListTarget_Unindexed lists one target's records while the most
// records that ever wait in audit_unindexed (indexEvery-1) do: the extra
// cost a query pays for appends that write no index pages.
func BenchmarkListTarget_Unindexed(b *testing.B) {
	db := openAt(b, filepath.Join(b.TempDir(), "unindexed.db"), Options{NoSync: true})
	appendN(b, db, indexEvery-1, benchEvent)
	want := (indexEvery - 1) / bigTargets
	b.ResetTimer()
	for b.Loop() {
		es, err := db.ListAudit(context.Background(), bot.EventQuery{Target: "svc-0421"})
		if err != nil || len(es) != want {
			b.Fatalf("ListAudit = %d records, %v; want %d", len(es), err, want)
		}
	}
}
