package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	cs "github.com/countersign/countersign"
)

// Drift detection: every Config.DriftInterval, at start and on `status
// SERVICE`, the bot reads what runs at each target and compares it with
// what it last approved and carried out (driftexpect.go). A difference is
// audited once as drift.detected and posted once in the service's
// channel; it is reported again only when what is found changes, and
// drift.cleared is audited when the target matches again. What was
// reported is the audit trail's: a restart reads it back and does not
// report the same drift twice.

// Live is what runs now at a target, as a drift sweep reads it.
type Live struct {
	// Image is what runs: "repo@sha256:…" for a Swarm service; for a
	// unikernel, the image the host's index names for the running binary
	// ("" when the index names none).
	Image string
	// Hash is the running unikernel binary's SHA-256 (hex); "" for Swarm.
	Hash string
	// Replicas is the desired replica count; -1 when the target has none
	// (a global service, a unikernel).
	Replicas int
	// Updated is when the outside system last changed the target's spec
	// (Swarm's UpdatedAt); zero when it cannot say.
	Updated time.Time
	// Unknown, when set, says why the target could not be read: that is
	// not drift.
	Unknown string
}

// Sweeper reads what runs at many targets of one outside system at once
// (one Docker engine: one ServiceList call).
type Sweeper interface {
	// Sweep returns what runs at each of targets (the bot's service
	// names), by name. A target it could not read has Live.Unknown set;
	// an error means it could read none of them.
	Sweep(ctx context.Context, targets []string) (map[string]Live, error)
}

// Observer is implemented by executors whose target a drift sweep can read.
type Observer interface {
	// Sweeper returns what reads the target. Executors of one outside
	// system return the same, comparable Sweeper, so that a sweep reads
	// that system once for all of them.
	Sweeper() Sweeper
}

// DriftView is the drift state of one target, as `status`, the web pages
// and the metrics show it.
type DriftView struct {
	Target string // service name, or DNS name with its type ("www.example.org. A")
	// Expected is what the bot last approved and carried out, Found what
	// runs; both in words.
	Expected, Found string
	// Drifted says Found is not Expected.
	Drifted bool
	// Since is when this Found was first detected (zero unless Drifted).
	Since time.Time
	// LastMatched is when the target was last seen matching (zero: not
	// since the approved state was carried out, as far as the bot knows).
	LastMatched time.Time
	// Unknown says why the last read failed; the state before it stands.
	Unknown string
	// Checked is when the target was last read.
	Checked time.Time
}

// driftGrace is how long after the bot's own change the outside system
// may still record a change of the spec (the end of a rolling update, a
// clock a little off) without that counting as someone else's change.
const driftGrace = time.Minute

// driftState is the bot's memory of drift, loaded from the audit trail on
// the first sweep.
type driftState struct {
	sweep  sync.Mutex // one sweep at a time
	mu     sync.Mutex // guards the fields below
	loaded bool
	views  map[string]*DriftView
	// dns is what the bot set in DNS, by "NAME TYPE"; replicas what it
	// last scaled (or adopted) each service to (driftexpect.go).
	dns      map[string]dnsExpect
	replicas map[string]replicasExpect
	// done counts the bot's finished changes per target, so that a sweep
	// can tell that one ran while it read (driftBusy).
	done map[string]int
}

// Drift returns the drift state of every target that has been read, by
// target. The map is the caller's.
func (b *Bot) Drift() map[string]DriftView {
	b.drift.mu.Lock()
	defer b.drift.mu.Unlock()
	out := make(map[string]DriftView, len(b.drift.views))
	for k, v := range b.drift.views {
		out[k] = *v
	}
	return out
}

// driftOf returns the drift state of target, or nil when it was not read.
func (b *Bot) driftOf(target string) *DriftView {
	b.drift.mu.Lock()
	defer b.drift.mu.Unlock()
	if v, ok := b.drift.views[target]; ok {
		c := *v
		return &c
	}
	return nil
}

// driftLoop sweeps at start and every DriftInterval until the bot closes.
func (b *Bot) driftLoop() {
	t := time.NewTicker(b.cfg.DriftInterval)
	defer t.Stop()
	for {
		if err := b.SweepDrift(b.ctx, ""); err != nil && b.ctx.Err() == nil {
			b.log.Warn("drift sweep", "err", err)
		}
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check is one target's comparison in a sweep.
type check struct {
	key      string // the DriftView's Target: a service, or "NAME TYPE"
	target   string // the audit record's: the service or the DNS name
	service  bool   // a service, which `adopt` can take as it runs
	channel  string
	expected string
	found    string // "" when unknown
	unknown  string
}

// SweepDrift reads every target the bot has carried out something on
// (only the service named, when only is set; then no DNS name) and
// records what changed: drift.detected and a message for a new or
// changed difference, drift.cleared for a target that matches again.
// It returns an error when the store cannot be read or written; targets
// that cannot be read are "unknown", not errors.
func (b *Bot) SweepDrift(ctx context.Context, only string) error {
	b.drift.sweep.Lock()
	defer b.drift.sweep.Unlock()
	if err := b.loadDrift(ctx); err != nil {
		return err
	}
	checks, err := b.driftChecks(ctx, only)
	if err != nil {
		return err
	}
	return b.recordDrift(ctx, checks)
}

// recordDrift audits and posts what changed since the last sweep, in one
// transaction, then updates the bot's memory.
func (b *Bot) recordDrift(ctx context.Context, checks []check) error {
	now := b.now()
	b.drift.mu.Lock()
	next := make(map[string]DriftView, len(checks))
	for _, c := range checks {
		v := DriftView{Target: c.key}
		if old, ok := b.drift.views[c.key]; ok {
			v = *old
		}
		next[c.key] = v
	}
	b.drift.mu.Unlock()

	var changes []driftChange
	for _, c := range checks {
		v := next[c.key]
		if ch, ok := b.driftChanged(c, &v, now); ok {
			changes = append(changes, ch)
		}
		next[c.key] = v
	}
	if len(changes) > 0 {
		err := b.update(ctx, func(u *update) error {
			for _, ch := range changes {
				if _, err := u.Append(ch.ev); err != nil {
					return err
				}
				if ch.msg != nil {
					if _, err := u.queue(Outgoing{Op: OpPost, Message: *ch.msg, Queued: now}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			// Not remembered either: the next sweep reports it again.
			return fmt.Errorf("record drift: %w", err)
		}
	}
	b.drift.mu.Lock()
	for k, v := range next {
		b.drift.views[k] = &v
	}
	b.drift.mu.Unlock()
	return nil
}

// driftChange is a drift found or cleared: its audit event, and what the
// service's channel is told.
type driftChange struct {
	ev  cs.Event
	msg *Message
}

// driftChanged updates view v with check c, made at now, and returns the
// change to record if c found drift or found it cleared.
func (b *Bot) driftChanged(c check, v *DriftView, now time.Time) (ch driftChange, changed bool) {
	v.Checked, v.Unknown = now, c.unknown
	if c.unknown != "" {
		return ch, false
	}
	drifted := c.found != c.expected
	switch {
	case drifted && (!v.Drifted || v.Found != c.found || v.Expected != c.expected):
		v.Drifted, v.Since = true, now
		detail := map[string]any{"expected": c.expected, "found": c.found}
		if !c.service {
			detail["rrset"] = c.key
		}
		if !v.LastMatched.IsZero() {
			detail["last_matched"] = v.LastMatched.UTC().Format(cs.TimeLayout)
		}
		ch, changed = driftChange{ev: b.driftEvent(cs.EventDriftDetected, c.target, detail)}, true
		if c.channel != "" {
			ch.msg = &Message{Channel: c.channel, Text: driftText(c, v.LastMatched)}
		}
	case !drifted && v.Drifted:
		v.Drifted, v.Since = false, time.Time{}
		detail := map[string]any{"expected": c.expected, "found": c.found, "was": v.Found}
		if !c.service {
			detail["rrset"] = c.key
		}
		ch, changed = driftChange{ev: b.driftEvent(cs.EventDriftCleared, c.target, detail)}, true
	}
	if !drifted {
		v.LastMatched = now
	}
	v.Expected, v.Found = c.expected, c.found
	return ch, changed
}

func (b *Bot) driftEvent(kind cs.EventKind, target string, detail map[string]any) cs.Event {
	e := b.event(kind, cs.ActorBot, nil, detail)
	e.Target = target
	return e
}

// driftText is the channel message about a drift: what was approved,
// what runs, when it last matched, and the two ways out.
func driftText(c check, lastMatched time.Time) Markup {
	seen := "not seen matching since the bot started watching"
	if !lastMatched.IsZero() {
		seen = "last seen matching " + fmtTime(lastMatched)
	}
	t := Textf("⚠️ *Drift on %s*: it is not what was last approved and carried out.\n• approved: %s\n• runs now: %s\n• %s",
		c.key, c.expected, c.found, seen)
	if c.service {
		return t + Textf("\nEither `adopt %s` to take what runs now as approved, or deploy or roll back to put the approved state back.", c.target)
	}
	return t + Esc("\nEither a `dns` change through the bot, or putting the records back as they were, ends it.")
}

// driftLine says a target's drift in one line for `status` ("" when there
// is nothing to say).
func driftLine(v *DriftView) Markup {
	switch {
	case v == nil:
		return ""
	case v.Drifted:
		l := Textf("⚠️ drift since %s: approved %s; runs %s", fmtTime(v.Since), v.Expected, v.Found)
		if v.Unknown != "" {
			l += Textf(" (last read failed: %s)", v.Unknown)
		}
		return l
	case v.Unknown != "":
		return Textf("drift: unknown, %s", v.Unknown)
	case v.Expected != "":
		return Textf("no drift (checked %s)", fmtTime(v.Checked))
	}
	return ""
}

// driftStatus adds each service's drift to its `status` lines, after
// reading the one service asked about, and the DNS records that drifted
// when all were asked about.
func (b *Bot) driftStatus(ctx context.Context, only string, services []Service, out []Markup) []Markup {
	if b.cfg.DriftInterval <= 0 {
		return out
	}
	if only != "" {
		if err := b.SweepDrift(ctx, only); err != nil {
			b.log.Warn("status: drift check", "service", only, "err", err)
		}
	}
	for i, s := range services {
		if l := driftLine(b.driftOf(s.Name)); l != "" {
			out[i] += "\n    " + l
		}
	}
	if only == "" {
		for _, v := range b.dnsDrift() {
			out = append(out, Textf("*%s* ", v.Target)+driftLine(&v))
		}
	}
	return out
}

// dnsDrift lists the DNS records that drifted or could not be read, by
// name.
func (b *Bot) dnsDrift() []DriftView {
	b.drift.mu.Lock()
	defer b.drift.mu.Unlock()
	var out []DriftView
	for _, v := range b.drift.views {
		if _, isDNS := b.drift.dns[v.Target]; isDNS && (v.Drifted || v.Unknown != "") {
			out = append(out, *v)
		}
	}
	slices.SortFunc(out, func(a, b DriftView) int { return strings.Compare(a.Target, b.Target) })
	return out
}

// cardDrift is what an open deploy, rollback or adopt's card says about
// its service's drift ("" when none).
func (b *Bot) cardDrift(r cs.Request) Markup {
	switch r.Action.Kind {
	case cs.ActionDeploy, cs.ActionRollback, cs.ActionAdopt:
	default:
		return ""
	}
	v := b.driftOf(r.Action.Target)
	if !r.State.Open() || v == nil || !v.Drifted {
		return ""
	}
	return Textf("%s does not run what was last approved: it runs %s, not %s (found %s)", r.Action.Target, v.Found, v.Expected, fmtTime(v.Since))
}

// driftBusy reports whether the bot is changing target now, and how many
// of its changes of target have finished. A sweep reads a target only
// when neither changes during the read: what an execution of the bot's
// has changed but not yet recorded would look like drift.
func (b *Bot) driftBusy(target string) (busy bool, done int) {
	m := b.targetMutex(target)
	if m.TryLock() {
		m.Unlock()
	} else {
		busy = true
	}
	b.drift.mu.Lock()
	defer b.drift.mu.Unlock()
	return busy, b.drift.done[target]
}
