// Package configtest helps tests of what reads the files a config names:
// a FIFO to read, and a guard against a read that blocks.
package configtest

import (
	"syscall"
	"testing"
	"time"
)

// Mkfifo makes a FIFO at path: opening it for reading, the usual way,
// waits for a writer, forever.
func Mkfifo(t testing.TB, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Finish runs f and fails the test when it has not returned after a
// minute: a regression that blocks must fail the test rather than hang
// the run. (The minute is a fence, not a measure.) f runs on another
// goroutine, where t.FailNow ends f only.
func Finish(t testing.TB, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("still blocked after a minute (opening a FIFO?)")
	}
}
