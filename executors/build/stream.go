package build

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/docker/docker/pkg/jsonmessage"
)

// Bounds of the log kept for an error message.
const (
	tailLines   = 20  // lines kept
	maxLineSize = 300 // bytes of one line kept
)

// engineError is an error the engine reported inside a message stream;
// the HTTP status of a build or push is 200 all the same.
type engineError struct{ msg string }

func (e *engineError) Error() string { return e.msg }

// readStream decodes the engine's JSON message stream until it ends,
// calling on for each message. A message with an error ends the stream
// with an *engineError; a stream cut short ends it with the read error.
func readStream(r io.Reader, on func(*jsonmessage.JSONMessage) error) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonmessage.JSONMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the engine's messages: %w", err)
		}
		if m.Error != nil && m.Error.Message != "" {
			return &engineError{msg: m.Error.Message}
		}
		//lint:ignore SA1019 older engines may set only "error"
		if m.ErrorMessage != "" {
			return &engineError{msg: m.ErrorMessage}
		}
		if err := on(&m); err != nil {
			return err
		}
	}
}

// tail keeps the last lines of a log. The engine splits lines across
// messages ("Step 1/3 : FROM scratch", then "\n"), so text is gathered
// until its newline.
type tail struct {
	lines   []string
	partial strings.Builder
}

// write adds text and calls line for each line it completes.
func (t *tail) write(text string, line func(string)) {
	for text != "" {
		before, after, ok := strings.Cut(text, "\n")
		t.partial.WriteString(before)
		if !ok {
			return
		}
		t.flush(line)
		text = after
	}
}

// flush ends the partial line, if any.
func (t *tail) flush(line func(string)) {
	s := t.partial.String()
	t.partial.Reset()
	if l := t.add(s); l != "" && line != nil {
		line(l)
	}
}

// add keeps one line as a terminal would show it (after its last
// carriage return, without trailing space, shortened) and returns it; ""
// for an empty line, which is not kept.
func (t *tail) add(s string) string {
	if i := strings.LastIndexByte(strings.TrimRight(s, "\r"), '\r'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimRight(s, " \t\r")
	if s == "" {
		return ""
	}
	if len(s) > maxLineSize {
		cut := maxLineSize
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	if len(t.lines) == tailLines {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:tailLines-1]
	}
	t.lines = append(t.lines, s)
	return s
}

// dropLast forgets the last line kept.
func (t *tail) dropLast() {
	if len(t.lines) > 0 {
		t.lines = t.lines[:len(t.lines)-1]
	}
}

// last returns a copy of the lines kept, oldest first.
func (t *tail) last() []string {
	if t.partial.Len() > 0 {
		t.flush(nil)
	}
	return append([]string(nil), t.lines...)
}
