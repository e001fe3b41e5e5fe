package slacktest

import (
	"math"
	"time"
)

// fault is one queued injected failure. Exactly one of retryAfter (with
// status 429), status or code describes the answer.
type fault struct {
	method     string // "" matches any Web API method
	left       int
	status     int           // HTTP status to answer with, no JSON
	retryAfter time.Duration // for 429
	code       string        // {"ok":false,"error":code} with HTTP 200
}

// RateLimit makes the next n calls of the Web API method ("" for any
// method) answer HTTP 429 with a Retry-After header of retryAfter rounded up
// to whole seconds, as Slack does; slack-go turns that into a
// *slack.RateLimitedError. Faults queue in the order they were added.
func (s *Server) RateLimit(method string, n int, retryAfter time.Duration) {
	s.addFault(&fault{method: method, left: n, status: 429, retryAfter: retryAfter})
}

// Fail makes the next n calls of method ("" for any) answer the HTTP status
// with a plain-text body and no JSON, as Slack's load balancers do on 5xx;
// slack-go turns that into a slack.StatusCodeError.
func (s *Server) Fail(method string, n int, status int) {
	s.addFault(&fault{method: method, left: n, status: status})
}

// FailWith makes the next n calls of method ("" for any) answer HTTP 200
// with {"ok":false,"error":code}, for errors the fake has no other way to
// produce, such as "expired_trigger_id" or "token_revoked".
func (s *Server) FailWith(method string, n int, code string) {
	s.addFault(&fault{method: method, left: n, code: code})
}

// Down makes every Web API and response_url call answer 503 and every
// Socket Mode dial be refused with 503 until Up. Live Socket Mode
// connections are dropped without a disconnect message, as in an outage.
func (s *Server) Down() {
	s.mu.Lock()
	s.down = true
	live := s.conns
	s.conns = nil
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range live {
		c.close()
	}
}

// Up ends Down. Queued faults are kept.
func (s *Server) Up() {
	s.mu.Lock()
	s.down = false
	s.mu.Unlock()
}

func (s *Server) addFault(f *fault) {
	if f.left <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// takeFaultLocked consumes one use of the first fault matching method, if
// any. The caller holds s.mu.
func (s *Server) takeFaultLocked(method string) (fault, bool) {
	for i, f := range s.faults {
		if f.method != "" && f.method != method {
			continue
		}
		f.left--
		if f.left == 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return *f, true
	}
	return fault{}, false
}

// retryAfterSeconds renders d as Slack's Retry-After: whole seconds, rounded up.
func retryAfterSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}
