package config

import (
	"time"

	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
	"gopkg.in/yaml.v3"
)

// decoder reads a config file: strictyaml's decoder, which knows YAML and
// paths, with what the domain's checks need besides (the options, the
// file read). The domain's reads are methods on it and on object, in the
// file of the section they read.
type decoder struct {
	*strictyaml.Decoder
	opts Options
	src  source
}

func newDecoder(opts Options) *decoder {
	return &decoder{Decoder: strictyaml.NewDecoder(), opts: opts}
}

// object is one mapping of the file, as the domain reads it: strictyaml's
// Mapping, which the domain's reads of secrets and local paths (secret.go,
// files.go) extend, and whose sub-mappings are objects again.
type object struct {
	*strictyaml.Mapping
	d    *decoder
	line int // the mapping's line, for a problem about a key it lacks
}

// object checks that n is a mapping and indexes it; see strictyaml's
// Decoder.Mapping.
func (d *decoder) object(n *yaml.Node, path string) *object {
	m := d.Mapping(n, path)
	return &object{Mapping: m, d: d, line: m.Line()}
}

// The reads the domain's files are written with, by strictyaml's
// methods of the same names: a key's path, presence, value and typed
// reads, and the report of unknown keys.
func (d *decoder) add(line int, path, format string, args ...any) { d.Add(line, path, format, args...) }
func (d *decoder) addAt(path, format string, args ...any)         { d.AddAt(path, format, args...) }
func (d *decoder) warnAt(path, format string, args ...any)        { d.WarnAt(path, format, args...) }

func (o *object) sub(key string) string                     { return o.Sub(key) }
func (o *object) has(key string) bool                       { return o.Has(key) }
func (o *object) get(key string) *yaml.Node                 { return o.Get(key) }
func (o *object) require(keys ...string)                    { o.Require(keys...) }
func (o *object) str(key string) string                     { return o.Str(key) }
func (o *object) strs(key string) []string                  { return o.Strs(key) }
func (o *object) bool(key string) bool                      { return o.Bool(key) }
func (o *object) int(key string) (int, bool)                { return o.Int(key) }
func (o *object) duration(key string) (time.Duration, bool) { return o.Duration(key) }
func (o *object) list(key string) []*yaml.Node              { return o.List(key) }
func (o *object) obj(key string) *object                    { return o.d.object(o.get(key), o.sub(key)) }
func (o *object) entries() []string                         { return o.Entries() }
func (o *object) done()                                     { o.Done() }

// maxQuotedPath bounds what a problem shows of a local path: long enough
// for any real one.
const maxQuotedPath = 240

// quote shows a value from the file in a problem (strictyaml.Quote).
// Never use it on a secret: secrets are never shown at all.
func quote(s string) string { return strictyaml.Quote(s) }

// quotePath is quote for a local file path, which is cut later.
func quotePath(p string) string { return strictyaml.QuoteMax(p, maxQuotedPath) }

// item is the path of the i-th element of the list at path.
func item(path string, i int) string { return strictyaml.Item(path, i) }
