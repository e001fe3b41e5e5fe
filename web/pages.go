package web

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net/http"
	"regexp"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// page is what every page template gets: the frame and one page's data.
type page struct {
	Title   string
	Nav     string // "overview", "audit" or ""
	Who     string // signed in as; "" on the login page
	Refresh int    // seconds between live reloads; 0: none
	Now     time.Time
	Data    any
}

// render writes page name with data; a template failure is a 500 and is
// logged, never a half-written page.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any, who string) {
	t, ok := s.pages.byName[name]
	if !ok {
		panic("web: no page " + name)
	}
	p := page{Title: s.pages.titles[name], Nav: name, Who: who, Now: s.cfg.Now(), Data: data}
	if who != "" && status == http.StatusOK {
		p.Refresh = int(s.cfg.Refresh / time.Second)
	}
	if d, ok := data.(titled); ok {
		p.Title = d.title()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered (see the bot's log)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// titled data names its own page title.
type titled interface{ title() string }

// problem answers with a page that says what is wrong.
func (s *Server) problem(w http.ResponseWriter, status int, who, text string) {
	s.render(w, status, "problem", problemPage{Status: status, Text: text}, who)
}

type problemPage struct {
	Status int
	Text   string
}

func (p problemPage) title() string { return http.StatusText(p.Status) }

// Heading is the status in words, e.g. "Not Found".
func (p problemPage) Heading() string { return http.StatusText(p.Status) }

// failed answers a read that failed: the log gets the whole error.
func (s *Server) failed(w http.ResponseWriter, r *http.Request, who string, err error) {
	if errors.Is(err, context.Canceled) {
		return // the reader went away
	}
	s.log.Error("web page", "path", r.URL.Path, "err", err)
	s.problem(w, http.StatusInternalServerError, who, "The bot's database could not be read; the bot's log has the details.")
}

// serviceRow is one service on the overview: the fields of
// bot.ServiceView the page shows, copied rather than embedded, because
// the template looks a promoted field up by a slow search on every use,
// and the overview of a large estate makes thousands of those.
type serviceRow struct {
	Name, Kind, Where, Place string
	Running, Last            *cs.Deployment
	Lock                     *cs.Lock
	Open                     []bot.RequestView
	Drift                    *bot.DriftView
	Live                     *liveEntry
	// commitLink is what the page's commitURL gives for Running's
	// commit: the row shows it, so a cached row must be keyed by it too.
	commitLink string
}

type overviewPage struct {
	Services     []template.HTML // rendered by rowCache
	Zones        []bot.ZoneView
	DNSDrift     []bot.DriftView
	Chain        chainView
	SetAside     int
	LastSetAside time.Time
	// Proposal is a config that loosens the rules and waits, if any.
	Proposal *bot.ProposalView
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, who string) {
	o, err := s.cfg.Source.Overview(r.Context())
	if err != nil {
		s.failed(w, r, who, err)
		return
	}
	names := make([]string, len(o.Services))
	for i, v := range o.Services {
		names[i] = v.Name
	}
	live := s.liveStatus(r.Context(), names)
	p := overviewPage{Zones: o.Zones, DNSDrift: o.DNSDrift, Chain: s.chain.view(), SetAside: o.SetAside, LastSetAside: o.LastSetAside}
	rv, err := s.cfg.Source.RulesView(r.Context())
	if err != nil {
		s.failed(w, r, who, err)
		return
	}
	p.Proposal = rv.Pending
	rows := make([]serviceRow, len(o.Services))
	for i, v := range o.Services {
		rows[i] = serviceRow{Name: v.Name, Kind: v.Kind, Where: v.Where, Place: v.Place,
			Running: v.Running, Last: v.Last, Lock: v.Lock, Open: v.Open, Drift: v.Drift}
		if e, ok := live[v.Name]; ok {
			e.at = time.Time{} // when it was read does not show
			rows[i].Live = &e
		}
		if v.Running != nil && v.Running.Commit != "" {
			rows[i].commitLink = s.cfg.Source.CommitURL(v.Running.Target, v.Running.Commit)
		}
	}
	if p.Services, err = s.rows.render(s.pages.byName["overview"], rows); err != nil {
		s.log.Error("render page", "page", "overview", "err", err)
		http.Error(w, "the page could not be rendered (see the bot's log)", http.StatusInternalServerError)
		return
	}
	s.render(w, http.StatusOK, "overview", p, who)
}

var requestID = regexp.MustCompile(`^R[1-9][0-9]{0,18}$`)

type requestPage struct {
	bot.RequestView
	Events    []cs.Event
	ThreadURL string
	// Queued: the request's message has not reached the chat yet.
	Queued bool
}

func (p requestPage) title() string { return string(p.ID) + " · " + p.Change }

func (s *Server) request(w http.ResponseWriter, r *http.Request, who string) {
	id := r.PathValue("id")
	if !requestID.MatchString(id) {
		s.problem(w, http.StatusNotFound, who, "There is no request "+id+": request IDs are R followed by a number, like R42.")
		return
	}
	v, evs, err := s.cfg.Source.RequestDetail(r.Context(), cs.RequestID(id))
	if errors.Is(err, cs.ErrNotFound) {
		s.problem(w, http.StatusNotFound, who, "There is no request "+id+" (yet).")
		return
	}
	if err != nil {
		s.failed(w, r, who, err)
		return
	}
	p := requestPage{RequestView: v, Events: evs}
	if ref, ok := s.cfg.Source.Thread(r.Context(), v.Request); ok && s.cfg.ThreadURL != nil {
		p.ThreadURL = s.cfg.ThreadURL(ref)
	} else if !ok && v.Message != (cs.MessageRef{}) {
		p.Queued = true
	}
	s.render(w, http.StatusOK, "request", p, who)
}

type servicePage struct {
	bot.ServiceHistory
	Live *liveEntry
}

func (p servicePage) title() string { return p.Name }

func (s *Server) service(w http.ResponseWriter, r *http.Request, who string) {
	name := r.PathValue("name")
	h, err := s.cfg.Source.ServiceHistory(r.Context(), name)
	if errors.Is(err, cs.ErrUnknownService) {
		s.problem(w, http.StatusNotFound, who, "There is no service "+name+" in the bot's config.")
		return
	}
	if err != nil {
		s.failed(w, r, who, err)
		return
	}
	p := servicePage{ServiceHistory: h}
	if e, ok := s.liveStatus(r.Context(), []string{name})[name]; ok {
		p.Live = &e
	}
	s.render(w, http.StatusOK, "service", p, who)
}

func (s *Server) policies(w http.ResponseWriter, r *http.Request, who string) {
	v, err := s.cfg.Source.RulesView(r.Context())
	if err != nil {
		s.failed(w, r, who, err)
		return
	}
	s.render(w, http.StatusOK, "policies", v, who)
}
