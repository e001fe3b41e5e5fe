package config

import (
	"strconv"
	"time"

	cs "github.com/countersign/countersign"
	"gopkg.in/yaml.v3"
)

// object is one YAML mapping being decoded. Reading a key marks it known
// and used; done then reports every key that nothing asked for, so the
// list of accepted keys is exactly the code that reads them.
type object struct {
	d     *decoder
	path  string
	line  int
	keys  []string              // in file order
	vals  map[string]*yaml.Node // value of each key
	kline map[string]int        // line of each key
	known map[string]bool       // keys the code asked about
}

// object checks that n is a mapping and indexes it, reporting duplicate
// keys. Merge keys (<<: *anchor) are honoured: explicit keys win, then
// earlier merged mappings. Absent or null n is an empty mapping.
func (d *decoder) object(n *yaml.Node, path string) *object {
	o := &object{d: d, path: path, vals: map[string]*yaml.Node{}, kline: map[string]int{}, known: map[string]bool{}}
	n = deref(n)
	if isNull(n) {
		if n != nil {
			o.line = n.Line
		}
		return o
	}
	o.line = n.Line
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, path, "want a mapping, got %s", describe(n))
		return o
	}
	first := map[string]int{}
	var merged []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSources(v, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.add(k.Line, path, "keys must be strings, got %s", describe(k))
			continue
		}
		if at, dup := first[k.Value]; dup {
			d.add(k.Line, child(path, k.Value), "duplicate key (first at line %d)", at)
			continue
		}
		first[k.Value] = k.Line
		o.keys = append(o.keys, k.Value)
		o.vals[k.Value] = v
		o.kline[k.Value] = k.Line
	}
	for _, m := range merged {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := deref(m.Content[i])
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
func (d *decoder) mergeSources(v *yaml.Node, path string) []*yaml.Node {
	v = deref(v)
	var out []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		out = append(out, v)
	case yaml.SequenceNode:
		for _, c := range v.Content {
			if c = deref(c); c.Kind == yaml.MappingNode {
				out = append(out, c)
			} else {
				d.add(c.Line, path, "merge (<<) wants mappings, got %s", describe(c))
			}
		}
	default:
		d.add(v.Line, path, "merge (<<) wants a mapping, got %s", describe(v))
	}
	return out
}

// sub is the path of key in this mapping.
func (o *object) sub(key string) string { return child(o.path, key) }

// has reports whether key is present with a non-null value.
func (o *object) has(key string) bool {
	o.known[key] = true
	return !isNull(deref(o.vals[key]))
}

// get returns key's value (aliases followed), or nil when absent, and
// remembers the key's line for problems found later.
func (o *object) get(key string) *yaml.Node {
	o.known[key] = true
	v := deref(o.vals[key])
	if v != nil {
		o.d.lines[o.sub(key)] = o.kline[key]
	}
	return v
}

// require reports each key that is absent, null or an empty string.
func (o *object) require(keys ...string) {
	for _, k := range keys {
		v := o.get(k)
		if isNull(v) || v.Kind == yaml.ScalarNode && v.Value == "" {
			line := o.line
			if v != nil {
				line = o.kline[k]
			}
			o.d.add(line, o.sub(k), "required")
		}
	}
}

// Typed reads of one key; see the decoder methods of the same names.
func (o *object) str(key string) string    { return o.d.str(o.get(key), o.sub(key)) }
func (o *object) strs(key string) []string { return o.d.strs(o.get(key), o.sub(key)) }
func (o *object) bool(key string) bool     { return o.d.bool(o.get(key), o.sub(key)) }
func (o *object) obj(key string) *object   { return o.d.object(o.get(key), o.sub(key)) }
func (o *object) list(key string) []*yaml.Node {
	return o.d.list(o.get(key), o.sub(key))
}
func (o *object) int(key string) (int, bool) { return o.d.int(o.get(key), o.sub(key)) }
func (o *object) duration(key string) (time.Duration, bool) {
	return o.d.duration(o.get(key), o.sub(key))
}

// entries returns every key, in file order, and marks them all known: for
// mappings whose keys are names (engines, hosts, groups).
func (o *object) entries() []string {
	for _, k := range o.keys {
		o.known[k] = true
	}
	return o.keys
}

// done reports every key nobody asked for.
func (o *object) done() {
	if o.d.sawKeys != nil {
		o.d.sawKeys(o.path, o.known)
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
		o.d.add(line, o.sub(k), "%s", msg)
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
