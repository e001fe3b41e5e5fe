package policies

import (
	"fmt"
	"sort"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
)

// Direction says which way one difference between two policy sets goes.
type Direction string

const (
	// Looser: something may now be allowed, or allowed with less, that was
	// not before. Whatever Compare cannot classify is Looser.
	Looser   Direction = "looser"
	Stricter Direction = "stricter"
	Neutral  Direction = "neutral"
)

// Change is one difference between two sets, fit for a Slack card
// ("before → after") and an audit record.
type Change struct {
	// Path is where in the config, as in validation problems:
	// "policies[2].approve", "windows[0].deny", "groups.ops". Indexes are
	// those of the new set, or of the old one for what was removed.
	Path      string    `json:"path"`
	Direction Direction `json:"direction"`
	// Before and After render the value on each side ("" where there is
	// none); both are empty for a finding about how rules work together.
	Before string `json:"before"`
	After  string `json:"after"`
	Say    string `json:"say"` // one line in words
}

// Diff is every difference Compare found, in config order.
type Diff struct {
	Changes []Change `json:"changes"`
}

// Looser reports whether any change is looser: then the new set may allow
// a request the old one refused, or allow it with fewer approvals.
func (d Diff) Looser() bool {
	for _, c := range d.Changes {
		if c.Direction == Looser {
			return true
		}
	}
	return false
}

// Equal reports whether Compare found no difference at all.
func (d Diff) Equal() bool { return len(d.Changes) == 0 }

// Compare lists the differences from old to new, rule by rule, each with
// its direction. Policies and windows are paired by name. Besides the
// field-by-field differences, it checks the sets as first-match lists: a
// policy narrowed, removed or moved can hand requests over to another one
// that decides them more loosely, and a new window's break-glass route can
// be easier than a policy's approvals; such cases are listed as Looser
// under the policy or window that now decides.
//
// It is sound, not complete: when Diff.Looser is false, every request the
// new set allows (or lets through with approvals) the old set allowed too,
// with approval lines at least as large from groups no larger, and an
// expiry no longer. A set that fails validation compares as Looser.
//
// Members of Slack user groups are not config: they count alike on both
// sides. An expiry of 0 (the bot's default) cannot be compared with a set
// one, so a change to or from it is Looser.
func Compare(old, new Set) Diff {
	oldSpans, oldProblems := validate(cloneSet(old))
	newSpans, newProblems := validate(cloneSet(new))
	if len(oldProblems) > 0 || len(newProblems) > 0 {
		var d Diff
		for _, p := range newProblems {
			d.add(p.Path, Looser, "", "", "the new policies are invalid: "+p.Message)
		}
		for _, p := range oldProblems {
			d.add(p.Path, Looser, "", "", "the old policies are invalid, so nothing can be compared: "+p.Message)
		}
		return d
	}
	c := &comparison{old: cloneSet(old), new: cloneSet(new), oldSpans: oldSpans, newSpans: newSpans}
	c.groups()
	c.policies()
	c.windows()
	c.handOver()
	return c.diff
}

// comparison holds both sides while Compare works.
type comparison struct {
	old, new           Set
	oldSpans, newSpans []span
	diff               Diff
}

func (d *Diff) add(path string, dir Direction, before, after, say string) {
	d.Changes = append(d.Changes, Change{Path: path, Direction: dir, Before: before, After: after, Say: say})
}

// groups lists membership changes. A member added to a group the new set
// uses (to request, approve or break glass) is looser; removed, stricter.
func (c *comparison) groups() {
	used := usedGroups(c.new)
	for name := range usedGroups(c.old) {
		used[name] = true
	}
	names := map[string]bool{}
	for n := range c.old.Groups {
		names[n] = true
	}
	for n := range c.new.Groups {
		names[n] = true
	}
	for _, name := range sortedKeys(names) {
		before, after := memberSet(c.old.Groups[name]), memberSet(c.new.Groups[name])
		added, removed := setMinus(after, before), setMinus(before, after)
		if len(added) == 0 && len(removed) == 0 {
			continue
		}
		path := "groups." + name
		b, a := listText(sortedKeys(before)), listText(sortedKeys(after))
		switch {
		case len(added) > 0 && usedGroups(c.new)[name]:
			c.diff.add(path, Looser, b, a, fmt.Sprintf("group %s gains %s", name, strings.Join(added, ", ")))
		case len(removed) > 0 && used[name]:
			c.diff.add(path, Stricter, b, a, fmt.Sprintf("group %s loses %s", name, strings.Join(removed, ", ")))
		default:
			c.diff.add(path, Neutral, b, a, fmt.Sprintf("group %s changes, but no policy or window uses it", name))
		}
	}
}

// policies lists, per policy paired by name, what changed in it, and the
// policies added and removed.
func (c *comparison) policies() {
	oldAt, removed := pairByName(c.old.Policies, c.new.Policies, func(p Policy) string { return p.Name })
	for j, q := range c.new.Policies {
		path := fmt.Sprintf("policies[%d]", j)
		i := oldAt[j]
		if i < 0 {
			// Whether it allows what was refused is handOver's finding.
			c.diff.add(path, Neutral, "", policyText(q), fmt.Sprintf("policy %q is added", q.Name))
			continue
		}
		if i != j {
			c.diff.add(path, Neutral, fmt.Sprintf("position %d", i), fmt.Sprintf("position %d", j),
				fmt.Sprintf("policy %q moves from position %d to %d", q.Name, i, j))
		}
		c.policy(path, c.old.Policies[i], q)
	}
	for _, i := range removed {
		p := c.old.Policies[i]
		c.diff.add(fmt.Sprintf("policies[%d]", i), Stricter, policyText(p), "",
			fmt.Sprintf("policy %q is removed", p.Name))
	}
}

// pairByName pairs the items of two lists by name: oldAt[j] is the index
// in old of new[j]'s name, or -1 when it is new; removed lists the
// indexes of old items no new item names.
func pairByName[T any](old, new []T, name func(T) string) (oldAt, removed []int) {
	at := map[string]int{}
	for i, v := range old {
		at[name(v)] = i
	}
	kept := map[int]bool{}
	oldAt = make([]int, len(new))
	for j, v := range new {
		i, ok := at[name(v)]
		if !ok {
			i = -1
		}
		oldAt[j] = i
		kept[i] = true
	}
	for i := range old {
		if !kept[i] {
			removed = append(removed, i)
		}
	}
	return oldAt, removed
}

func (c *comparison) policy(path string, p, q Policy) {
	name := fmt.Sprintf("policy %q", q.Name)
	listChange(&c.diff, path+".actions", name, "actions", kindStrings(p.Actions), kindStrings(q.Actions), Looser)
	targetChange(&c.diff, path+".targets", name, p.Targets, q.Targets, Looser)
	listChange(&c.diff, path+".request", name, "requesters", p.Request, q.Request, Looser)
	requiresChange(&c.diff, path+".approve", name+" approvals", p.Approve, q.Approve)

	var pb, qb []string
	if p.Auto != nil {
		pb = p.Auto.Branches
	}
	if q.Auto != nil {
		qb = q.Auto.Branches
	}
	if len(p.Approve) == 0 && len(q.Approve) == 0 {
		// Without approvals auto changes nothing.
		listChange(&c.diff, path+".auto.branches", name, "auto branches", pb, qb, Neutral)
	} else {
		listChange(&c.diff, path+".auto.branches", name, "auto branches", pb, qb, Looser)
	}

	if p.Expires != q.Expires {
		b, a := expiryText(p.Expires), expiryText(q.Expires)
		switch {
		case p.Expires == 0 || q.Expires == 0:
			c.diff.add(path+".expires", Looser, b, a, fmt.Sprintf("%s expiry changes from %s to %s, which cannot be compared", name, b, a))
		case q.Expires > p.Expires:
			c.diff.add(path+".expires", Looser, b, a, fmt.Sprintf("%s requests stay open longer: %s → %s", name, b, a))
		default:
			c.diff.add(path+".expires", Stricter, b, a, fmt.Sprintf("%s requests expire sooner: %s → %s", name, b, a))
		}
	}

	if !sameLimits(p.Scale, q.Scale) {
		b, a := limitsText(p.Scale), limitsText(q.Scale)
		dir := Looser
		switch {
		case !hasKind(q.Actions, cs.ActionScale):
			dir = Neutral
		case limitsWithin(q.Scale, p.Scale):
			dir = Stricter
		}
		c.diff.add(path+".scale", dir, b, a, fmt.Sprintf("%s scale limits: %s → %s", name, b, a))
	}
}

// windows lists, per window paired by name, what changed, and the windows
// added and removed.
func (c *comparison) windows() {
	oldAt, removed := pairByName(c.old.Windows, c.new.Windows, func(w Window) string { return w.Name })
	for j, w := range c.new.Windows {
		path := fmt.Sprintf("windows[%d]", j)
		i := oldAt[j]
		if i < 0 {
			// A break-glass route easier than a policy is handOver's finding.
			c.diff.add(path, Stricter, "", windowText(w), fmt.Sprintf("change freeze %q is added", w.Name))
			continue
		}
		c.window(path, c.old.Windows[i], c.oldSpans[i], w, c.newSpans[j])
	}
	for _, i := range removed {
		w := c.old.Windows[i]
		c.diff.add(fmt.Sprintf("windows[%d]", i), Looser, windowText(w), "",
			fmt.Sprintf("change freeze %q is removed", w.Name))
	}
}

func (c *comparison) window(path string, v Window, vs span, w Window, ws span) {
	name := fmt.Sprintf("change freeze %q", w.Name)
	listChange(&c.diff, path+".actions", name, "actions", kindStrings(v.Actions), kindStrings(w.Actions), Stricter)
	targetChange(&c.diff, path+".targets", name, v.Targets, w.Targets, Stricter)
	if spanText(v.Deny) != spanText(w.Deny) {
		b, a := spanText(v.Deny), spanText(w.Deny)
		switch {
		case spanWithin(vs, ws):
			c.diff.add(path+".deny", Stricter, b, a, fmt.Sprintf("%s is lengthened: %s → %s", name, b, a))
		case spanWithin(ws, vs):
			c.diff.add(path+".deny", Looser, b, a, fmt.Sprintf("%s is shortened: %s → %s", name, b, a))
		default:
			c.diff.add(path+".deny", Looser, b, a, fmt.Sprintf("%s moves: %s → %s", name, b, a))
		}
	}
	switch {
	case v.BreakGlass == nil && w.BreakGlass != nil:
		c.diff.add(path+".break_glass", Looser, "no exceptions", requiresText(w.BreakGlass.Approve),
			fmt.Sprintf("%s now allows break-glass exceptions with %s", name, requiresText(w.BreakGlass.Approve)))
	case v.BreakGlass != nil && w.BreakGlass == nil:
		c.diff.add(path+".break_glass", Stricter, requiresText(v.BreakGlass.Approve), "no exceptions",
			fmt.Sprintf("%s no longer allows break-glass exceptions", name))
	case v.BreakGlass != nil:
		requiresChange(&c.diff, path+".break_glass.approve", name+" break-glass approvals", v.BreakGlass.Approve, w.BreakGlass.Approve)
	}
}

// listChange adds one change for a list compared as a set: gaining
// entries goes in direction gain, losing them the other way (Neutral
// stays Neutral).
func listChange(d *Diff, path, who, what string, before, after []string, gain Direction) {
	b, a := memberSet(before), memberSet(after)
	added, removed := setMinus(a, b), setMinus(b, a)
	if len(added) == 0 && len(removed) == 0 {
		return
	}
	lose := Neutral
	switch gain {
	case Looser:
		lose = Stricter
	case Stricter:
		lose = Looser
	}
	dir := lose
	var say []string
	if len(added) > 0 {
		dir = gain
		say = append(say, "adds "+strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		say = append(say, "removes "+strings.Join(removed, ", "))
		if gain == Stricter { // a loss is looser, and looser wins
			dir = Looser
		}
	}
	d.add(path, dir, listText(before), listText(after), fmt.Sprintf("%s %s: %s", who, what, strings.Join(say, "; ")))
}

// targetChange adds one change for a list of target globs: wider goes in
// direction wider, narrower the other way, neither (or unknown) Looser.
func targetChange(d *Diff, path, who string, before, after []string, wider Direction) {
	b, a := memberSet(before), memberSet(after)
	added, removed := setMinus(a, b), setMinus(b, a)
	if len(added) == 0 && len(removed) == 0 {
		return
	}
	narrower := Stricter
	if wider == Stricter {
		narrower = Looser
	}
	var say []string
	if len(added) > 0 {
		say = append(say, "adds "+strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		say = append(say, "removes "+strings.Join(removed, ", "))
	}
	dir := Looser
	switch {
	case targetsWithin(before, after):
		dir = wider
	case targetsWithin(after, before):
		dir = narrower
	}
	d.add(path, dir, listText(before), listText(after), fmt.Sprintf("%s targets: %s", who, strings.Join(say, "; ")))
}

// requiresChange adds one change per approval line that differs.
func requiresChange(d *Diff, path, who string, before, after []cs.Requirement) {
	bc, ac := requireCounts(before), requireCounts(after)
	if len(before) == 0 && len(after) > 0 {
		d.add(path, Stricter, "none", requiresText(after), fmt.Sprintf("%s: none → %s", who, requiresText(after)))
		return
	}
	groups := map[string]bool{}
	for g := range bc {
		groups[g] = true
	}
	for g := range ac {
		groups[g] = true
	}
	for _, g := range sortedKeys(groups) {
		b, a := bc[g], ac[g]
		if b == a {
			continue
		}
		bt, at := countText(b, g), countText(a, g)
		switch {
		case b == 0:
			d.add(path, Stricter, bt, at, fmt.Sprintf("%s: adds %s", who, at))
		case a == 0:
			d.add(path, Looser, bt, at, fmt.Sprintf("%s: %s is no longer needed", who, bt))
		case a < b:
			d.add(path, Looser, bt, at, fmt.Sprintf("%s: fewer from %s, %d → %d", who, g, b, a))
		default:
			d.add(path, Stricter, bt, at, fmt.Sprintf("%s: more from %s, %d → %d", who, g, b, a))
		}
	}
}

// Renderings for Before and After.

func policyText(p Policy) string {
	s := fmt.Sprintf("%s on %s requested by %s, approvals: %s",
		listText(kindStrings(p.Actions)), listText(p.Targets), listText(p.Request), requiresText(p.Approve))
	if p.Auto != nil {
		s += ", auto on " + listText(p.Auto.Branches)
	}
	if p.Scale != nil {
		s += ", scale " + limitsText(p.Scale)
	}
	if p.Expires != 0 {
		s += ", expires " + expiryText(p.Expires)
	}
	return s
}

func windowText(w Window) string {
	bg := "no exceptions"
	if w.BreakGlass != nil {
		bg = "break-glass " + requiresText(w.BreakGlass.Approve)
	}
	return fmt.Sprintf("%s on %s, %s, %s", listText(kindStrings(w.Actions)), listText(w.Targets), spanText(w.Deny), bg)
}

func spanText(s Span) string {
	tz := s.TZ
	if tz == "" {
		tz = "UTC"
	}
	return fmt.Sprintf("%s to %s %s", s.From, s.To, tz)
}

func requiresText(r []cs.Requirement) string {
	if len(r) == 0 {
		return "none"
	}
	return describeRequires(r)
}

func countText(n int, group string) string {
	if n == 0 {
		return "none from " + group
	}
	return fmt.Sprintf("%d from %s", n, group)
}

func expiryText(d Duration) string {
	if d == 0 {
		return "the default"
	}
	return formatDuration(time.Duration(d))
}

func limitsText(l *Limits) string {
	if l == nil {
		return "unlimited"
	}
	return fmt.Sprintf("%d to %d", l.Min, l.Max)
}

func listText(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// Small set helpers.

func memberSet(s []string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}

// setMinus lists what is in a and not in b, sorted.
func setMinus(a, b map[string]bool) []string {
	var out []string
	for v := range a {
		if !b[v] {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func kindStrings(k []cs.ActionKind) []string {
	out := make([]string, len(k))
	for i, v := range k {
		out[i] = string(v)
	}
	return out
}

func requireCounts(r []cs.Requirement) map[string]int {
	m := make(map[string]int, len(r))
	for _, l := range r {
		m[l.Group] = l.Count
	}
	return m
}

// usedGroups is every group s names in request lists, approvals and
// break-glass approvals.
func usedGroups(s Set) map[string]bool {
	used := map[string]bool{}
	for _, p := range s.Policies {
		for _, e := range p.Request {
			if g, ok := strings.CutPrefix(e, prefixGroup); ok {
				used[g] = true
			}
		}
		for _, r := range p.Approve {
			used[r.Group] = true
		}
	}
	for _, w := range s.Windows {
		if w.BreakGlass != nil {
			for _, r := range w.BreakGlass.Approve {
				used[r.Group] = true
			}
		}
	}
	return used
}

func sameLimits(a, b *Limits) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// limitsWithin reports whether every replica count inner allows, outer
// allows too (nil: no limit).
func limitsWithin(inner, outer *Limits) bool {
	if outer == nil {
		return true
	}
	return inner != nil && inner.Min >= outer.Min && inner.Max <= outer.Max
}
