package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/countersign/countersign/bot"
)

// Backup writes a consistent copy of the whole database file to w while
// the bot keeps running, and returns the bytes written to w; the copy
// opens with Open like the original. ctx cancels it.
//
// The copy (bbolt Tx.WriteTo) needs a read transaction, and a writer that
// must grow the file waits for every open one. So Backup first copies into
// a temporary file beside the database and ends the transaction before it
// writes to w: a slow client cannot stall the bot. If no temporary file
// can be made there it copies straight to w.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	spool, err := os.CreateTemp(filepath.Dir(db.path), ".countersign-backup-*")
	if err != nil {
		db.log.Warn("store: backup without a spool file: a slow reader delays writers", "err", err)
		n, err := db.writeTo(ctx, w)
		if err != nil {
			return n, fmt.Errorf("backup %s: %w", db.path, err)
		}
		return n, nil
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	if _, err := db.writeTo(ctx, spool); err != nil {
		return 0, fmt.Errorf("backup %s: %w", db.path, err)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("backup %s: %w", db.path, err)
	}
	n, err := io.Copy(ctxWriter{ctx, w}, spool)
	if err != nil {
		return n, fmt.Errorf("backup %s: write: %w", db.path, err)
	}
	return n, nil
}

// writeTo copies the database to w in one read transaction.
func (db *DB) writeTo(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := db.View(ctx, func(rt bot.ReadTx) error {
		var err error
		n, err = rt.(*tx).btx.WriteTo(ctxWriter{ctx, w})
		return err
	})
	return n, err
}

// ctxWriter fails writes once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (cw ctxWriter) Write(p []byte) (int, error) {
	if err := cw.ctx.Err(); err != nil {
		return 0, err
	}
	return cw.w.Write(p)
}
