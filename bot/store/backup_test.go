package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestBackup_WhileWriting(t *testing.T) {
	db := openTest(t)
	appendN(t, db, 500, tamperEvent)

	// Writers keep going while the copy is made.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				db.Update(ctx, appendFn(fmt.Sprintf("w%d-%d", w, i)))
			}
		})
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(path)
	must(t, err)
	n, err := db.Backup(context.Background(), f)
	stop()
	wg.Wait()
	must(t, err)
	must(t, f.Close())
	if fi, _ := os.Stat(path); fi.Size() != n {
		t.Errorf("Backup reported %d bytes, file has %d", n, fi.Size())
	}

	copyDB := openAt(t, path, Options{ReadOnly: true})
	count, _, err := copyDB.VerifyAudit(context.Background())
	if err != nil || count < 500 {
		t.Errorf("VerifyAudit of the backup = %d, %v; want >= 500 records and a sound chain", count, err)
	}
}

func TestBackup_Canceled(t *testing.T) {
	db := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if _, err := db.Backup(ctx, &buf); err == nil {
		t.Error("Backup with a canceled context succeeded")
	}
}

// openTxWriter records how many read transactions were open during its writes.
type openTxWriter struct {
	db     *DB
	n      int
	maxTxs int
}

func (w *openTxWriter) Write(p []byte) (int, error) {
	w.maxTxs = max(w.maxTxs, w.db.bolt.Stats().OpenTxN)
	w.n += len(p)
	return len(p), nil
}

func TestBackup_NoTransactionWhileWritingOut(t *testing.T) {
	// A slow client must not hold a read transaction: writers that grow
	// the file would wait for it.
	db := openTest(t)
	appendN(t, db, 100, tamperEvent)
	w := &openTxWriter{db: db}
	n, err := db.Backup(context.Background(), w)
	if err != nil || n == 0 || int64(w.n) != n {
		t.Fatalf("Backup = %d, %v; writer got %d bytes", n, err, w.n)
	}
	if w.maxTxs != 0 {
		t.Errorf("%d read transactions open while writing to the client, want 0", w.maxTxs)
	}
	spools, _ := filepath.Glob(filepath.Join(filepath.Dir(db.Path()), ".countersign-backup-*"))
	if len(spools) != 0 {
		t.Errorf("spool files left behind: %v", spools)
	}
}
