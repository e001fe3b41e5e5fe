package countersign_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestTests_ReadOnlyTheRepository fails when a Go file names a relative
// path that climbs out of the repository ("../../../../x"): a test that
// reads outside it passes or skips depending on the machine, CI included.
func TestTests_ReadOnlyTheRepository(t *testing.T) {
	paths := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || !strings.HasPrefix(s, "..") || !strings.Contains(s, "/") {
				return true
			}
			paths++
			if !filepath.IsLocal(filepath.Join(filepath.Dir(path), s)) {
				t.Errorf("%s names %q, outside the repository", path, s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if paths == 0 {
		t.Fatal("no relative paths found: the walk is broken")
	}
}
