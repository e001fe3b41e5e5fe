package config

import (
	"encoding/json"
	"fmt"
)

//go:generate go run ./gen-schema -o ../../../countersign.schema.json

// SchemaID is the $id of the generated schema.
const SchemaID = "urn:countersign:config"

// Schema returns the JSON Schema (draft 2020-12) of the config file,
// generated from configKeys, indented and ending in a newline.
func Schema() ([]byte, error) {
	s := schemaOf(configKeys())
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaID
	s["title"] = "Countersign configuration"
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal schema: %w", err)
	}
	return append(b, '\n'), nil
}

type schema = map[string]any

// schemaOf is the schema of one key's value.
func schemaOf(k keySpec) schema {
	s := schema{}
	if k.Desc != "" {
		s["description"] = k.Desc
	}
	switch k.Type {
	case tString:
		s["type"] = "string"
		if k.Enum != nil {
			s["enum"] = k.Enum
		}
	case tNumberish:
		s["type"] = []string{"string", "integer"}
	case tInt:
		s["type"] = "integer"
	case tBool:
		s["type"] = "boolean"
	case tList:
		elem := schemaOf(*k.Elem)
		if k.Enum != nil {
			elem["enum"] = k.Enum
		}
		s["type"], s["items"] = "array", elem
	case tMap:
		s["type"], s["additionalProperties"] = "object", schemaOf(*k.Elem)
	case tObject:
		objectSchema(s, k)
	default:
		panic(fmt.Sprintf("config: no schema for key %q of type %d", k.Name, k.Type))
	}
	return s
}

// objectSchema fills s in with a mapping of exactly the keys props. A
// secret key x is three properties, x, x_file and x_env, of which at most
// one may be given (exactly one when it is required).
func objectSchema(s schema, k keySpec) {
	p := schema{}
	var req []string
	var all []schema
	for _, k := range k.Props {
		if k.Type != tSecret {
			p[k.Name] = schemaOf(k)
			if k.Required {
				req = append(req, k.Name)
			}
			continue
		}
		forms := []string{k.Name, k.Name + "_file", k.Name + "_env"}
		descs := []string{k.Desc, k.Desc + ": from this file", k.Desc + ": from this environment variable"}
		for i, f := range forms {
			p[f] = schema{"type": "string", "description": descs[i]}
		}
		if k.Required {
			all = append(all, schema{"oneOf": []schema{
				{"required": forms[:1]}, {"required": forms[1:2]}, {"required": forms[2:]}}})
			continue
		}
		all = append(all, schema{"not": schema{"anyOf": []schema{
			{"required": []string{forms[0], forms[1]}},
			{"required": []string{forms[0], forms[2]}},
			{"required": []string{forms[1], forms[2]}}}}})
	}
	for _, c := range k.Cases {
		all = append(all, caseSchema(c))
	}
	if k.Together != nil {
		s["dependentRequired"] = k.Together
	}
	s["type"], s["properties"], s["additionalProperties"] = "object", p, false
	if req != nil {
		s["required"] = req
	}
	if all != nil {
		s["allOf"] = all
	}
}

// caseSchema is a keyCase: if c.Key is c.Value, then c.Require and none
// of c.Forbid.
func caseSchema(c keyCase) schema {
	then := schema{}
	if c.Require != nil {
		then["required"] = c.Require
	}
	if c.Forbid != nil {
		var any []schema
		for _, f := range c.Forbid {
			any = append(any, schema{"required": []string{f}})
		}
		then["not"] = schema{"anyOf": any}
	}
	return schema{
		"if":   schema{"properties": schema{c.Key: schema{"const": c.Value}}, "required": []string{c.Key}},
		"then": then,
	}
}
