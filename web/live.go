package web

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/countersign/countersign/bot"
)

// liveFor is how long an executor's answer is reused: pages refresh every
// few seconds and each answer costs an engine or SSH round trip.
const liveFor = 15 * time.Second

// liveTimeout bounds how long a page waits for the executors.
const liveTimeout = 3 * time.Second

// liveCache keeps the executors' answers to "what runs now".
type liveCache struct {
	mu      sync.Mutex
	entries map[string]liveEntry
}

type liveEntry struct {
	Text    string
	Problem string
	at      time.Time
	// none: the executor cannot tell (bot.ErrNoLiveStatus). Kept like an
	// answer, so that an estate of such services does not ask again on
	// every read.
	none bool
}

// liveStatus answers what each service runs now, asking the executors
// whose answer is older than liveFor, all at once, for liveTimeout at
// most. A service whose executor cannot tell is left out.
func (s *Server) liveStatus(ctx context.Context, services []string) map[string]liveEntry {
	now := s.cfg.Now()
	out := map[string]liveEntry{}
	var stale []string
	s.live.mu.Lock()
	for _, name := range services {
		if e, ok := s.live.entries[name]; ok && now.Sub(e.at) < liveFor {
			if !e.none {
				out[name] = e
			}
		} else {
			stale = append(stale, name)
		}
	}
	s.live.mu.Unlock()
	if len(stale) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, liveTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	cannot := map[string]bool{}
	for _, name := range stale {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text, err := s.cfg.Source.LiveStatus(ctx, name)
			if errors.Is(err, bot.ErrNoLiveStatus) {
				mu.Lock()
				cannot[name] = true
				mu.Unlock()
				return
			}
			e := liveEntry{Text: text, at: now}
			if err != nil {
				s.log.Warn("web: the executor could not say what runs", "service", name, "err", err)
				e = liveEntry{Problem: "could not read: " + bot.Brief(err), at: now}
			}
			mu.Lock()
			out[name] = e
			mu.Unlock()
		}()
	}
	wg.Wait()
	s.live.mu.Lock()
	for _, name := range stale {
		if e, ok := out[name]; ok {
			s.live.entries[name] = e
		} else if cannot[name] {
			s.live.entries[name] = liveEntry{none: true, at: now}
		}
	}
	s.live.mu.Unlock()
	return out
}
