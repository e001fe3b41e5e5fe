package bot_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/bot"
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

// retryingStore runs every Update's function twice: once in a transaction
// it then rolls back (as a store retrying a conflict would), and once for
// real.
type retryingStore struct{ bot.Store }

var errRetryTest = errors.New("roll back for a retry (test)")

func (s retryingStore) Update(ctx context.Context, fn func(tx bot.Tx) error) error {
	err := s.Store.Update(ctx, func(tx bot.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errRetryTest
	})
	if !errors.Is(err, errRetryTest) {
		return err
	}
	return s.Store.Update(ctx, fn)
}

// TestUpdate_RetryCountsOnce checks that an update whose transaction
// function runs twice counts what it queued once: counting the rolled
// back run too would leave Idle waiting for an entry that never existed.
func TestUpdate_RetryCountsOnce(t *testing.T) {
	h := newHarness(t, func(c *harnessConfig) { c.wrap = func(s bot.Store) bot.Store { return retryingStore{s} } })
	if got := h.say("UDEV1", "status api"); !strings.Contains(got, "api") { // say waits for Idle
		t.Fatalf("status reply = %q, want the status of api", got)
	}
	if ephem := h.chat.Ephemerals(); len(ephem) != 1 {
		t.Errorf("ephemeral replies = %q, want exactly one", ephem)
	}
}
