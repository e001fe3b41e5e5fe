package config

import (
	"errors"
	"strings"

	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
	"github.com/countersign/countersign/policies"
)

// policies decodes the policies list into the policies package's types,
// strictly. What the policies mean is checked by checkPolicies.
func (d *decoder) policies(parent *object, key string) []policies.Policy {
	items := parent.List(key)
	if items == nil {
		return nil
	}
	out := make([]policies.Policy, len(items))
	for i, n := range items {
		p := strictyaml.Item(parent.Sub(key), i)
		d.SetLine(p, n.Line)
		o := d.object(n, p)
		o.Require("name", "actions", "targets")
		d.Fields(o.Mapping, &out[i])
		o.Done()
	}
	return out
}

// windows decodes the windows list, as policies does.
func (d *decoder) windows(parent *object, key string) []policies.Window {
	items := parent.List(key)
	if items == nil {
		return nil
	}
	out := make([]policies.Window, len(items))
	for i, n := range items {
		p := strictyaml.Item(parent.Sub(key), i)
		d.SetLine(p, n.Line)
		o := d.object(n, p)
		o.Require("name", "actions", "targets", "deny")
		d.Fields(o.Mapping, &out[i])
		o.Done()
	}
	return out
}

// checkPolicies has policies.New check the policies, windows and groups
// as a whole, and adds its problems. A problem on a path related to one
// already reported (the same key, inside it or around it) is a knock-on
// of it and is left out.
func (d *decoder) checkPolicies(c *Config) {
	_, err := policies.New(policies.Set{Policies: c.Policies, Windows: c.Windows, Groups: c.Groups})
	if err == nil {
		return
	}
	var ve *policies.ValidationError
	if !errors.As(err, &ve) {
		d.Add(0, "policies", "%v", err)
		return
	}
	mine := make([]string, len(d.Problems()))
	for i, p := range d.Problems() {
		mine[i] = p.Path
	}
	for _, p := range ve.Problems {
		if relatedToAny(p.Path, mine) {
			continue
		}
		d.Add(d.lineFor(p.Path), p.Path, "%s", p.Message)
	}
}

// relatedToAny reports whether path is one of paths, inside one, or
// holds one.
func relatedToAny(path string, paths []string) bool {
	for _, q := range paths {
		if q == "" {
			continue
		}
		if within(path, q) || within(q, path) {
			return true
		}
	}
	return false
}

// within reports whether path is q or a key or item below q.
func within(path, q string) bool {
	return path == q || strings.HasPrefix(path, q) && (path[len(q)] == '.' || path[len(q)] == '[')
}

// lineFor returns the line of path, or of the nearest enclosing path
// that was read.
func (d *decoder) lineFor(path string) int {
	for path != "" {
		if l, ok := d.Line(path); ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}
