package build

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTagLocks(t *testing.T) {
	var l tagLocks
	ctx := context.Background()
	unlockA, err := l.lock(ctx, "repo:a")
	if err != nil {
		t.Fatal(err)
	}
	// Another tag is free.
	unlockB, err := l.lock(ctx, "repo:b")
	if err != nil {
		t.Fatal(err)
	}
	unlockB()

	// The same tag waits, and gives up with its context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.lock(short, "repo:a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock of a held tag = %v, want the context's error", err)
	}

	// A waiter gets it once it is released.
	got := make(chan func(), 1)
	go func() {
		unlock, err := l.lock(ctx, "repo:a")
		if err != nil {
			t.Error(err)
		}
		got <- unlock
	}()
	select {
	case <-got:
		t.Fatal("the tag was taken twice")
	case <-time.After(50 * time.Millisecond):
	}
	unlockA()
	select {
	case unlock := <-got:
		unlock()
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not get the released tag")
	}
	if len(l.held) != 0 {
		t.Errorf("held = %v after every release", l.held)
	}
}
