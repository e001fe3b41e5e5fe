package countersign

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
)

// TestEventKinds_ListsEveryKind: every EventKind constant declared in
// audit.go is in EventKinds, the list the audit filters accept: a kind
// left out of it would be a record an auditor cannot ask for.
func TestEventKinds_ListsEveryKind(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "audit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]EventKind{} // constant name → its value
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); ok && id.Name == "EventKind" {
				for i, n := range v.Names {
					lit, ok := v.Values[i].(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s is not a string literal", n.Name)
					}
					value, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					declared[n.Name] = EventKind(value)
				}
			}
		}
	}
	if len(declared) < 30 {
		t.Fatalf("found %d EventKind constants in audit.go, want the whole list (did the declarations move?)", len(declared))
	}
	listed := EventKinds()
	for name, kind := range declared {
		if !slices.Contains(listed, kind) {
			t.Errorf("%s (%q) is declared but not listed in EventKinds()", name, kind)
		}
	}
	if len(listed) != len(declared) {
		t.Errorf("EventKinds() lists %d kinds, audit.go declares %d", len(listed), len(declared))
	}
}
