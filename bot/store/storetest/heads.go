package storetest

import (
	"testing"

	"github.com/countersign/countersign/bot"
)

// testBranchHeads: a branch head is kept under its repository (any case)
// and branch, whole, across a reopen; one without either is refused.
func testBranchHeads(t *testing.T, open Opener) {
	dir := t.TempDir()
	s := open(t, dir)
	h := bot.BranchHead{Repo: "Acme/Web", Branch: "release/1.x", SHA: "abc", ETag: `W/"1"`,
		Services: map[string]bot.HeadTaken{"web": {SHA: "abc", Gen: 2, Seen: 1}}}
	update(t, s, func(tx bot.Tx) error {
		if _, ok, err := tx.BranchHead("acme/web", "release/1.x"); ok || err != nil {
			t.Errorf("before any put: ok %v, err %v; want nothing", ok, err)
		}
		for _, bad := range []bot.BranchHead{{Branch: "main"}, {Repo: "acme/web"}} {
			if err := tx.PutBranchHead(bad); err == nil {
				t.Errorf("PutBranchHead(%+v) = nil, want an error", bad)
			}
		}
		return nil
	})
	update(t, s, func(tx bot.Tx) error { return tx.PutBranchHead(h) })
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open(t, dir)
	defer s.Close()
	view(t, s, func(tx bot.ReadTx) error {
		got, ok, err := tx.BranchHead("ACME/web", "release/1.x")
		if err != nil || !ok {
			t.Fatalf("after a reopen: ok %v, err %v", ok, err)
		}
		sameJSON(t, "branch head", got, h)
		if _, ok, _ := tx.BranchHead("acme/web", "Release/1.x"); ok {
			t.Error("branch names are compared ignoring case; GitHub's are not")
		}
		return nil
	})
}
