package strictyaml

import (
	"regexp"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Deref follows aliases.
func Deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// IsNull reports whether n is absent or an explicit null.
func IsNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// Describe names what a node is, for "want X, got Y" messages. It never
// shows a value, so that it is safe for secrets.
func Describe(n *yaml.Node) string {
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

// Child is the path of key in the mapping at path: `a.b`, or `a["x.y"]`
// for a key that would be ambiguous after a dot or is too long to show
// whole.
func Child(path, key string) string {
	if len(key) > maxQuoted || !simpleKey.MatchString(key) {
		return path + "[" + Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// Item is the path of the i-th element of the list at path.
func Item(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Step is one step of a path: a key of a mapping, or an item of a list
// when Item is true.
type Step struct {
	Key   string
	Index int
	Item  bool
}

var pathStep = regexp.MustCompile(`^(?:\.?([A-Za-z0-9_][-A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\])`)

// SplitPath splits a path that Child and Item made back into its steps,
// for a caller that walks its own description of the file (a schema)
// along a problem's path. ok is false when path is not such a path, or
// holds a key too long to have been shown whole.
func SplitPath(path string) (steps []Step, ok bool) {
	for path != "" {
		m := pathStep.FindStringSubmatch(path)
		if m == nil {
			return nil, false
		}
		path = path[len(m[0]):]
		switch {
		case m[1] != "":
			steps = append(steps, Step{Key: m[1]})
		case m[2] != "":
			i, err := strconv.Atoi(m[2])
			if err != nil {
				return nil, false
			}
			steps = append(steps, Step{Index: i, Item: true})
		default:
			k, err := strconv.Unquote(m[3])
			if err != nil {
				return nil, false
			}
			steps = append(steps, Step{Key: k})
		}
	}
	return steps, true
}

// Str reads a scalar as a string; null reads as "".
func (d *Decoder) Str(n *yaml.Node, path string) string {
	n = Deref(n)
	if IsNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		d.Add(n.Line, path, "want a string, got %s", Describe(n))
		return ""
	}
	return n.Value
}

// Strs reads a list of strings; null reads as nil.
func (d *Decoder) Strs(n *yaml.Node, path string) []string {
	items := d.List(n, path)
	if items == nil {
		return nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = d.Str(it, Item(path, i))
		d.lines[Item(path, i)] = it.Line
	}
	return out
}

// List reads a sequence's items; null reads as nil, [] as an empty slice.
func (d *Decoder) List(n *yaml.Node, path string) []*yaml.Node {
	n = Deref(n)
	if IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.Add(n.Line, path, "want a list, got %s", Describe(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = Deref(c)
	}
	return out
}

// Int reads an integer; ok is false when absent or wrong.
func (d *Decoder) Int(n *yaml.Node, path string) (v int, ok bool) {
	n = Deref(n)
	if IsNull(n) {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		d.Add(n.Line, path, "want an integer, got %s", quoteScalar(n))
		return 0, false
	}
	return v, true
}

// Bool reads true or false; null reads as false.
func (d *Decoder) Bool(n *yaml.Node, path string) bool {
	n = Deref(n)
	if IsNull(n) {
		return false
	}
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		d.Add(n.Line, path, "want true or false, got %s", quoteScalar(n))
		return false
	}
	return v
}

// Duration reads a Go duration ("30m", "1h30m"); it must be positive.
func (d *Decoder) Duration(n *yaml.Node, path string) (time.Duration, bool) {
	s := d.Str(n, path)
	if s == "" {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	switch {
	case err != nil:
		d.Add(n.Line, path, "invalid duration %s (want e.g. 30m, 2h)", Quote(s))
		return 0, false
	case v <= 0:
		d.Add(n.Line, path, "duration %s must be positive", Quote(s))
		return 0, false
	}
	return v, true
}

// quoteScalar shows a non-secret scalar in a message, or says what the
// node is if it is not a scalar.
func quoteScalar(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return Describe(n)
	}
	return Quote(n.Value)
}
