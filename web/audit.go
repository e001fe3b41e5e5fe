package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// auditPageSize is how many records one page of /audit shows.
const auditPageSize = 50

// auditParams are the filters /audit takes, as query parameters.
var auditParams = []string{"target", "actor", "kind", "request", "since", "until", "before"}

// auditFilter is the reader's query, as typed (to fill the form back in)
// and as parsed.
type auditFilter struct {
	Target, Actor, Kind, Request, Since, Until string
	Before                                     uint64
	q                                          bot.EventQuery
}

// timeLayouts are what the since/until fields take: RFC 3339, what a
// browser's datetime-local field sends, or a day (all in UTC).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

func parseAuditFilter(v url.Values) (auditFilter, error) {
	for k := range v {
		if !slices.Contains(auditParams, k) {
			return auditFilter{}, fmt.Errorf("unknown filter %q: /audit takes %s", k, strings.Join(auditParams, ", "))
		}
	}
	f := auditFilter{
		Target: strings.TrimSpace(v.Get("target")), Actor: strings.TrimSpace(v.Get("actor")),
		Kind: v.Get("kind"), Request: strings.TrimSpace(v.Get("request")),
		Since: strings.TrimSpace(v.Get("since")), Until: strings.TrimSpace(v.Get("until")),
	}
	f.q = bot.EventQuery{Target: f.Target, Actor: cs.Actor(f.Actor), Kind: cs.EventKind(f.Kind), Request: cs.RequestID(f.Request)}
	if f.Kind != "" && !slices.Contains(cs.EventKinds(), cs.EventKind(f.Kind)) {
		return f, fmt.Errorf("kind: %q is not a kind of audit record", f.Kind)
	}
	if f.Request != "" && !requestID.MatchString(f.Request) {
		return f, fmt.Errorf("request: want an ID like R42, not %q", f.Request)
	}
	for _, p := range []struct {
		name, text string
		t          *time.Time
	}{{"since", f.Since, &f.q.Since}, {"until", f.Until, &f.q.Until}} {
		if p.text == "" {
			continue
		}
		t, ok := parseTime(p.text)
		if !ok {
			return f, fmt.Errorf("%s: want a time like 2026-12-01T10:00:00Z or a day like 2026-12-01, not %q", p.name, p.text)
		}
		*p.t = t
	}
	if b := v.Get("before"); b != "" {
		n, err := strconv.ParseUint(b, 10, 64)
		if err != nil || n == 0 {
			return f, fmt.Errorf("before: want a record number, not %q", b)
		}
		f.Before, f.q.Before = n, n
	}
	return f, nil
}

func parseTime(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// values are the filters as query parameters, without paging; since and
// until in RFC 3339, which /audit/export takes too.
func (f auditFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"target": f.Target, "actor": f.Actor, "kind": f.Kind, "request": f.Request} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !f.q.Since.IsZero() {
		v.Set("since", f.q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.q.Until.IsZero() {
		v.Set("until", f.q.Until.UTC().Format(time.RFC3339Nano))
	}
	return v
}

type auditPage struct {
	Filter  auditFilter
	Problem string
	Events  []cs.Event // newest first
	// Older links the next page; Newest the first, when paging.
	Older, Newest, Export string
	Targets               []string
	Kinds                 []cs.EventKind
	Chain                 chainView
	Anchor                string
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, who string) {
	p := auditPage{Targets: s.cfg.Source.Targets(), Kinds: cs.EventKinds(), Chain: s.chain.view()}
	f, err := parseAuditFilter(r.URL.Query())
	p.Filter = f
	if err != nil {
		p.Problem = err.Error()
		s.render(w, http.StatusBadRequest, "audit", p, who)
		return
	}
	q := f.q
	q.Limit = auditPageSize + 1 // one more says whether there is an older page
	evs, err := s.cfg.Source.Events(r.Context(), q)
	if err != nil {
		s.failed(w, r, who, err)
		return
	}
	more := len(evs) > auditPageSize
	if more {
		evs = evs[1:]
	}
	slices.Reverse(evs)
	p.Events = evs
	base := f.values()
	if more {
		older := f.values()
		older.Set("before", strconv.FormatUint(evs[len(evs)-1].Seq, 10))
		p.Older = "/audit?" + older.Encode()
	}
	if f.Before != 0 {
		p.Newest = withQuery("/audit", base)
	}
	p.Export = withQuery("/audit/export", base)
	if a, err := s.cfg.Source.Anchor(r.Context()); err == nil {
		p.Anchor = a
		s.verifyIfGrown(a)
	}
	s.render(w, http.StatusOK, "audit", p, who)
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}
