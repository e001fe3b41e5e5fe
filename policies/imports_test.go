package policies

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The package is pure: it imports the standard library and the root
// package, nothing else of ours and nothing from outside.
func TestImports(t *testing.T) {
	const root = "github.com/countersign/countersign"
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(p, "/")
			if p != root && strings.Contains(first, ".") {
				t.Errorf("%s imports %s: want only the standard library and %s", name, p, root)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no Go files checked")
	}
}
