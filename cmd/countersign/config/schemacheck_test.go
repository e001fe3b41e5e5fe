package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
	"gopkg.in/yaml.v3"
)

// validate checks v against the schema s, as a JSON Schema validator
// would for the subset of draft 2020-12 that Schema emits, and returns
// the paths and reasons of what fails (paths written as the decoder
// writes them). A keyword it does not know is an error: the schema must
// not say what this check ignores.
func validate(s map[string]any, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) {
		errs = append(errs, path+": "+fmt.Sprintf(format, args...))
	}
	for kw, arg := range s {
		switch kw {
		case "$schema", "$id", "title", "description":
		case "type":
			if !typeOK(arg, v) {
				fail("want type %v, got %T", arg, v)
			}
		case "enum":
			if !slices.Contains(arg.([]any), v) {
				fail("%v is not one of %v", v, arg)
			}
		case "required":
			if m, ok := v.(map[string]any); ok {
				for _, k := range arg.([]any) {
					if _, ok := m[k.(string)]; !ok {
						fail("required key %s missing", k)
					}
				}
			}
		case "properties", "additionalProperties":
			// Both are checked together, once.
			_, hasProps := s["properties"]
			if m, ok := v.(map[string]any); ok && (kw == "properties" || !hasProps) {
				errs = append(errs, validateProperties(s, m, path)...)
			}
		case "const":
			if v != arg {
				fail("%v is not %v", v, arg)
			}
		case "if", "then":
			if kw == "if" && len(validate(arg.(map[string]any), v, path)) == 0 {
				if then, ok := s["then"].(map[string]any); ok {
					errs = append(errs, validate(then, v, path)...)
				}
			}
		case "dependentRequired":
			if m, ok := v.(map[string]any); ok {
				for k, deps := range arg.(map[string]any) {
					if _, ok := m[k]; !ok {
						continue
					}
					for _, dep := range deps.([]any) {
						if _, ok := m[dep.(string)]; !ok {
							fail("%s needs %s", k, dep)
						}
					}
				}
			}
		case "items":
			if l, ok := v.([]any); ok {
				for i, it := range l {
					errs = append(errs, validate(arg.(map[string]any), it, strictyaml.Item(path, i))...)
				}
			}
		case "allOf":
			for _, sub := range arg.([]any) {
				errs = append(errs, validate(sub.(map[string]any), v, path)...)
			}
		case "anyOf", "oneOf":
			n := 0
			for _, sub := range arg.([]any) {
				if len(validate(sub.(map[string]any), v, path)) == 0 {
					n++
				}
			}
			if n == 0 || kw == "oneOf" && n > 1 {
				fail("%d of %s match", n, kw)
			}
		case "not":
			if len(validate(arg.(map[string]any), v, path)) == 0 {
				fail("matches what is not allowed: %v", arg)
			}
		default:
			fail("validate does not know the keyword %q", kw)
		}
	}
	return errs
}

// validateProperties checks a mapping's keys against properties and
// additionalProperties.
func validateProperties(s map[string]any, m map[string]any, path string) []string {
	var errs []string
	props, _ := s["properties"].(map[string]any)
	for _, k := range sortedKeys(m) {
		if ps, ok := props[k]; ok {
			errs = append(errs, validate(ps.(map[string]any), m[k], strictyaml.Child(path, k))...)
			continue
		}
		switch add := s["additionalProperties"].(type) {
		case bool:
			if !add {
				errs = append(errs, strictyaml.Child(path, k)+": additional property not allowed")
			}
		case map[string]any:
			errs = append(errs, validate(add, m[k], strictyaml.Child(path, k))...)
		}
	}
	return errs
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// typeOK reports whether v is of the JSON type (or one of the types) t.
func typeOK(t, v any) bool {
	if l, ok := t.([]any); ok {
		return slices.ContainsFunc(l, func(t any) bool { return typeOK(t, v) })
	}
	switch v.(type) {
	case string:
		return t == "string"
	case bool:
		return t == "boolean"
	case map[string]any:
		return t == "object"
	case []any:
		return t == "array"
	case nil:
		return t == "null"
	case json.Number:
		_, err := strconv.ParseInt(string(v.(json.Number)), 10, 64)
		return t == "number" || t == "integer" && err == nil
	}
	return false
}

// yamlValue is the JSON value an editor's YAML language server sees in a
// node: mappings (merge keys applied), lists, strings, numbers, booleans
// and null.
func yamlValue(n *yaml.Node) (any, error) {
	n = strictyaml.Deref(n)
	switch n.Kind {
	case yaml.DocumentNode:
		return yamlValue(n.Content[0])
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			v, err := yamlValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := strictyaml.Deref(n.Content[i])
			if k.ShortTag() == "!!merge" {
				merged, err := yamlValue(n.Content[i+1])
				if err != nil {
					return nil, err
				}
				mm, ok := merged.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("line %d: merge of a non-mapping", k.Line)
				}
				for mk, mv := range mm {
					if _, ok := m[mk]; !ok {
						m[mk] = mv
					}
				}
				continue
			}
			v, err := yamlValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		err := n.Decode(&b)
		return b, err
	case "!!int", "!!float":
		return json.Number(strings.ReplaceAll(n.Value, "_", "")), nil
	}
	return n.Value, nil
}

// TestValidate: the validator refuses what each keyword forbids, so that
// the schema tests can fail.
func TestValidate(t *testing.T) {
	cases := []struct {
		name, schema, value string
		ok                  bool
	}{
		{"type", `{"type": "string"}`, `1`, false},
		{"type list", `{"type": ["string", "integer"]}`, `1`, true},
		{"integer", `{"type": "integer"}`, `1.5`, false},
		{"enum", `{"enum": ["a"]}`, `"b"`, false},
		{"required", `{"required": ["a"]}`, `{"b": 1}`, false},
		{"properties", `{"properties": {"a": {"type": "string"}}}`, `{"a": 1}`, false},
		{"no additional", `{"properties": {}, "additionalProperties": false}`, `{"a": 1}`, false},
		{"additional schema", `{"additionalProperties": {"type": "string"}}`, `{"a": 1}`, false},
		{"items", `{"items": {"type": "string"}}`, `["a", 1]`, false},
		{"allOf", `{"allOf": [{"type": "string"}, {"enum": ["a"]}]}`, `"b"`, false},
		{"anyOf none", `{"anyOf": [{"type": "string"}, {"type": "boolean"}]}`, `1`, false},
		{"oneOf two", `{"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}`, `{"a": 1, "b": 1}`, false},
		{"oneOf one", `{"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}`, `{"a": 1}`, true},
		{"not", `{"not": {"required": ["a"]}}`, `{"a": 1}`, false},
		{"const", `{"const": "a"}`, `"b"`, false},
		{"if then", `{"if": {"const": "a"}, "then": {"type": "integer"}}`, `"a"`, false},
		{"if not then", `{"if": {"const": "a"}, "then": {"type": "integer"}}`, `"b"`, true},
		{"dependentRequired", `{"dependentRequired": {"a": ["b"]}}`, `{"a": 1}`, false},
		{"unknown keyword", `{"pattern": "x"}`, `"x"`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s map[string]any
			if err := json.Unmarshal([]byte(tc.schema), &s); err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(strings.NewReader(tc.value))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if errs := validate(s, v, "x"); (len(errs) == 0) != tc.ok {
				t.Errorf("validate = %v, want ok %v", errs, tc.ok)
			}
		})
	}
}
