// Package strictyaml decodes YAML strictly and reports every problem at
// once: a key nothing reads is an error, a value of the wrong type is an
// error, and each problem names its path (`a.b[2]`) and line. yaml.v3's
// own decoding stops at the first error and ignores unknown keys; a
// config file deserves better.
//
// The code that reads a file says what is accepted: each Mapping knows
// the keys it was asked about, and Done reports the rest as unknown. This
// package knows YAML and paths only; what the keys mean is the caller's.
//
// Problems never show a value whole: Quote cuts what a message shows of
// the file, and Describe names what a node is without showing it, so that
// a secret in the wrong place is not echoed back.
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a file.
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

// String formats the problem as `PATH: message`, or `line N: message`
// when it has no path.
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

// SortByLine puts problems in file order; those without a line keep
// their order and go last.
func SortByLine(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		li, lj := ps[i].Line, ps[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
}

// Decoder walks a yaml.Node tree and collects every problem it meets,
// each with its path and line, instead of stopping at the first one as
// yaml.v3's own decoding does.
type Decoder struct {
	problems []Problem
	warnings []Problem
	// lines maps the path of every key and list item read to its line,
	// so that problems found after decoding (cross references, checks
	// made by other packages) can name it.
	lines map[string]int
	// SawKeys, if set, is told each mapping's path and the keys the code
	// asked about there when Done is called: how a caller compares what
	// its code reads with a table of keys (a schema).
	SawKeys func(path string, known map[string]bool)
}

// NewDecoder returns a Decoder with no problems yet.
func NewDecoder() *Decoder {
	return &Decoder{lines: map[string]int{}}
}

// Problems returns the problems recorded so far, in the order they were
// found (SortByLine puts them in file order).
func (d *Decoder) Problems() []Problem { return d.problems }

// Warnings returns the warnings recorded so far, as Problems does.
func (d *Decoder) Warnings() []Problem { return d.warnings }

// Add records a problem at a line. Values in it should be shown with
// Quote; what still makes it long (text from other packages) is cut.
func (d *Decoder) Add(line int, path, format string, args ...any) {
	d.problems = append(d.problems, problem(line, path, format, args...))
}

// AddAt records a problem at the line where path's value was read.
func (d *Decoder) AddAt(path, format string, args ...any) {
	d.Add(d.lines[path], path, format, args...)
}

// WarnAt records a warning at the line where path's value was read.
func (d *Decoder) WarnAt(path, format string, args ...any) {
	d.warnings = append(d.warnings, problem(d.lines[path], path, format, args...))
}

// Line returns the line where path's key or item was read, if it was.
func (d *Decoder) Line(path string) (int, bool) {
	l, ok := d.lines[path]
	return l, ok
}

// SetLine records the line of path, for a list item the caller reads
// itself (see List).
func (d *Decoder) SetLine(path string, line int) { d.lines[path] = line }

func problem(line int, path, format string, args ...any) Problem {
	return Problem{Path: bounded(path), Line: line, Message: bounded(fmt.Sprintf(format, args...))}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Document parses data as exactly one YAML document whose top is a
// mapping and returns that mapping's node, or nil after recording why
// not (empty, a syntax error, more than one document, not a mapping).
func (d *Decoder) Document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.Add(0, "", "the file is empty")
		} else {
			d.syntax(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.Add(next.Line, "", "more than one YAML document")
		return nil
	case !errors.Is(err, io.EOF):
		d.syntax(err)
		return nil
	}
	if len(doc.Content) == 0 || IsNull(doc.Content[0]) {
		d.Add(0, "", "the file is empty")
		return nil
	}
	top := Deref(doc.Content[0])
	if top.Kind != yaml.MappingNode {
		d.Add(top.Line, "", "want a mapping of keys at the top, got %s", Describe(top))
		return nil
	}
	return top
}

// syntax records a YAML syntax error, with its line when yaml.v3 gives one.
func (d *Decoder) syntax(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.Add(line, "", "YAML syntax: %s", m[2])
		return
	}
	d.Add(0, "", "YAML syntax: %s", msg)
}
