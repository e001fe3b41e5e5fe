package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite countersign.schema.json")

const schemaPath = "../../../countersign.schema.json"

// TestSchemaFile fails when countersign.schema.json is not what Schema
// generates; -update rewrites it.
func TestSchemaFile(t *testing.T) {
	want, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schemaPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go test ./cmd/countersign/config -run TestSchemaFile -update (or go generate ./cmd/countersign/config)", schemaPath)
	}
}

// TestExampleNamesSchema: the example config's first line points editors
// at the schema.
func TestExampleNamesSchema(t *testing.T) {
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if want := "# yaml-language-server: $schema=countersign.schema.json"; first != want {
		t.Errorf("first line of %s is %q, want %q", examplePath, first, want)
	}
}

// loadSchema returns the generated schema as a validator reads it.
func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// schemaErrors validates a config file's text against the schema.
func schemaErrors(t *testing.T, s map[string]any, data []byte) []string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	v, err := yamlValue(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return validate(s, v, "")
}

// schemaConfigs are the configs that load: the schema must accept them.
var schemaConfigs = []string{examplePath, referencePath, gatesExamplePath}

// gatesExamplePath is a config with gates: they need GitHub App auth,
// which the shipped example does not use.
const gatesExamplePath = "testdata/gates.example.yaml"

// parseNoSecrets parses data as Load would, without reading secrets.
func parseNoSecrets(t *testing.T, data []byte) error {
	t.Helper()
	_, err := Options{Dir: t.TempDir(), LookupEnv: env(nil), NoSecrets: true}.Parse(data)
	return err
}

// TestSchemaAcceptsExamples: every config the decoder loads validates
// against the schema.
func TestSchemaAcceptsExamples(t *testing.T) {
	s := loadSchema(t)
	for _, p := range schemaConfigs {
		t.Run(p, func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := parseNoSecrets(t, b); err != nil {
				t.Fatalf("decoder: %v", err)
			}
			if errs := schemaErrors(t, s, b); len(errs) > 0 {
				t.Errorf("schema refuses %s:\n%s", p, strings.Join(errs, "\n"))
			}
		})
	}
}

// TestSchemaKeysMatchDecoder: in every mapping of the example configs,
// the keys the decoder asks about are exactly the table's (a secret x
// being x, x_file and x_env), and every mapping of the table is met.
func TestSchemaKeysMatchDecoder(t *testing.T) {
	root := configKeys()
	met := map[*keySpec]bool{}
	for _, p := range schemaConfigs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		d := newDecoder(Options{Dir: t.TempDir(), LookupEnv: env(nil), NoSecrets: true})
		d.SawKeys = func(path string, known map[string]bool) {
			k := specAt(&root, path)
			switch {
			case k == nil:
				t.Errorf("%s: the decoder reads a mapping the table does not have", path)
				return
			case k.Type == tMap:
				return // keys are names
			case k.Type != tObject:
				t.Errorf("%s: the decoder reads a mapping; the table says type %d", path, k.Type)
				return
			}
			met[k] = true
			var want []string
			for _, p := range k.Props {
				want = append(want, p.Name)
				if p.Type == tSecret {
					want = append(want, p.Name+"_file", p.Name+"_env")
				}
			}
			var decoderOnly, tableOnly []string
			for key := range known {
				if !slices.Contains(want, key) {
					decoderOnly = append(decoderOnly, key)
				}
			}
			for _, key := range want {
				if !known[key] {
					tableOnly = append(tableOnly, key)
				}
			}
			if decoderOnly != nil || tableOnly != nil {
				slices.Sort(decoderOnly)
				t.Errorf("%s: keys only the decoder knows: %v; only the table: %v", path, decoderOnly, tableOnly)
			}
		}
		d.config(d.Document(b))
	}
	var walk func(k *keySpec, path string)
	walk = func(k *keySpec, path string) {
		switch k.Type {
		case tObject:
			if !met[k] {
				t.Errorf("%q: no example config has this mapping, so the decoder's keys are not compared", path)
			}
			for i := range k.Props {
				walk(&k.Props[i], strictyaml.Child(path, k.Props[i].Name))
			}
		case tList:
			walk(k.Elem, path+"[]")
		case tMap:
			walk(k.Elem, path+".NAME")
		}
	}
	walk(&root, "")
}

// specAt resolves a decoder path (a.b[0]["x.y"]) in the table.
func specAt(k *keySpec, path string) *keySpec {
	steps, ok := strictyaml.SplitPath(path)
	if !ok {
		return nil
	}
	for _, st := range steps {
		switch {
		case k.Type == tList && st.Item:
			k = k.Elem
		case k.Type == tMap && !st.Item:
			k = k.Elem
		case k.Type == tObject && !st.Item:
			i := slices.IndexFunc(k.Props, func(p keySpec) bool { return p.Name == st.Key })
			if i < 0 {
				return nil
			}
			k = &k.Props[i]
		default:
			return nil
		}
	}
	return k
}
