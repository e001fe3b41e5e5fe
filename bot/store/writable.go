package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrCannotWrite is wrapped by CanWrite's error: the store's last commit
// that changed something failed (a full disk, an I/O error), or there is
// no room beside the file for what the next commits need.
var ErrCannotWrite = errors.New("the database cannot write")

// probeSize is what CanWrite writes beside the file: room for the pages
// of a few commits.
const probeSize = 64 << 10

// wrote records the outcome of a commit that changed something, for
// CanWrite.
func (db *DB) wrote(err error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.writeErr = err
}

// CanWrite returns an error wrapping ErrCannotWrite when the store cannot
// write: when its last commit that changed something failed, until one
// succeeds; or when a file of probeSize cannot be written and synced in
// the database's directory. The probe matters because bbolt reuses the
// pages it freed: on a full disk, commits succeed until the file must
// grow. A read-only DB cannot write. Safe for concurrent use.
func (db *DB) CanWrite() error {
	if db.readOnly {
		return fmt.Errorf("%w: %w", ErrCannotWrite, ErrReadOnly)
	}
	db.mu.Lock()
	err := db.writeErr
	db.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w: the last commit failed: %w", ErrCannotWrite, err)
	}
	if err := probe(filepath.Dir(db.path)); err != nil {
		return fmt.Errorf("%w: %w", ErrCannotWrite, err)
	}
	return nil
}

// probe writes, syncs and removes a file of probeSize in dir.
func probe(dir string) error {
	f, err := os.CreateTemp(dir, ".countersign-probe-*")
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, probeSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("probe %s: %w", dir, err)
	}
	return nil
}
