package githubtest

import (
	"net/http"
	"strconv"
	"time"
)

// DefaultRateLimit is GitHub's primary rate limit for a token, per hour.
const DefaultRateLimit = 5000

// rateWindow is how long a rate-limit window lasts, as on GitHub.
const rateWindow = time.Hour

// Rate is the primary rate limit as the server keeps it: one budget for
// every credential (GitHub keeps one per token or installation).
type Rate struct {
	Limit int
	Used  int // requests counted in the current window
	// NotCounted are the requests answered 304 Not Modified, which GitHub
	// does not count against the limit.
	NotCounted int
	Reset      time.Time
}

// Rate returns the primary rate limit's state.
func (s *Server) Rate() Rate {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollRateLocked(time.Now())
	return s.rate
}

// SpendRate counts n requests against the rate limit, as another client
// of the same credentials would.
func (s *Server) SpendRate(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollRateLocked(time.Now())
	s.rate.Used = min(s.rate.Limit, s.rate.Used+n)
}

// rollRateLocked starts a new window when the last one is over.
func (s *Server) rollRateLocked(now time.Time) {
	if s.rate.Reset.IsZero() || !now.Before(s.rate.Reset) {
		s.rate.Used, s.rate.Reset = 0, now.Add(rateWindow).Truncate(time.Second)
	}
}

// metered wraps w so that the API answer it carries has GitHub's
// X-RateLimit-* headers and counts against the limit, unless it is a 304.
// With the limit spent it answers 403 as GitHub does instead, and ok is
// false.
func (s *Server) metered(w http.ResponseWriter) (mw http.ResponseWriter, ok bool) {
	s.mu.Lock()
	s.rollRateLocked(time.Now())
	spent := s.rate.Used >= s.rate.Limit
	s.mu.Unlock()
	if spent {
		s.rateHeaders(w.Header(), rateSpent)
		writeJSON(w, http.StatusForbidden, map[string]string{
			"message":           "API rate limit exceeded for user ID 1.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits",
		})
		return w, false
	}
	return &meteredWriter{ResponseWriter: w, s: s}, true
}

// rateHeaders writes the X-RateLimit-* headers of an answer with status
// code, counting it first unless it is a 304 (or the refusal of a
// spent limit).
func (s *Server) rateHeaders(h http.Header, code int) {
	s.mu.Lock()
	switch code {
	case http.StatusNotModified:
		s.rate.NotCounted++
	case rateSpent:
	default:
		s.rate.Used++
	}
	r := s.rate
	s.mu.Unlock()
	h.Set("X-RateLimit-Limit", strconv.Itoa(r.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, r.Limit-r.Used)))
	h.Set("X-RateLimit-Used", strconv.Itoa(r.Used))
	h.Set("X-RateLimit-Reset", formatUnix(r.Reset))
	h.Set("X-RateLimit-Resource", "core")
}

// rateSpent stands for the status of an answer refused for the spent
// limit, in rateHeaders.
const rateSpent = -1

// meteredWriter sets the rate-limit headers when the status is written.
type meteredWriter struct {
	http.ResponseWriter
	s    *Server
	done bool
}

func (m *meteredWriter) WriteHeader(code int) {
	if !m.done {
		m.done = true
		m.s.rateHeaders(m.Header(), code)
	}
	m.ResponseWriter.WriteHeader(code)
}

func (m *meteredWriter) Write(b []byte) (int, error) {
	if !m.done {
		m.WriteHeader(http.StatusOK)
	}
	return m.ResponseWriter.Write(b)
}
