package config

import (
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

// obj is the mapping under key as an object of the domain (not a bare
// strictyaml.Mapping), so that the domain's reads of secrets and local
// paths work on it too.
func (o *object) obj(key string) *object { return o.d.object(o.Get(key), o.Sub(key)) }

// maxQuotedPath bounds what a problem shows of a local path: long enough
// for any real one.
const maxQuotedPath = 240

// quotePath shows a local file path in a problem (strictyaml.QuoteMax),
// cut at maxQuotedPath.
func quotePath(p string) string { return strictyaml.QuoteMax(p, maxQuotedPath) }
