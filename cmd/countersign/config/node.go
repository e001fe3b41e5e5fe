package config

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node tree and collects every problem it meets,
// each with its path and line, instead of stopping at the first one as
// yaml.v3's own decoding does.
type decoder struct {
	opts     Options
	src      source
	problems []Problem
	warnings []Problem // see Config.Warnings
	// lines maps the path of every key and list item read to its line,
	// so that problems found after decoding (cross references, policies)
	// can name it.
	lines map[string]int
	// sawKeys, if set, is told each mapping's path and the keys the code
	// asked about there: how the schema tests compare the decoder with
	// configKeys.
	sawKeys func(path string, known map[string]bool)
}

func newDecoder(opts Options) *decoder {
	return &decoder{opts: opts, lines: map[string]int{}}
}

// add records a problem at a line. Values in it should be shown with
// quote; what still makes it long (text from other packages) is cut.
func (d *decoder) add(line int, path, format string, args ...any) {
	d.problems = append(d.problems, problem(line, path, format, args...))
}

// addAt records a problem at the line where path's value was read.
func (d *decoder) addAt(path, format string, args ...any) {
	d.add(d.lines[path], path, format, args...)
}

// warnAt records a warning at the line where path's value was read.
func (d *decoder) warnAt(path, format string, args ...any) {
	d.warnings = append(d.warnings, problem(d.lines[path], path, format, args...))
}

func problem(line int, path, format string, args ...any) Problem {
	return Problem{Path: bounded(path), Line: line, Message: bounded(fmt.Sprintf(format, args...))}
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or an explicit null.
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "want X, got Y" messages. It never
// shows a value, so that it is safe for secrets.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	}
	return "a string"
}

var simpleKey = regexp.MustCompile(`^[A-Za-z0-9_][-A-Za-z0-9_]*$`)

// child is the path of key in the mapping at path: `a.b`, or `a["x.y"]`
// for a key that would be ambiguous after a dot or is too long to show
// whole.
func child(path, key string) string {
	if len(key) > maxQuoted || !simpleKey.MatchString(key) {
		return path + "[" + quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// item is the path of the i-th element of the list at path.
func item(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// str reads a scalar as a string; null reads as "".
func (d *decoder) str(n *yaml.Node, path string) string {
	n = deref(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.add(n.Line, path, "want a string, got %s", describe(n))
		return ""
	}
	return n.Value
}

// strs reads a list of strings; null reads as nil.
func (d *decoder) strs(n *yaml.Node, path string) []string {
	items := d.list(n, path)
	if items == nil {
		return nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = d.str(it, item(path, i))
		d.lines[item(path, i)] = it.Line
	}
	return out
}

// list reads a sequence's items; null reads as nil, [] as an empty slice.
func (d *decoder) list(n *yaml.Node, path string) []*yaml.Node {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n.Line, path, "want a list, got %s", describe(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = deref(c)
	}
	return out
}

// int reads an integer; ok is false when absent or wrong.
func (d *decoder) int(n *yaml.Node, path string) (v int, ok bool) {
	n = deref(n)
	if isNull(n) {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.add(n.Line, path, "want an integer, got %s", quoteScalar(n))
		return 0, false
	}
	return v, true
}

// bool reads true or false; null reads as false.
func (d *decoder) bool(n *yaml.Node, path string) bool {
	n = deref(n)
	if isNull(n) {
		return false
	}
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		d.add(n.Line, path, "want true or false, got %s", quoteScalar(n))
		return false
	}
	return v
}

// duration reads a Go duration ("30m", "1h30m"); it must be positive.
func (d *decoder) duration(n *yaml.Node, path string) (time.Duration, bool) {
	s := d.str(n, path)
	if s == "" {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	switch {
	case err != nil:
		d.add(n.Line, path, "invalid duration %s (want e.g. 30m, 2h)", quote(s))
		return 0, false
	case v <= 0:
		d.add(n.Line, path, "duration %s must be positive", quote(s))
		return 0, false
	}
	return v, true
}

// quoteScalar shows a non-secret scalar in a message, or says what the
// node is if it is not a scalar.
func quoteScalar(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return describe(n)
	}
	return quote(n.Value)
}
