package policies

import (
	"errors"
	"fmt"
	"path"
	"strings"

	cs "github.com/countersign/countersign"
)

// Prefixes of the entries of a policy's request list and of group members.
const (
	requestPush      = "push"
	prefixGroup      = "group:"
	prefixUsergroup  = "usergroup:"
	prefixGitHubUser = "github:"
)

// actionTarget returns the name that policies and windows match against:
// the action's target, and for DNS the record name in lower case without
// its trailing dot. A DNS action whose target and record name differ is an
// error, since the record is what would change.
func actionTarget(a cs.Action) (string, error) {
	t := a.Target
	if a.Kind == cs.ActionDNS {
		t = dnsName(t)
		if a.DNS != nil {
			n := dnsName(a.DNS.Name)
			switch {
			case t == "":
				t = n
			case n != "" && n != t:
				return "", fmt.Errorf("dns target %q and record name %q differ", a.Target, a.DNS.Name)
			}
		}
	}
	if t == "" {
		return "", errors.New("the action has no target")
	}
	return t, nil
}

// dnsName is the form DNS names are compared in.
func dnsName(s string) string { return strings.TrimSuffix(strings.ToLower(s), ".") }

// matchTarget reports whether one of the globs (path.Match) matches target.
// For DNS the globs are compared in dnsName form, as the target is.
func matchTarget(globs []string, kind cs.ActionKind, target string) bool {
	for _, g := range globs {
		if kind == cs.ActionDNS {
			g = dnsName(g)
		}
		if ok, err := path.Match(g, target); err == nil && ok {
			return true
		}
	}
	return false
}

// mayRequest reports whether one of the request entries admits the
// requester of in.
func (e *Engine) mayRequest(entries []string, in Input) bool {
	if in.Action.Kind == cs.ActionPolicy && in.Source == cs.SourceBot && in.Requester == cs.ActorBot {
		return true // the bot may always propose a config it was sent (SIGHUP); approvers decide
	}
	for _, entry := range entries {
		if e.admits(entry, in) {
			return true
		}
	}
	return false
}

// admits reports whether one request entry admits in: "push" any push,
// "group:NAME" a member of the config group, "usergroup:ID" a member of
// the Slack user group, anything else that exact requester.
func (e *Engine) admits(entry string, in Input) bool {
	if entry == requestPush {
		return in.Source == cs.SourcePush
	}
	if name, ok := strings.CutPrefix(entry, prefixGroup); ok {
		return e.inGroup(name, in.Requester, in.Usergroups)
	}
	if id, ok := strings.CutPrefix(entry, prefixUsergroup); ok {
		return inUsergroup(id, in.Requester, in.Usergroups)
	}
	return in.Requester != "" && cs.Actor(entry) == in.Requester
}

// inGroup reports whether a is a member of config group name, directly or
// through a "usergroup:ID" member resolved in usergroups.
func (e *Engine) inGroup(name string, a cs.Actor, usergroups map[string][]cs.Actor) bool {
	if a == "" {
		return false
	}
	for _, m := range e.set.Groups[name] {
		if id, ok := strings.CutPrefix(m, prefixUsergroup); ok {
			if inUsergroup(id, a, usergroups) {
				return true
			}
			continue
		}
		if cs.Actor(m) == a {
			return true
		}
	}
	return false
}

// groupActors lists the people in config group name that usergroups lets
// us know of, without duplicates, in config order.
func (e *Engine) groupActors(name string, usergroups map[string][]cs.Actor) []cs.Actor {
	var out []cs.Actor
	seen := map[cs.Actor]bool{}
	add := func(a cs.Actor) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, m := range e.set.Groups[name] {
		if id, ok := strings.CutPrefix(m, prefixUsergroup); ok {
			for _, a := range usergroups[id] {
				add(a)
			}
			continue
		}
		add(cs.Actor(m))
	}
	return out
}

func inUsergroup(id string, a cs.Actor, usergroups map[string][]cs.Actor) bool {
	if a == "" {
		return false
	}
	for _, m := range usergroups[id] {
		if m == a {
			return true
		}
	}
	return false
}

// describeRequester names who asked, for reasons.
func describeRequester(in Input) string {
	who := string(in.Requester)
	if who == "" {
		who = "nobody named"
	}
	if in.Source == cs.SourcePush {
		if in.Action.Branch != "" {
			return fmt.Sprintf("%s (push on branch %s)", who, in.Action.Branch)
		}
		return who + " (push)"
	}
	return who
}

func describeList(entries []string) string {
	if len(entries) == 0 {
		return "nobody"
	}
	return strings.Join(entries, ", ")
}
