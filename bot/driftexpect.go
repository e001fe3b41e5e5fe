package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
)

// What the bot approved and carried out, for drift checks: for a service,
// the image of its newest successful deployment (deploy, rollback,
// adopt) and the replicas of its newest successful scale or adopt; for
// DNS, the RRset each successful dns change left. All of it is in the
// store; the replicas and DNS parts are kept in memory (loaded once from
// the audit trail, then told of each change), as the trail has no index
// by kind and a sweep must not read it all.

// dnsExpect is an RRset as the bot's last change of it left it.
type dnsExpect struct {
	Name, Type string
	Records    []cs.Record
	Channel    string // where its request was made, for the drift message
}

// replicasExpect is the replica count a scale or adopt left, and when.
type replicasExpect struct {
	n  int // 0: not known (an adopt of a global service)
	at time.Time
}

func dnsKey(name, typ string) string { return strings.ToLower(name) + " " + strings.ToUpper(typ) }

// loadDrift reads, once, what the bot set in DNS and what drift it has
// reported, from the audit trail.
func (b *Bot) loadDrift(ctx context.Context) error {
	b.drift.mu.Lock()
	loaded := b.drift.loaded
	b.drift.mu.Unlock()
	if loaded {
		return nil
	}
	dns := map[string]dnsExpect{}
	replicas := map[string]replicasExpect{}
	views := map[string]*DriftView{}
	err := b.store.View(ctx, func(tx ReadTx) error {
		done, err := tx.Events(EventQuery{Kind: cs.EventExecutionSucceeded})
		if err != nil {
			return err
		}
		for _, e := range done {
			if e.Action != cs.ActionDNS && e.Action != cs.ActionScale && e.Action != cs.ActionAdopt {
				continue
			}
			r, err := tx.Request(e.Request)
			if err != nil {
				return err
			}
			if x, ok := dnsExpectOf(r); ok {
				dns[dnsKey(x.Name, x.Type)] = x
			}
			if x, ok := replicasExpectOf(r, e.Time); ok {
				replicas[r.Action.Target] = x
			}
		}
		detected, err := tx.Events(EventQuery{Kind: cs.EventDriftDetected})
		if err != nil {
			return err
		}
		cleared, err := tx.Events(EventQuery{Kind: cs.EventDriftCleared})
		if err != nil {
			return err
		}
		all := append(detected, cleared...)
		slices.SortFunc(all, func(a, b cs.Event) int { return int(a.Seq) - int(b.Seq) })
		for _, e := range all {
			var d struct {
				Expected, Found, RRset string
				LastMatched            string `json:"last_matched"`
			}
			if json.Unmarshal(e.Detail, &d) != nil {
				continue
			}
			key := e.Target
			if d.RRset != "" {
				key = d.RRset
			}
			v := &DriftView{Target: key, Expected: d.Expected, Found: d.Found}
			if e.Kind == cs.EventDriftDetected {
				v.Drifted, v.Since = true, e.Time
				v.LastMatched, _ = time.Parse(cs.TimeLayout, d.LastMatched)
			} else {
				v.LastMatched = e.Time
			}
			views[key] = v
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read what drift was reported: %w", err)
	}
	b.setLoadedDrift(dns, replicas, views)
	return nil
}

// setLoadedDrift keeps what loadDrift read from the store.
func (b *Bot) setLoadedDrift(dns map[string]dnsExpect, replicas map[string]replicasExpect, views map[string]*DriftView) {
	b.drift.mu.Lock()
	defer b.drift.mu.Unlock()
	if b.drift.dns == nil {
		b.drift.dns = map[string]dnsExpect{}
	}
	if b.drift.replicas == nil {
		b.drift.replicas = map[string]replicasExpect{}
	}
	// What driftCarriedOut recorded meanwhile is newer.
	for k, x := range dns {
		if _, ok := b.drift.dns[k]; !ok {
			b.drift.dns[k] = x
		}
	}
	for k, x := range replicas {
		if _, ok := b.drift.replicas[k]; !ok {
			b.drift.replicas[k] = x
		}
	}
	b.drift.views = views
	b.drift.loaded = true
}

// dnsExpectOf is the RRset a successful dns request left.
func dnsExpectOf(r cs.Request) (dnsExpect, bool) {
	if r.DryRun || r.Action.Kind != cs.ActionDNS || r.Action.DNS == nil {
		return dnsExpect{}, false
	}
	c := r.Action.DNS
	return dnsExpect{Name: c.Name, Type: c.Type, Records: c.Proposed, Channel: r.Message.Channel}, true
}

// replicasExpectOf is the replica count a successful scale or adopt left.
func replicasExpectOf(r cs.Request, at time.Time) (replicasExpect, bool) {
	if r.DryRun || r.Action.Kind != cs.ActionScale && r.Action.Kind != cs.ActionAdopt {
		return replicasExpect{}, false
	}
	return replicasExpect{n: r.Action.Replicas, at: at}, true
}

// driftCarriedOut tells drift detection of a request that succeeded.
func (b *Bot) driftCarriedOut(r cs.Request) {
	b.drift.mu.Lock()
	defer b.drift.mu.Unlock()
	if b.drift.done == nil {
		b.drift.done = map[string]int{}
	}
	b.drift.done[r.Action.Target]++
	if x, ok := dnsExpectOf(r); ok {
		if b.drift.dns == nil {
			b.drift.dns = map[string]dnsExpect{}
		}
		b.drift.dns[dnsKey(x.Name, x.Type)] = x
	}
	if x, ok := replicasExpectOf(r, b.now()); ok {
		if b.drift.replicas == nil {
			b.drift.replicas = map[string]replicasExpect{}
		}
		b.drift.replicas[r.Action.Target] = x
	}
}

// serviceExpect is what the bot last carried out on a service.
type serviceExpect struct {
	Service
	image    string
	replicas int       // 0: no scale carried out
	at       time.Time // when the newest of them finished
}

func (x serviceExpect) String() string {
	s := "image " + x.image
	if x.image == "" {
		s = "no image recorded"
	}
	if x.replicas > 0 {
		s += fmt.Sprintf(", %d replicas", x.replicas)
	}
	return s
}

// serviceExpects reads what the bot last carried out on each service
// (only the one named, when only is set), skipping those it never did.
func (b *Bot) serviceExpects(tx ReadTx, only string) ([]serviceExpect, error) {
	var out []serviceExpect
	for _, s := range b.rules().Services {
		if only != "" && s.Name != only {
			continue
		}
		x := serviceExpect{Service: s}
		_, d, err := newestWhere(tx, s.Name, func(d cs.Deployment) bool { return d.Succeeded && !d.DryRun })
		if err != nil {
			return nil, err
		}
		if d != nil {
			x.image, x.at = d.Image, d.Finished
		}
		b.drift.mu.Lock()
		rx, ok := b.drift.replicas[s.Name]
		b.drift.mu.Unlock()
		if ok {
			x.replicas = rx.n
			if rx.at.After(x.at) {
				x.at = rx.at
			}
		}
		if x.image != "" || x.replicas > 0 {
			out = append(out, x)
		}
	}
	return out, nil
}

// driftChecks reads what runs at every target with an approved state and
// compares.
func (b *Bot) driftChecks(ctx context.Context, only string) ([]check, error) {
	var expects []serviceExpect
	if err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		expects, err = b.serviceExpects(tx, only)
		return err
	}); err != nil {
		return nil, fmt.Errorf("read the approved state: %w", err)
	}
	// Targets the bot is changing are not read: see driftBusy.
	before := map[string]int{}
	var idle []serviceExpect
	for _, x := range expects {
		if busy, done := b.driftBusy(x.Name); !busy {
			before[x.Name] = done
			idle = append(idle, x)
		}
	}
	expects = idle
	live := b.sweepLive(ctx, expects)
	var checks []check
	for _, x := range expects {
		if busy, done := b.driftBusy(x.Name); busy || done != before[x.Name] {
			continue // changed by the bot while read: next time
		}
		c := check{key: x.Name, target: x.Name, service: true, channel: x.Channel, expected: x.String()}
		l, ok := live[x.Name]
		switch {
		case !ok:
			c.unknown = "this executor cannot read what runs (a dry run?)"
		case l.Unknown != "":
			c.unknown = l.Unknown
		default:
			c.found = foundText(x, l)
		}
		checks = append(checks, c)
	}
	if only == "" {
		checks = append(checks, b.dnsChecks(ctx)...)
	}
	return checks, nil
}

// sweepLive reads what runs of the services of expects whose executor
// can say (an Observer): one read per outside system (Sweeper).
func (b *Bot) sweepLive(ctx context.Context, expects []serviceExpect) map[string]Live {
	groups := map[Sweeper][]string{}
	var order []Sweeper
	for _, x := range expects {
		o, ok := x.Executor.(Observer)
		if !ok {
			continue
		}
		sw := o.Sweeper()
		if _, seen := groups[sw]; !seen {
			order = append(order, sw)
		}
		groups[sw] = append(groups[sw], x.Name)
	}
	live := map[string]Live{}
	for _, sw := range order {
		got, err := sw.Sweep(ctx, groups[sw])
		for _, name := range groups[sw] {
			l, ok := got[name]
			switch {
			case err != nil:
				b.log.Warn("drift: could not read", "services", groups[sw], "err", err)
				l = Live{Unknown: "could not read: " + Brief(err)}
			case !ok:
				l = Live{Unknown: "the reader said nothing about it"}
			}
			live[name] = l
		}
	}
	return live
}

// foundText says what runs in the words of x.String, so that the two are
// equal exactly when nothing drifted.
func foundText(x serviceExpect, l Live) string {
	f := serviceExpect{image: l.Image, replicas: l.Replicas}
	switch {
	case l.Image == "" && l.Hash != "":
		f.image = "sha256 " + l.Hash + " (a binary Countersign did not deploy)"
	case l.Image == "":
		f.image = "(nothing runs)"
	case sameDigest(l.Image, x.image):
		f.image = x.image
	}
	if x.replicas <= 0 || l.Replicas < 0 {
		f.replicas = x.replicas // nothing to compare
	}
	s := f.String()
	if !l.Updated.IsZero() && !x.at.IsZero() && l.Updated.After(x.at.Add(driftGrace)) {
		s += "; its spec was changed outside the bot at " + fmtTime(l.Updated)
	}
	return s
}

// sameDigest reports whether two image references name the same digest
// (the repository may be written differently, "docker.io/library/…").
func sameDigest(a, b string) bool {
	_, da, okA := strings.Cut(a, "@")
	_, db, okB := strings.Cut(b, "@")
	if !okA || !okB {
		return a == b
	}
	return da == db
}

// dnsChecks reads every RRset the bot has set from its zone's primary.
func (b *Bot) dnsChecks(ctx context.Context) []check {
	b.drift.mu.Lock()
	xs := make([]dnsExpect, 0, len(b.drift.dns))
	for _, x := range b.drift.dns {
		xs = append(xs, x)
	}
	b.drift.mu.Unlock()
	slices.SortFunc(xs, func(a, b dnsExpect) int { return strings.Compare(dnsKey(a.Name, a.Type), dnsKey(b.Name, b.Type)) })
	var out []check
	for _, x := range xs {
		c := check{key: dnsKey(x.Name, x.Type), target: strings.TrimSuffix(strings.ToLower(x.Name), "."), channel: x.Channel,
			expected: rrsetText(x.Records)}
		z, ok := b.zoneFor(x.Name)
		sh, canShow := z.Executor.(Shower)
		busy, done := b.driftBusy(x.Name)
		if busy {
			continue
		}
		switch {
		case !ok:
			c.unknown = "its zone is no longer configured"
		case !canShow:
			c.unknown = "this zone's executor cannot read records (a dry run?)"
		default:
			recs, err := sh.Show(ctx, x.Name, x.Type)
			if err != nil {
				b.log.Warn("drift: could not read records", "name", x.Name, "type", x.Type, "err", err)
				c.unknown = "could not read: " + Brief(err)
			} else {
				c.found = rrsetText(recs)
			}
		}
		if busy, after := b.driftBusy(x.Name); busy || after != done {
			continue // changed by the bot while read: next time
		}
		out = append(out, c)
	}
	return out
}

// rrsetText is an RRset in words, sorted: "A 192.0.2.1 ttl 300, …".
func rrsetText(recs []cs.Record) string {
	if len(recs) == 0 {
		return "no records"
	}
	parts := make([]string, len(recs))
	for i, r := range recs {
		parts[i] = fmt.Sprintf("%s %s ttl %d", strings.ToUpper(r.Type), r.Value, r.TTL)
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
