package config

import (
	"strings"

	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
)

// Problem is one thing wrong with a config file: its path (e.g.
// `services[1].host`; empty for the whole file), its line (0 when
// unknown) and a message that never contains a secret's value. Its
// String is the form of `countersign config check`.
type Problem = strictyaml.Problem

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

// errorsOrNil returns ps as an *Errors, or nil when there are none.
func errorsOrNil(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	strictyaml.SortByLine(ps)
	return &Errors{Problems: ps}
}
