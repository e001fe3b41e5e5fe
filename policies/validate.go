package policies

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode"

	cs "github.com/countersign/countersign"
)

// ValidationError lists everything wrong with a Set, each problem with its
// config path. New returns it; callers find it with errors.As and print
// one problem per line.
type ValidationError struct {
	Problems []Problem
}

// Problem is one thing wrong with a Set: Path is where in the config, as
// in `policies[1].approve[0].group`; Message says what is wrong.
type Problem struct {
	Path, Message string
}

// String returns "PATH: message".
func (p Problem) String() string { return p.Path + ": " + p.Message }

// Error returns every problem, one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// checker collects problems.
type checker struct {
	problems []Problem
}

func (c *checker) add(path, msg string) {
	c.problems = append(c.problems, Problem{Path: path, Message: msg})
}

// validate checks the whole set and parses the window spans.
func validate(s Set) ([]span, []Problem) {
	c := &checker{}
	c.groups(s.Groups)
	names := map[string]string{}
	for i, p := range s.Policies {
		c.policy(s.Groups, fmt.Sprintf("policies[%d]", i), p, names)
	}
	spans := make([]span, len(s.Windows))
	names = map[string]string{}
	for i, w := range s.Windows {
		spans[i] = c.window(s.Groups, fmt.Sprintf("windows[%d]", i), w, names)
	}
	return spans, c.problems
}

func (c *checker) groups(groups map[string][]string) {
	names := make([]string, 0, len(groups))
	for name := range groups {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := "groups." + name
		if name == "" || strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == ':' }) {
			c.add("groups", fmt.Sprintf("bad group name %q (no spaces or ':')", name))
			continue
		}
		for j, m := range groups[name] {
			mp := fmt.Sprintf("%s[%d]", p, j)
			id, isUsergroup := strings.CutPrefix(m, prefixUsergroup)
			switch {
			case m == "":
				c.add(mp, "empty member")
			case strings.ContainsFunc(m, unicode.IsSpace):
				c.add(mp, fmt.Sprintf("bad member %q: contains spaces", m))
			case isUsergroup && id == "":
				c.add(mp, `"usergroup:" needs a Slack user group ID, e.g. usergroup:S0DEVS`)
			case strings.HasPrefix(m, prefixGroup):
				c.add(mp, fmt.Sprintf("groups cannot contain groups (%q); list its members", m))
			case !isUsergroup && strings.Contains(m, ":"):
				c.add(mp, fmt.Sprintf("bad member %q (want a Slack user ID or usergroup:ID)", m))
			}
		}
	}
}

func (c *checker) policy(groups map[string][]string, p string, pol Policy, names map[string]string) {
	c.name(p, "policy", pol.Name, names)
	c.actions(p+".actions", pol.Actions)
	c.targets(p+".targets", pol.Targets)
	c.request(p+".request", groups, pol.Request)
	c.requires(p+".approve", groups, pol.Approve)
	if pol.Auto != nil {
		if len(pol.Auto.Branches) == 0 {
			c.add(p+".auto.branches", "must list at least one branch")
		}
		for j, b := range pol.Auto.Branches {
			if strings.TrimSpace(b) == "" {
				c.add(fmt.Sprintf("%s.auto.branches[%d]", p, j), "empty branch name")
			}
		}
	}
	if pol.Expires < 0 {
		c.add(p+".expires", "must not be negative")
	}
	if l := pol.Scale; l != nil {
		if l.Min < 0 {
			c.add(p+".scale.min", fmt.Sprintf("must not be negative, not %d", l.Min))
		}
		if l.Min > l.Max {
			c.add(p+".scale", fmt.Sprintf("min %d is greater than max %d", l.Min, l.Max))
		}
	}
}

func (c *checker) window(groups map[string][]string, p string, w Window, names map[string]string) span {
	c.name(p, "window", w.Name, names)
	c.actions(p+".actions", w.Actions)
	c.targets(p+".targets", w.Targets)
	sp, _ := parseSpan(c, p+".deny", w.Deny)
	if w.BreakGlass != nil {
		if len(w.BreakGlass.Approve) == 0 {
			c.add(p+".break_glass.approve", "must list at least one approval; leave break_glass out to refuse all exceptions")
		}
		c.requires(p+".break_glass.approve", groups, w.BreakGlass.Approve)
	}
	return sp
}

// name checks a policy or window name: present and unique. names maps
// the names seen so far to their paths.
func (c *checker) name(p, what, name string, names map[string]string) {
	if strings.TrimSpace(name) == "" {
		c.add(p+".name", "missing name")
		return
	}
	if first, dup := names[name]; dup {
		c.add(p+".name", fmt.Sprintf("duplicate %s name %q (also %s)", what, name, first))
		return
	}
	names[name] = p
}

func (c *checker) actions(p string, kinds []cs.ActionKind) {
	if len(kinds) == 0 {
		c.add(p, "must list at least one action")
	}
	for j, k := range kinds {
		if !k.Valid() {
			c.add(fmt.Sprintf("%s[%d]", p, j), fmt.Sprintf("unknown action %q (want one of %s)", k, kindList()))
		}
	}
}

func kindList() string {
	kinds := cs.ActionKinds()
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func (c *checker) targets(p string, globs []string) {
	if len(globs) == 0 {
		c.add(p, `must list at least one target ("*" for all)`)
	}
	for j, g := range globs {
		jp := fmt.Sprintf("%s[%d]", p, j)
		if g == "" {
			c.add(jp, "empty target")
			continue
		}
		// path.Match checks the whole pattern even when the name does not match.
		if _, err := path.Match(g, ""); err != nil {
			c.add(jp, fmt.Sprintf("bad glob %q: %v", g, err))
		}
	}
}

func (c *checker) request(p string, groups map[string][]string, entries []string) {
	if len(entries) == 0 {
		c.add(p, "must list who may request (push, group:NAME, usergroup:ID or a user ID)")
	}
	for j, e := range entries {
		jp := fmt.Sprintf("%s[%d]", p, j)
		group, isGroup := strings.CutPrefix(e, prefixGroup)
		id, isUsergroup := strings.CutPrefix(e, prefixUsergroup)
		login, isGitHub := strings.CutPrefix(e, prefixGitHubUser)
		switch {
		case e == "":
			c.add(jp, "empty entry")
		case strings.ContainsFunc(e, unicode.IsSpace):
			c.add(jp, fmt.Sprintf("bad entry %q: contains spaces", e))
		case e == requestPush:
		case isGroup:
			if _, ok := groups[group]; !ok {
				c.add(jp, fmt.Sprintf("unknown group %q", group))
			}
		case isUsergroup:
			if id == "" {
				c.add(jp, `"usergroup:" needs a Slack user group ID, e.g. usergroup:S0DEVS`)
			}
		case isGitHub:
			if login == "" {
				c.add(jp, `"github:" needs a login`)
			}
		case strings.Contains(e, ":"):
			c.add(jp, fmt.Sprintf("unknown requester %q (want push, group:NAME, usergroup:ID or a user ID)", e))
		}
	}
}

// requires checks approval lines: known groups, each once, counts of at
// least 1 that the groups can fill (as far as we can tell: a group with a
// Slack user group in it can have any size).
func (c *checker) requires(p string, groups map[string][]string, reqs []cs.Requirement) {
	seen := map[string]string{}
	sized, lineProblem := true, false
	union := map[string]bool{}
	total := 0
	for j, r := range reqs {
		jp := fmt.Sprintf("%s[%d]", p, j)
		members, known := groups[r.Group]
		switch {
		case r.Group == "":
			c.add(jp+".group", "missing group")
		case !known:
			c.add(jp+".group", fmt.Sprintf("unknown group %q", r.Group))
		}
		if first, dup := seen[r.Group]; dup && r.Group != "" {
			c.add(jp+".group", fmt.Sprintf("group %q is already listed at %s; raise its count instead", r.Group, first))
			lineProblem = true
		} else {
			seen[r.Group] = jp
		}
		if r.Count < 1 {
			c.add(jp+".count", fmt.Sprintf("must be at least 1, not %d", r.Count))
			lineProblem = true
			continue
		}
		people, fixed := directMembers(members)
		if !known || !fixed {
			sized = false
			continue
		}
		if r.Count > len(people) {
			c.add(jp+".count", fmt.Sprintf("needs %d approvals but group %q has %s", r.Count, r.Group, plural(len(people), "member")))
			lineProblem = true
		}
		for _, a := range people {
			union[a] = true
		}
		total += r.Count
	}
	if sized && !lineProblem && len(reqs) > 1 && total > len(union) {
		c.add(p, fmt.Sprintf("needs %d distinct approvers but its groups have %s together", total, plural(len(union), "member")))
	}
}

// directMembers returns the distinct user members of a group; fixed is
// false when the group includes a Slack user group, whose size is unknown.
func directMembers(members []string) (people []string, fixed bool) {
	seen := map[string]bool{}
	for _, m := range members {
		if strings.HasPrefix(m, prefixUsergroup) {
			return nil, false
		}
		if !seen[m] {
			seen[m] = true
			people = append(people, m)
		}
	}
	return people, true
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
