package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/policies"
)

// The read-only views below are what the web pages show. They read the
// store in one snapshot each and never write.

// ErrNoLiveStatus is returned by LiveStatus for a service whose executor
// cannot say what runs now (dry-run ones, for instance).
var ErrNoLiveStatus = errors.New("this executor cannot say what runs now")

// ServiceView is one service: what the bot last deployed, its lock and
// its open requests.
type ServiceView struct {
	Name, Kind, Repo, Branch, Channel string
	// Where and Place say where it runs ("engine"/"host", and its name).
	Where, Place string
	// Running is the newest successful deployment, Last the newest of any
	// outcome (when it failed, it is not what runs).
	Running, Last *cs.Deployment
	Lock          *cs.Lock
	Open          []RequestView
	// Drift is what the last drift check found (nil: not checked).
	Drift *DriftView
}

// ZoneView is one DNS zone with its lock and open requests.
type ZoneView struct {
	Name string // without the trailing dot
	Lock *cs.Lock
	Open []RequestView
}

// RequestView is a request with what a reader needs beside it.
type RequestView struct {
	cs.Request
	// Change says in a line what it changes; Status is its state in
	// words; Progress its approvals ("1 of 2 approvals: ops 1/1 (@U1), …").
	Change, Status, Progress string
	// Outcome is cs.Request.Outcome as plain text.
	Outcome string
	// Zone is the DNS zone of a dns request.
	Zone string
}

// Overview is every service and zone.
type Overview struct {
	Services []ServiceView
	Zones    []ZoneView
	// SetAside is how many chat messages and code host reports the
	// outbox gave up on (see Aside).
	SetAside     int
	LastSetAside time.Time
	// DNSDrift lists the DNS records that drifted or could not be read.
	DNSDrift []DriftView
}

// Overview reads every service and zone, in config order.
func (b *Bot) Overview(ctx context.Context) (Overview, error) {
	var o Overview
	err := b.store.View(ctx, func(tx ReadTx) error {
		open, err := tx.OpenRequests("")
		if err != nil {
			return err
		}
		for _, s := range b.rules().Services {
			v, err := b.serviceView(tx, s, open)
			if err != nil {
				return err
			}
			o.Services = append(o.Services, v)
		}
		if o.SetAside, o.LastSetAside, err = tx.AsideSummary(); err != nil {
			return err
		}
		for _, z := range b.rules().Zones {
			v := ZoneView{Name: strings.TrimSuffix(z.Name, ".")}
			if v.Lock, err = lockOf(tx, v.Name); err != nil {
				return err
			}
			for _, r := range open {
				if rv := b.requestView(r); rv.Zone == v.Name {
					v.Open = append(v.Open, rv)
				}
			}
			o.Zones = append(o.Zones, v)
		}
		return nil
	})
	if err != nil {
		return Overview{}, fmt.Errorf("read the overview: %w", err)
	}
	o.DNSDrift = b.dnsDrift()
	return o, nil
}

func (b *Bot) serviceView(tx ReadTx, s Service, open []cs.Request) (ServiceView, error) {
	v := ServiceView{Name: s.Name, Kind: string(s.Kind), Repo: s.Repo, Branch: s.Branch, Channel: s.Channel, Where: s.Where, Place: s.Place}
	v.Drift = b.driftOf(s.Name)
	var err error
	if v.Last, v.Running, err = lastAndRunning(tx, s.Name); err != nil {
		return v, err
	}
	if v.Lock, err = lockOf(tx, s.Name); err != nil {
		return v, err
	}
	for _, r := range open {
		if r.Action.Target == s.Name {
			v.Open = append(v.Open, b.requestView(r))
		}
	}
	return v, nil
}

// lastAndRunning are target's newest deployment and its newest
// successful one.
func lastAndRunning(tx ReadTx, target string) (last, running *cs.Deployment, err error) {
	return newestWhere(tx, target, func(d cs.Deployment) bool { return d.Succeeded })
}

// newestWhere returns target's newest deployment and its newest for which
// match holds (nil if none). It reads newest first and only as far back
// as that one, reading twice as many each time it has to go on: the
// overview and the drift sweeps must not decode every service's whole
// history.
func newestWhere(tx ReadTx, target string, match func(cs.Deployment) bool) (last, found *cs.Deployment, err error) {
	for limit := 1; ; limit *= 2 {
		hist, err := tx.Deployments(target, limit)
		if err != nil {
			return nil, nil, err
		}
		if len(hist) > 0 {
			last = &hist[0]
		}
		for i := range hist {
			if match(hist[i]) {
				return last, &hist[i], nil
			}
		}
		if len(hist) < limit {
			return last, nil, nil // the whole history, and no match
		}
	}
}

func lockOf(tx ReadTx, target string) (*cs.Lock, error) {
	l, ok, err := tx.Lock(target)
	if err != nil || !ok {
		return nil, err
	}
	return &l, nil
}

func (b *Bot) requestView(r cs.Request) RequestView {
	v := RequestView{Request: r, Change: PlainText(describeChange(r.Action)), Status: stateLabel(r), Outcome: PlainText(Markup(r.Outcome))}
	if r.Decision.Verdict == cs.VerdictNeedsApproval {
		v.Progress = policies.Progress(r.Decision, r.Approvals)
	}
	if r.Action.Kind == cs.ActionDNS {
		if z, ok := b.zoneFor(r.Action.Target); ok {
			v.Zone = strings.TrimSuffix(z.Name, ".")
		}
	}
	return v
}

// LiveStatus asks the service's executor what runs now. It returns
// ErrNoLiveStatus when the executor cannot tell, and an error wrapping
// cs.ErrUnknownService for a name that is not configured.
func (b *Bot) LiveStatus(ctx context.Context, service string) (string, error) {
	s, ok := b.service(service)
	if !ok {
		return "", fmt.Errorf("%w %q", cs.ErrUnknownService, service)
	}
	st, ok := s.Executor.(Statuser)
	if !ok {
		return "", ErrNoLiveStatus
	}
	return st.Status(ctx, service)
}

// RequestDetail returns one request and its whole audit trail, oldest
// first. An unknown ID gives an error wrapping cs.ErrNotFound.
func (b *Bot) RequestDetail(ctx context.Context, id cs.RequestID) (RequestView, []cs.Event, error) {
	var r cs.Request
	var evs []cs.Event
	err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		if r, err = tx.Request(id); err != nil {
			return err
		}
		evs, err = tx.Events(EventQuery{Request: id})
		return err
	})
	if err != nil {
		return RequestView{}, nil, fmt.Errorf("read request %s: %w", id, err)
	}
	return b.requestView(r), evs, nil
}

// ServiceHistory is a service with its whole deployment history, newest
// first, and what `rollback NAME` would go back to now.
type ServiceHistory struct {
	ServiceView
	History []cs.Deployment
	// Rollback is the pick of a rollback without a named deployment;
	// RollbackErr says why there is none.
	Rollback    RollbackPick
	RollbackErr error
}

// ServiceHistory reads one service. An unknown name gives an error
// wrapping cs.ErrUnknownService.
func (b *Bot) ServiceHistory(ctx context.Context, name string) (ServiceHistory, error) {
	s, err := b.lookupService(name)
	if err != nil {
		return ServiceHistory{}, err
	}
	var h ServiceHistory
	err = b.store.View(ctx, func(tx ReadTx) error {
		open, err := tx.OpenRequests(name)
		if err != nil {
			return err
		}
		if h.ServiceView, err = b.serviceView(tx, s, open); err != nil {
			return err
		}
		h.History, err = tx.Deployments(name, 0)
		return err
	})
	if err != nil {
		return ServiceHistory{}, fmt.Errorf("read the history of %s: %w", name, err)
	}
	h.Rollback, h.RollbackErr = pickRollback(name, h.History, "")
	return h, nil
}

// Events returns the audit records matching q, oldest first.
func (b *Bot) Events(ctx context.Context, q EventQuery) ([]cs.Event, error) {
	var evs []cs.Event
	err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		evs, err = tx.Events(q)
		return err
	})
	return evs, err
}

// Targets lists the configured services and zones (zones without the
// trailing dot), sorted: what the audit filters offer.
func (b *Bot) Targets() []string {
	var out []string
	for _, s := range b.rules().Services {
		out = append(out, s.Name)
	}
	for _, z := range b.rules().Zones {
		out = append(out, strings.TrimSuffix(z.Name, "."))
	}
	sort.Strings(out)
	return out
}

// CommitURL is the web address of a commit of the service's repository,
// or "" when the service has none.
func (b *Bot) CommitURL(service, sha string) string {
	s, _ := b.service(service)
	return b.commitURL(s.Repo, sha)
}

// Thread returns where the chat put the request's thread (ok false while
// its message is still queued or was never posted).
func (b *Bot) Thread(ctx context.Context, r cs.Request) (cs.MessageRef, bool) {
	ref := r.Thread
	if ref == (cs.MessageRef{}) {
		ref = r.Message
	}
	if ref == (cs.MessageRef{}) {
		return cs.MessageRef{}, false
	}
	return b.MessageLink(ctx, ref)
}
