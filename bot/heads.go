package bot

import (
	"fmt"
	"strings"
	"time"
)

// HeadRead is one read of a branch head from the code host.
type HeadRead struct {
	// NotModified: the head is still the one read with the ETag sent;
	// the other fields but the rate limit's are empty.
	NotModified bool
	ETag        string // to send with the next read
	SHA         string
	Title       string // first line of the commit message
	// Author and Committer are the commit's author's and committer's
	// GitHub logins, "" where GitHub does not know them.
	Author, Committer string
	URL               string // the commit's web page
	// RateRemaining and RateResetIn are what GitHub said of its rate
	// limit: the requests left (X-RateLimit-Remaining) and how long until
	// the limit is reset (from X-RateLimit-Reset), zero when it said
	// nothing.
	RateRemaining int
	RateResetIn   time.Duration
}

// RateLimitedError is a read the code host refused for its rate limit:
// no read should be made for Wait. (A wait rather than GitHub's reset
// time, so that the bot measures it with its own clock.)
type RateLimitedError struct {
	Wait time.Duration
	Err  error
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limited for %s: %v", e.Wait.Round(time.Second), e.Err)
}

func (e *RateLimitedError) Unwrap() error { return e.Err }

// BranchHead is what the bot keeps about one followed branch: the head
// it last read (with the ETag that makes the next read conditional) and,
// for each service that follows the branch, the head it last took.
type BranchHead struct {
	Repo   string `json:"repo"` // owner/name as the config spells it
	Branch string `json:"branch"`
	SHA    string `json:"sha,omitempty"` // the head at the last read; "" before any
	ETag   string `json:"etag,omitempty"`
	// Services maps a service's name to the head it last took. A service
	// missing from it has not been read for yet: its first read is only a
	// baseline.
	Services map[string]HeadTaken `json:"services,omitempty"`
}

// HeadTaken is the head a service last took, by a push or a read.
type HeadTaken struct {
	SHA string `json:"sha"`
	// Gen counts the pushes taken, Seen is Gen as the last read found it.
	// A read that finds Gen moved on (a push was taken meanwhile, maybe
	// while the read was on its way) acts only on the next read, so that
	// a read that raced a push, or a GitHub replica lagging behind one,
	// never puts an older commit over the newer push.
	Gen  uint64 `json:"gen"`
	Seen uint64 `json:"seen"`
}

// HeadKey is how a branch is named in the store: the repository in lower
// case (GitHub compares it ignoring case), NUL, the branch.
func HeadKey(repo, branch string) string {
	return strings.ToLower(repo) + "\x00" + branch
}

// taken returns the head service last took, ok false when none yet.
func (h BranchHead) taken(service string) (HeadTaken, bool) {
	t, ok := h.Services[service]
	return t, ok
}

// only returns h without the entries of services not in names (h's map
// is not changed), and whether there were any: a service no longer
// followed that is followed again later starts with a baseline.
func (h BranchHead) only(names map[string]bool) (BranchHead, bool) {
	m := make(map[string]HeadTaken, len(h.Services))
	for k, v := range h.Services {
		if names[k] {
			m[k] = v
		}
	}
	dropped := len(m) != len(h.Services)
	h.Services = m
	return h, dropped
}

// with returns h with service's entry set to t (h's map is not changed).
func (h BranchHead) with(service string, t HeadTaken) BranchHead {
	m := make(map[string]HeadTaken, len(h.Services)+1)
	for k, v := range h.Services {
		m[k] = v
	}
	m[service] = t
	h.Services = m
	return h
}
