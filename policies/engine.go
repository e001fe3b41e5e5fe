// Package policies decides what may happen. Given a request (action, source,
// requester, time) it finds the first matching policy, applies its limits
// and the change windows, and returns a typed cs.Decision: allow, deny or
// needs approval, with the reasons. It also checks approvals against a
// decision.
//
// The package is pure: no clock reads, no I/O after New, no package state.
// Anything not allowed by a policy is denied.
package policies

import (
	"fmt"
	"sort"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
)

// Set is everything the engine decides from: the config's policies (tried
// in order), windows and groups.
type Set struct {
	Policies []Policy
	Windows  []Window
	// Groups are the config groups: name -> members, each a chat user ID
	// ("U…", "W…") or "usergroup:ID" for a Slack user group.
	Groups map[string][]string
}

// Engine decides requests against a validated Set. It keeps its own copy
// of the set, never changes after New, and is safe for concurrent use.
type Engine struct {
	set     Set
	spans   []span // spans[i] is when set.Windows[i] is in force
	version string
}

// New validates s as a whole and returns an engine for it. If anything is
// wrong it returns a *ValidationError listing every problem with its config
// path (unknown groups, actions and time zones, duplicate names, counts
// below 1, scale min above max, bad target globs, bad window times, …).
func New(s Set) (*Engine, error) {
	set := cloneSet(s)
	spans, problems := validate(set)
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return &Engine{set: set, spans: spans, version: version(set)}, nil
}

// Version is the hex SHA-256 of a canonical encoding of the set (policies,
// windows, groups). Every Decision carries it, so approvals given under one
// set of policies never count under another.
func (e *Engine) Version() string { return e.version }

// Members returns the configured members of group name (user IDs and
// "usergroup:ID" entries, in config order), or nil if there is no such
// group. The slice is a copy.
func (e *Engine) Members(name string) []string {
	m, ok := e.set.Groups[name]
	if !ok {
		return nil
	}
	return append([]string{}, m...)
}

// Input is what Decide decides about.
type Input struct {
	// Action is what would be done: Kind, Target, Branch (push), Replicas
	// (scale), BreakGlass (the reason given with --break-glass, or "").
	Action cs.Action
	Source cs.Source
	// Requester is a chat user ID, or "github:LOGIN" for a push.
	Requester cs.Actor
	// Usergroups are the Slack user groups resolved by ID. Nil is allowed:
	// then "usergroup:…" entries match nobody.
	Usergroups map[string][]cs.Actor
	// Now is the time to check the windows against; the engine never reads
	// the clock.
	Now time.Time
}

// Decide returns the decision for in. It never fails: whatever it cannot
// allow it denies, with reasons. The decision always carries Version(), and
// names the policy that matched (empty when none did).
//
// The first policy whose actions, targets and request list all match wins;
// policies that match the action and target but not the requester are
// named in the reasons if nothing else matches. Then, in this order: a
// scale outside the policy's limits is denied; inside a change window the
// request is denied, or with a --break-glass reason goes by the window's
// break-glass route (needs_approval with Requires from break_glass, never
// auto; denied if the window has none); otherwise it is allowed when the
// policy lists no approvals or a push is on an auto branch, and else needs
// the policy's approvals within its expiry. A zero Now is denied when a
// window could apply.
func (e *Engine) Decide(in Input) cs.Decision {
	d := cs.Decision{Verdict: cs.VerdictDeny, PolicyVersion: e.version}
	kind := in.Action.Kind
	target, err := actionTarget(in.Action)
	if err != nil {
		d.Reasons = []string{err.Error() + " (deny by default)"}
		return d
	}
	var refused []string
	for _, p := range e.set.Policies {
		if !hasKind(p.Actions, kind) || !matchTarget(p.Targets, kind, target) {
			continue
		}
		if !e.mayRequest(p.Request, in) {
			refused = append(refused, fmt.Sprintf("policy %q: %s may not request (allowed: %s)",
				p.Name, describeRequester(in), describeList(p.Request)))
			continue
		}
		return e.decideWith(p, in, target)
	}
	if len(refused) > 0 {
		d.Reasons = refused
		return d
	}
	d.Reasons = []string{fmt.Sprintf("no policy allows %s on %s (deny by default)", kind, target)}
	return d
}

// decideWith applies the matching policy p: limits, windows, approvals.
func (e *Engine) decideWith(p Policy, in Input, target string) cs.Decision {
	d := cs.Decision{Verdict: cs.VerdictDeny, Policy: p.Name, PolicyVersion: e.version}
	a := in.Action
	d.Reasons = append(d.Reasons, fmt.Sprintf("policy %q matches %s on %s requested by %s", p.Name, a.Kind, target, describeRequester(in)))

	if a.Kind == cs.ActionScale && p.Scale != nil && (a.Replicas < p.Scale.Min || a.Replicas > p.Scale.Max) {
		d.Reasons = append(d.Reasons, fmt.Sprintf("%s is outside the limits of policy %q (%d to %d)",
			plural(a.Replicas, "replica"), p.Name, p.Scale.Min, p.Scale.Max))
		return d
	}

	applying, concerned := e.windowsAt(a.Kind, target, in.Now)
	if concerned && in.Now.IsZero() {
		// Without a time we cannot tell whether a freeze is in force.
		d.Reasons = append(d.Reasons, "no time given to check the change windows against")
		return d
	}
	if len(applying) > 0 {
		return e.decideInWindows(d, p, in, applying)
	}
	if a.BreakGlass != "" {
		d.Reasons = append(d.Reasons, "--break-glass was given but no change freeze is in force; it changes nothing")
	}

	switch {
	case len(p.Approve) == 0:
		d.Verdict = cs.VerdictAllow
		d.Reasons = append(d.Reasons, fmt.Sprintf("policy %q needs no approval", p.Name))
	case in.Source == cs.SourcePush && p.Auto != nil && a.Branch != "" && contains(p.Auto.Branches, a.Branch):
		d.Verdict = cs.VerdictAllow
		d.Reasons = append(d.Reasons, fmt.Sprintf("a push on branch %s deploys without approval", a.Branch))
	default:
		d.Verdict = cs.VerdictNeedsApproval
		d.Requires = append([]cs.Requirement{}, p.Approve...)
		d.ExpiresIn = time.Duration(p.Expires)
		d.Reasons = append(d.Reasons, "needs approval: "+describeRequires(d.Requires))
	}
	return d
}

// decideInWindows decides a request that falls in one or more change
// freezes: denied, or the break-glass route of every window at once.
func (e *Engine) decideInWindows(d cs.Decision, p Policy, in Input, applying []int) cs.Decision {
	a := in.Action
	names := make([]string, len(applying))
	for i, w := range applying {
		names[i] = e.set.Windows[w].Name
	}
	d.Window = strings.Join(names, ", ")

	if a.BreakGlass == "" {
		for _, w := range applying {
			win := e.set.Windows[w]
			if win.BreakGlass == nil {
				d.Reasons = append(d.Reasons, fmt.Sprintf("change freeze %q until %s; it allows no break-glass exceptions",
					win.Name, e.spans[w].until()))
			} else {
				how := "use --break-glass REASON to ask for an exception"
				if in.Source == cs.SourcePush {
					how = "to deploy anyway, ask in chat with --break-glass REASON"
				}
				d.Reasons = append(d.Reasons, fmt.Sprintf("change freeze %q until %s; %s",
					win.Name, e.spans[w].until(), how))
			}
		}
		return d
	}

	var requires []cs.Requirement
	refused := false
	for _, w := range applying {
		win := e.set.Windows[w]
		if win.BreakGlass == nil {
			refused = true
			d.Reasons = append(d.Reasons, fmt.Sprintf("change freeze %q until %s has no break-glass route: no exceptions",
				win.Name, e.spans[w].until()))
			continue
		}
		requires = mergeRequires(requires, win.BreakGlass.Approve)
	}
	if refused {
		return d
	}
	d.Verdict = cs.VerdictNeedsApproval
	d.BreakGlass = true
	d.Requires = requires
	d.ExpiresIn = time.Duration(p.Expires)
	for _, w := range applying {
		d.Reasons = append(d.Reasons, fmt.Sprintf("break-glass inside change freeze %q (until %s), reason: %q",
			e.set.Windows[w].Name, e.spans[w].until(), a.BreakGlass))
	}
	d.Reasons = append(d.Reasons, "needs break-glass approval: "+describeRequires(requires))
	return d
}

// windowsAt returns the indexes of the windows in force for kind on target
// at now. concerned reports whether any window covers kind and target at
// all, whatever the time.
func (e *Engine) windowsAt(kind cs.ActionKind, target string, now time.Time) (applying []int, concerned bool) {
	for i, w := range e.set.Windows {
		if !hasKind(w.Actions, kind) || !matchTarget(w.Targets, kind, target) {
			continue
		}
		concerned = true
		if !now.IsZero() && e.spans[i].contains(now) {
			applying = append(applying, i)
		}
	}
	return applying, concerned
}

// mergeRequires adds the lines of more to have; a group in both keeps the
// larger count, so that every window's demand is met by the same approvers.
func mergeRequires(have, more []cs.Requirement) []cs.Requirement {
next:
	for _, r := range more {
		for i := range have {
			if have[i].Group == r.Group {
				have[i].Count = max(have[i].Count, r.Count)
				continue next
			}
		}
		have = append(have, r)
	}
	return have
}

func hasKind(kinds []cs.ActionKind, k cs.ActionKind) bool {
	for _, v := range kinds {
		if v == k {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Usergroups returns the IDs of every Slack user group the set names, in
// groups and in request lists, sorted and without duplicates: what a
// caller must resolve into Input.Usergroups and ApprovalInput.Usergroups.
func (e *Engine) Usergroups() []string {
	seen := map[string]bool{}
	note := func(entry string) {
		if id, ok := strings.CutPrefix(entry, prefixUsergroup); ok && id != "" {
			seen[id] = true
		}
	}
	for _, members := range e.set.Groups {
		for _, m := range members {
			note(m)
		}
	}
	for _, p := range e.set.Policies {
		for _, r := range p.Request {
			note(r)
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
