package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	cs "github.com/countersign/countersign"
)

// versionFormat starts the hashed encoding; change it if the encoding
// changes meaning.
const versionFormat = "countersign-policies-v1"

// version returns the hex SHA-256 of the canonical JSON encoding of s:
// policies and windows in order (order matters: first match wins), groups
// by name with their members sorted (their order does not matter), empty
// lists as [] and an unset time zone as UTC, so that sets that decide
// alike in these respects hash alike.
func version(s Set) string {
	c := cloneSet(s)
	for i := range c.Windows {
		if c.Windows[i].Deny.TZ == "" {
			c.Windows[i].Deny.TZ = "UTC"
		}
	}
	for name := range c.Groups {
		sort.Strings(c.Groups[name])
	}
	b, err := json.Marshal(struct {
		Format   string              `json:"format"`
		Policies []Policy            `json:"policies"`
		Windows  []Window            `json:"windows"`
		Groups   map[string][]string `json:"groups"` // encoding/json sorts map keys
	}{versionFormat, c.Policies, c.Windows, c.Groups})
	if err != nil { // plain data only: cannot happen
		panic("policies: encode set: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// cloneSet deep-copies s so that the engine never shares memory with its
// caller. Nil lists become empty ones.
func cloneSet(s Set) Set {
	c := Set{
		Policies: make([]Policy, len(s.Policies)),
		Windows:  make([]Window, len(s.Windows)),
		Groups:   make(map[string][]string, len(s.Groups)),
	}
	for i, p := range s.Policies {
		p.Actions = cloneList(p.Actions)
		p.Targets = cloneList(p.Targets)
		p.Request = cloneList(p.Request)
		p.Approve = cloneList(p.Approve)
		if p.Auto != nil {
			p.Auto = &Auto{Branches: cloneList(p.Auto.Branches)}
		}
		if p.Scale != nil {
			l := *p.Scale
			p.Scale = &l
		}
		c.Policies[i] = p
	}
	for i, w := range s.Windows {
		w.Actions = cloneList(w.Actions)
		w.Targets = cloneList(w.Targets)
		if w.BreakGlass != nil {
			w.BreakGlass = &BreakGlass{Approve: cloneList(w.BreakGlass.Approve)}
		}
		c.Windows[i] = w
	}
	for name, members := range s.Groups {
		c.Groups[name] = cloneList(members)
	}
	return c
}

func cloneList[T string | cs.ActionKind | cs.Requirement](s []T) []T {
	return append([]T{}, s...)
}
