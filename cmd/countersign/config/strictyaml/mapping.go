package strictyaml

import (
	"strconv"
	"time"

	cs "github.com/countersign/countersign"
	"gopkg.in/yaml.v3"
)

// Mapping is one YAML mapping being decoded. Reading a key marks it known
// and used; Done then reports every key that nothing asked for, so the
// list of accepted keys is exactly the code that reads them.
type Mapping struct {
	d     *Decoder
	path  string
	line  int
	keys  []string              // in file order
	vals  map[string]*yaml.Node // value of each key
	kline map[string]int        // line of each key
	known map[string]bool       // keys the code asked about
}

// Mapping checks that n is a mapping and indexes it, reporting duplicate
// keys. Merge keys (<<: *anchor) are honoured: explicit keys win, then
// earlier merged mappings. Absent or null n is an empty mapping.
func (d *Decoder) Mapping(n *yaml.Node, path string) *Mapping {
	o := &Mapping{d: d, path: path, vals: map[string]*yaml.Node{}, kline: map[string]int{}, known: map[string]bool{}}
	n = Deref(n)
	if IsNull(n) {
		if n != nil {
			o.line = n.Line
		}
		return o
	}
	o.line = n.Line
	if n.Kind != yaml.MappingNode {
		d.Add(n.Line, path, "want a mapping, got %s", Describe(n))
		return o
	}
	first := map[string]int{}
	var merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Deref(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSources(v, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.Add(k.Line, path, "keys must be strings, got %s", Describe(k))
			continue
		}
		if at, dup := first[k.Value]; dup {
			d.Add(k.Line, Child(path, k.Value), "duplicate key (first at line %d)", at)
			continue
		}
		first[k.Value] = k.Line
		o.keys = append(o.keys, k.Value)
		o.vals[k.Value] = v
		o.kline[k.Value] = k.Line
	}
	for _, m := range merged {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := Deref(m.Content[i])
			if k.Kind != yaml.ScalarNode {
				continue
			}
			if _, ok := o.vals[k.Value]; !ok {
				o.keys = append(o.keys, k.Value)
				o.vals[k.Value] = m.Content[i+1]
				o.kline[k.Value] = k.Line
			}
		}
	}
	return o
}

// mergeSources returns the mappings a merge key's value names.
func (d *Decoder) mergeSources(v *yaml.Node, path string) []*yaml.Node {
	v = Deref(v)
	var out []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		out = append(out, v)
	case yaml.SequenceNode:
		for _, c := range v.Content {
			if c = Deref(c); c.Kind == yaml.MappingNode {
				out = append(out, c)
			} else {
				d.Add(c.Line, path, "merge (<<) wants mappings, got %s", Describe(c))
			}
		}
	default:
		d.Add(v.Line, path, "merge (<<) wants a mapping, got %s", Describe(v))
	}
	return out
}

// Path is where this mapping is in the file.
func (o *Mapping) Path() string { return o.path }

// Line is the mapping's line, for a problem about a key it lacks.
func (o *Mapping) Line() int { return o.line }

// Sub is the path of key in this mapping.
func (o *Mapping) Sub(key string) string { return Child(o.path, key) }

// Has reports whether key is present with a non-null value.
func (o *Mapping) Has(key string) bool {
	o.known[key] = true
	return !IsNull(Deref(o.vals[key]))
}

// Get returns key's value (aliases followed), or nil when absent, and
// remembers the key's line for problems found later.
func (o *Mapping) Get(key string) *yaml.Node {
	o.known[key] = true
	v := Deref(o.vals[key])
	if v != nil {
		o.d.lines[o.Sub(key)] = o.kline[key]
	}
	return v
}

// Require reports each key that is absent, null or an empty string.
func (o *Mapping) Require(keys ...string) {
	for _, k := range keys {
		v := o.Get(k)
		if IsNull(v) || v.Kind == yaml.ScalarNode && v.Value == "" {
			line := o.line
			if v != nil {
				line = o.kline[k]
			}
			o.d.Add(line, o.Sub(k), "required")
		}
	}
}

// Typed reads of one key; see the Decoder methods of the same names.
func (o *Mapping) Str(key string) string        { return o.d.Str(o.Get(key), o.Sub(key)) }
func (o *Mapping) Strs(key string) []string     { return o.d.Strs(o.Get(key), o.Sub(key)) }
func (o *Mapping) Bool(key string) bool         { return o.d.Bool(o.Get(key), o.Sub(key)) }
func (o *Mapping) Mapping(key string) *Mapping  { return o.d.Mapping(o.Get(key), o.Sub(key)) }
func (o *Mapping) List(key string) []*yaml.Node { return o.d.List(o.Get(key), o.Sub(key)) }
func (o *Mapping) Int(key string) (int, bool)   { return o.d.Int(o.Get(key), o.Sub(key)) }
func (o *Mapping) Duration(key string) (time.Duration, bool) {
	return o.d.Duration(o.Get(key), o.Sub(key))
}

// Entries returns every key, in file order, and marks them all known: for
// mappings whose keys are names the file chooses.
func (o *Mapping) Entries() []string {
	for _, k := range o.keys {
		o.known[k] = true
	}
	return o.keys
}

// Done reports every key nobody asked for, with the nearest known key
// when one is a likely typo.
func (o *Mapping) Done() {
	if o.d.SawKeys != nil {
		o.d.SawKeys(o.path, o.known)
	}
	for _, k := range o.keys {
		if o.known[k] {
			continue
		}
		line := o.kline[k]
		msg := "unknown key"
		if s := closest(k, o.known); s != "" {
			msg += " (did you mean " + strconv.Quote(s) + "?)"
		}
		o.d.Add(line, o.Sub(k), "%s", msg)
	}
}

// closest returns the known key nearest to k by edit distance, if it is
// near enough to be a likely typo.
func closest(k string, known map[string]bool) string {
	if len(k) > 64 {
		return "" // no key is this long, and the distance costs len(k) per key
	}
	best, bestD := "", 3
	for c := range known {
		if dist := cs.EditDistance(k, c); dist < bestD || dist == bestD && c < best && best != "" {
			best, bestD = c, dist
		}
	}
	if bestD > 2 || bestD >= len(k) {
		return ""
	}
	return best
}
