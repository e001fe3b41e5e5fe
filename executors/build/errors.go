package build

import "strings"

// LogError is a failure that Docker's log explains. Its text is Err's,
// then the last lines of the log, one a line, so that a message that
// shows the error ends with what Docker said.
type LogError struct {
	Err error
	// Lines are the last lines of the build's or the push's log, oldest
	// first (at most 20, each at most 300 bytes).
	Lines []string
}

func (e *LogError) Error() string {
	if len(e.Lines) == 0 {
		return e.Err.Error()
	}
	return e.Err.Error() + "\n" + strings.Join(e.Lines, "\n")
}

func (e *LogError) Unwrap() error { return e.Err }
