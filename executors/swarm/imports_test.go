package swarm

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package an executor: the standard library, the
// root package, bot (for its interfaces), the shared SSH dialler, the
// Docker client and its error kinds, and x/crypto/ssh; nothing else.
func TestImports(t *testing.T) {
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			checked++
			switch {
			case !strings.Contains(first, "."): // standard library
			case path == "github.com/countersign/countersign",
				path == "github.com/countersign/countersign/bot",
				path == "github.com/countersign/countersign/executors/sshclient",
				path == "github.com/containerd/errdefs",
				path == "golang.org/x/crypto/ssh",
				strings.HasPrefix(path, "github.com/docker/docker/"):
			default:
				t.Errorf("%s imports %s", p, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no imports found: the check is broken")
	}
}
