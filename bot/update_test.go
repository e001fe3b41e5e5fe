package bot_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueueOnlyThroughUpdate checks that the workflow queues outbox
// entries only through an update, which counts them for Idle and wakes
// the delivery lanes: a QueueOutgoing called on a bare store transaction
// would sit in the outbox until the next wake-up, and Idle would not wait
// for it.
func TestQueueOnlyThroughUpdate(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || name == "update.go" {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "QueueOutgoing" {
				t.Errorf("%s: QueueOutgoing outside update.go: queue with (*update).queue", fset.Position(sel.Pos()))
			}
			return true
		})
	}
}
