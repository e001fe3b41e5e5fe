package policies

import (
	"fmt"
	"path"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
)

// handOver checks both sets as first-match lists, which a field-by-field
// comparison cannot: for every request a new policy decides, the old
// policy that decided it must have decided at least as strictly, and
// every window must still hold back what it held back. Where it cannot
// show that, it adds a Looser change. The argument, per request r that new
// policy Q decides:
//   - some old policy matched r (one old policy's match covers Q's);
//   - the old policy P that did is one that may overlap Q, is not covered
//     by a new policy before Q (that one would have taken r), and comes no
//     later than the first old policy covering Q; each such P must decide
//     no looser than Q (stricter).
func (c *comparison) handOver() {
	for j, q := range c.new.Policies {
		at := fmt.Sprintf("policies[%d]", j)
		covered := false
		for _, p := range c.old.Policies {
			if !mayOverlap(p.Actions, p.Targets, q.Actions, q.Targets) {
				continue
			}
			if !c.shadowed(p, j) {
				if why := stricter(p, q); why != "" {
					c.found(at, fmt.Sprintf("requests that policy %q decided are now decided by policy %q, which %s", p.Name, q.Name, why))
				}
			}
			if matchCovers(p, c.old, q, c.new) {
				covered = true
				break
			}
		}
		if !covered {
			c.found(at, fmt.Sprintf("policy %q may allow requests that no old policy matched", q.Name))
		}
	}
	for i, v := range c.old.Windows {
		held := false
		for j, w := range c.new.Windows {
			if windowCovers(w, c.newSpans[j], v, c.oldSpans[i]) && breakGlassNoEasier(w, v) {
				held = true
				break
			}
		}
		if !held {
			at := fmt.Sprintf("windows[%d]", i) // removed: the old index
			for j, w := range c.new.Windows {
				if w.Name == v.Name {
					at = fmt.Sprintf("windows[%d]", j)
				}
			}
			c.found(at, fmt.Sprintf("no new change freeze holds back all that %q held back, as firmly", v.Name))
		}
	}
	for j, w := range c.new.Windows {
		if w.BreakGlass == nil || c.coveredByOldWindow(w, c.newSpans[j]) {
			continue
		}
		// Where no old window was in force, the break-glass route replaces
		// the policy's approvals: it must need at least as much.
		for _, q := range c.new.Policies {
			if mayOverlap(w.Actions, w.Targets, q.Actions, q.Targets) && !requiresCover(w.BreakGlass.Approve, q.Approve) {
				c.found(fmt.Sprintf("windows[%d].break_glass", j), fmt.Sprintf("break-glass in change freeze %q needs %s, less than policy %q (%s)",
					w.Name, requiresText(w.BreakGlass.Approve), q.Name, requiresText(q.Approve)))
			}
		}
	}
}

// found adds a Looser change at path unless one is listed there already.
func (c *comparison) found(at, say string) {
	for _, ch := range c.diff.Changes {
		if ch.Direction == Looser && (ch.Path == at || strings.HasPrefix(ch.Path, at+".")) {
			return
		}
	}
	c.diff.add(at, Looser, "", "", say)
}

// shadowed reports whether a new policy before index j matches every
// request old policy p matched.
func (c *comparison) shadowed(p Policy, j int) bool {
	for _, a := range c.new.Policies[:j] {
		if matchCovers(a, c.new, p, c.old) {
			return true
		}
	}
	return false
}

func (c *comparison) coveredByOldWindow(w Window, ws span) bool {
	for i, v := range c.old.Windows {
		if windowCovers(v, c.oldSpans[i], w, ws) {
			return true
		}
	}
	return false
}

// stricter says how new policy q may decide a request more loosely than
// old policy p, or "" if it never does.
func stricter(p, q Policy) string {
	if hasKind(p.Actions, cs.ActionScale) && hasKind(q.Actions, cs.ActionScale) && !limitsWithin(q.Scale, p.Scale) {
		return fmt.Sprintf("has wider scale limits (%s, was %s)", limitsText(q.Scale), limitsText(p.Scale))
	}
	// The expiry also bounds break-glass requests, whatever the approvals.
	if !expiryWithin(q.Expires, p.Expires) {
		return fmt.Sprintf("keeps requests open %s (was %s)", expiryText(q.Expires), expiryText(p.Expires))
	}
	if len(p.Approve) == 0 {
		return "" // p allowed without approval
	}
	if !requiresCover(q.Approve, p.Approve) {
		return fmt.Sprintf("needs %s (was %s)", requiresText(q.Approve), requiresText(p.Approve))
	}
	if len(q.Approve) > 0 && q.Auto != nil {
		var was []string
		if p.Auto != nil {
			was = p.Auto.Branches
		}
		if extra := setMinus(memberSet(q.Auto.Branches), memberSet(was)); len(extra) > 0 {
			return "deploys pushes on " + strings.Join(extra, ", ") + " without approval"
		}
	}
	return ""
}

// expiryWithin: 0 is the bot's default, comparable only with itself.
func expiryWithin(inner, outer Duration) bool {
	if inner == outer {
		return true
	}
	return inner != 0 && outer != 0 && inner < outer
}

// requiresCover reports whether big needs, from every group small names,
// at least as many approvals.
func requiresCover(big, small []cs.Requirement) bool {
	have := requireCounts(big)
	for _, r := range small {
		if have[r.Group] < r.Count {
			return false
		}
	}
	return true
}

// breakGlassNoEasier: w's break-glass route needs at least what v's did.
func breakGlassNoEasier(w, v Window) bool {
	return w.BreakGlass == nil || (v.BreakGlass != nil && requiresCover(w.BreakGlass.Approve, v.BreakGlass.Approve))
}

// windowCovers reports whether w is in force for every action, target and
// time that v is.
func windowCovers(w Window, ws span, v Window, vs span) bool {
	return kindsWithin(v.Actions, w.Actions) && targetsWithin(v.Targets, w.Targets) && spanWithin(vs, ws)
}

// matchCovers reports whether policy big (of set bs) matches every request
// policy small (of set ss) matches. It may say false when it cannot tell.
func matchCovers(big Policy, bs Set, small Policy, ss Set) bool {
	if !kindsWithin(small.Actions, big.Actions) || !targetsWithin(small.Targets, big.Targets) {
		return false
	}
	for _, e := range small.Request {
		if !entryCovered(e, ss, big.Request, bs) {
			return false
		}
	}
	return true
}

// entryCovered reports whether every requester entry e admits is admitted
// by one of entries.
func entryCovered(e string, ss Set, entries []string, bs Set) bool {
	g, isGroup := strings.CutPrefix(e, prefixGroup)
	plainUser := e != requestPush && !strings.Contains(e, ":")
	for _, b := range entries {
		if b == e {
			if !isGroup {
				return true
			}
			if len(setMinus(memberSet(ss.Groups[g]), memberSet(bs.Groups[g]))) == 0 {
				return true
			}
		}
		if bg, ok := strings.CutPrefix(b, prefixGroup); ok && plainUser && contains(bs.Groups[bg], e) {
			return true
		}
	}
	return false
}

func kindsWithin(inner, outer []cs.ActionKind) bool {
	for _, k := range inner {
		if !hasKind(outer, k) {
			return false
		}
	}
	return true
}

// targetsWithin reports whether every name one of inner matches, one of
// outer matches, for DNS names and others alike.
func targetsWithin(inner, outer []string) bool {
next:
	for _, s := range inner {
		for _, b := range outer {
			if globCovers(b, s) {
				continue next
			}
		}
		return false
	}
	return true
}

func globCovers(b, s string) bool {
	switch {
	case b == s:
		return true
	case literal(s):
		return globMatch(b, s) && globMatch(dnsName(b), dnsName(s))
	case b == "*":
		// path.Match's * takes no '/'; a glob without '/', '[' or '\'
		// cannot match one either.
		return !strings.ContainsAny(s, `/[\`)
	}
	return false
}

// mayOverlap reports whether some request could match both rules (it
// ignores requesters: it may say true when they cannot meet).
func mayOverlap(ak []cs.ActionKind, at []string, bk []cs.ActionKind, bt []string) bool {
	shared := false
	for _, k := range ak {
		if hasKind(bk, k) {
			shared = true
		}
	}
	if !shared {
		return false
	}
	for _, a := range at {
		for _, b := range bt {
			if globsMeet(a, b) {
				return true
			}
		}
	}
	return false
}

func globsMeet(a, b string) bool {
	switch {
	case literal(a) && literal(b):
		return a == b || dnsName(a) == dnsName(b)
	case literal(a):
		return globMatch(b, a) || globMatch(dnsName(b), dnsName(a))
	case literal(b):
		return globMatch(a, b) || globMatch(dnsName(a), dnsName(b))
	}
	return true
}

func literal(g string) bool { return !strings.ContainsAny(g, `*?[\`) }

func globMatch(g, name string) bool {
	ok, err := path.Match(g, name)
	return err == nil && ok
}

// spanWithin reports whether outer is in force whenever inner is. Spans in
// different zones, and a weekly span inside a one-off one, compare as not
// within (it cannot tell).
func spanWithin(inner, outer span) bool {
	if inner.zone != outer.zone || inner.weekly != outer.weekly {
		return false
	}
	if !inner.weekly {
		return !inner.fromWall.Before(outer.fromWall) && !inner.toWall.After(outer.toWall)
	}
	outs := weekParts(outer)
next:
	for _, in := range weekParts(inner) {
		if in[0] == in[1] {
			continue
		}
		for _, o := range outs {
			if in[0] >= o[0] && in[1] <= o[1] {
				continue next
			}
		}
		return false
	}
	return true
}

const week = 7 * 24 * time.Hour

// weekParts splits a weekly span into intervals [from, to) of week offsets.
func weekParts(s span) [][2]time.Duration {
	if s.fromOff < s.toOff {
		return [][2]time.Duration{{s.fromOff, s.toOff}}
	}
	return [][2]time.Duration{{s.fromOff, week}, {0, s.toOff}}
}
