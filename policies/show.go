package policies

import (
	"fmt"
	"sort"
)

// Set returns a copy of the set the engine decides from, for comparing
// it with another (Compare) and showing it (Lines).
func (e *Engine) Set() Set { return cloneSet(e.set) }

// Lines renders s compactly, one line per policy (in the order they are
// tried), window and group, as `/cs policy show` and the web page show it.
func (s Set) Lines() []string {
	var lines []string
	for i, p := range s.Policies {
		lines = append(lines, fmt.Sprintf("%d. %s: %s", i+1, p.Name, policyText(p)))
	}
	if len(s.Policies) == 0 {
		lines = append(lines, "no policies: everything is refused (deny by default)")
	}
	for _, w := range s.Windows {
		lines = append(lines, fmt.Sprintf("window %s: %s", w.Name, windowText(w)))
	}
	names := make([]string, 0, len(s.Groups))
	for n := range s.Groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		lines = append(lines, fmt.Sprintf("group %s: %s", n, listText(s.Groups[n])))
	}
	return lines
}
