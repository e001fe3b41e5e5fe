package config

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports: the loader depends on the standard library, yaml.v3, the
// root package and policies only, so that anything in cmd can use it.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"gopkg.in/yaml.v3":                            true,
		"github.com/countersign/countersign":          true,
		"github.com/countersign/countersign/policies": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			stdlib := !strings.Contains(strings.Split(p, "/")[0], ".")
			if !stdlib && !allowed[p] {
				t.Errorf("%s imports %s", name, p)
			}
		}
	}
}
