package config

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a config file.
type Problem struct {
	// Path locates the key, e.g. `services[1].host`, `slack.bot_token_file`,
	// `policies[0].approve[0].group`. Empty for a problem with the whole
	// file (a YAML syntax error, an empty file).
	Path string
	// Line is the 1-based line in the file, 0 when unknown.
	Line int
	// Message says what is wrong. It never contains a secret's value.
	Message string
}

// String formats the problem as `PATH: message` (the form of `countersign
// config check`), or `line N: message` when it has no path.
func (p Problem) String() string {
	switch {
	case p.Path != "":
		return p.Path + ": " + p.Message
	case p.Line > 0:
		return "line " + strconv.Itoa(p.Line) + ": " + p.Message
	default:
		return p.Message
	}
}

// Errors is every problem found in a config, in file order. Load, Parse
// and CheckServe return it as their error, so that all problems can be
// shown at once; get it back with errors.As.
type Errors struct {
	Problems []Problem
}

// Error joins the problems, one `PATH: message` per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems puts problems in file order; those without a line keep
// their order and go last.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		li, lj := ps[i].Line, ps[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
}

// errorsOrNil returns ps as an *Errors, or nil when there are none.
func errorsOrNil(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	sortProblems(ps)
	return &Errors{Problems: ps}
}
