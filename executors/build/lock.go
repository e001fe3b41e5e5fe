package build

import (
	"context"
	"sync"
)

// tagLocks lets one build at a time use a tag: two builds of the same
// tag would otherwise each push whichever image last took it. The zero
// value is ready to use.
type tagLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when the holder releases it
}

// lock waits until key is free or ctx ends, and returns the release.
func (l *tagLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	for {
		l.mu.Lock()
		ch, busy := l.held[key]
		if !busy {
			if l.held == nil {
				l.held = map[string]chan struct{}{}
			}
			ch = make(chan struct{})
			l.held[key] = ch
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.held, key)
				l.mu.Unlock()
				close(ch)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
