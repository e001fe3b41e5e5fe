package web

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// chainState is the outcome of the last verification of the whole chain.
// Verifying a million records takes seconds, so it runs in the
// background and the page shows when it last ran.
type chainState struct {
	mu      sync.Mutex
	done    bool
	running bool
	count   uint64
	head    string
	err     error
	at      time.Time
}

// chainView is what the page shows of it.
type chainView struct {
	Known   bool // a verification has finished
	Running bool
	OK      bool
	Count   uint64
	Head    string
	Problem string
	At      time.Time
}

func (c *chainState) view() chainView {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := chainView{Known: c.done, Running: c.running, OK: c.done && c.err == nil, Count: c.count, Head: c.head, At: c.at}
	if c.err != nil {
		v.Problem = c.err.Error()
	}
	return v
}

// verifyGap is the least time between two verifications a reader's
// visit can start, so that reloading a page cannot keep the disk busy.
const verifyGap = 30 * time.Second

// verifyLoop verifies at start, then every VerifyEvery, and when a page
// saw the trail grow past what was verified (kick), until Close.
func (s *Server) verifyLoop() {
	t := time.NewTicker(s.cfg.VerifyEvery)
	defer t.Stop()
	for {
		s.verifyOnce(s.ctx)
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
			s.chain.mu.Lock()
			wait := verifyGap - s.cfg.Now().Sub(s.chain.at)
			s.chain.mu.Unlock()
			if wait > 0 {
				select {
				case <-s.ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
	}
}

// verifyIfGrown asks for a verification when the trail has records past
// the last verified one (head is the current anchor, SEQ:HASH).
func (s *Server) verifyIfGrown(head string) {
	if s.cfg.Chain == nil || head == "" {
		return
	}
	v := s.chain.view()
	if v.Running || (v.Known && strings.HasPrefix(head, strconv.FormatUint(v.Count, 10)+":")) {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default: // one is already asked for
	}
}

func (s *Server) verifyOnce(ctx context.Context) {
	s.chain.mu.Lock()
	s.chain.running = true
	s.chain.mu.Unlock()
	count, head, err := s.cfg.Chain.VerifyAudit(ctx)
	if ctx.Err() != nil {
		s.chain.mu.Lock()
		s.chain.running = false
		s.chain.mu.Unlock()
		return // stopped, not a verdict
	}
	if err != nil {
		s.log.Error("audit chain verification failed", "err", err)
	}
	s.chain.mu.Lock()
	defer s.chain.mu.Unlock()
	s.chain.running, s.chain.done = false, true
	s.chain.count, s.chain.head, s.chain.err, s.chain.at = count, head, err, s.cfg.Now()
}
