package store

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

func TestExportAudit_Exact(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
	}{
		{"empty", 0},
		{"one", 1},
		{"one chunk exactly", exportChunk},
		{"several chunks", 2*exportChunk + 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			appendN(t, db, tc.n, tamperEvent)
			var got bytes.Buffer
			n, err := db.ExportAudit(context.Background(), &got)
			if err != nil || n != uint64(tc.n) {
				t.Fatalf("ExportAudit = %d, %v; want %d records", n, err, tc.n)
			}
			// The stream is the stored lines, byte for byte.
			var want bytes.Buffer
			must(t, db.bolt.View(func(btx *bolt.Tx) error {
				return btx.Bucket(bucketAudit).ForEach(func(_, v []byte) error {
					want.Write(v)
					want.WriteByte('\n')
					return nil
				})
			}))
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("export differs from the stored lines (%d vs %d bytes)", got.Len(), want.Len())
			}
			dbN, dbHead, err := db.VerifyAudit(context.Background())
			must(t, err)
			linesN, linesHead, err := VerifyLines(&got)
			if err != nil || linesN != dbN || linesHead != dbHead {
				t.Errorf("VerifyLines = %d, %.12s, %v; VerifyAudit = %d, %.12s", linesN, linesHead, err, dbN, dbHead)
			}
		})
	}
}

func TestVerifyAudit_Empty(t *testing.T) {
	db := openTest(t)
	n, head, err := db.VerifyAudit(context.Background())
	if n != 0 || head != cs.GenesisHash || err != nil {
		t.Errorf("VerifyAudit of a new database = %d, %s, %v; want 0, genesis, nil", n, head, err)
	}
}

func TestVerifyAudit_HeadIsLastHash(t *testing.T) {
	db := openTest(t)
	var last cs.Event
	err := db.Update(context.Background(), func(tx bot.Tx) error {
		var err error
		for i := range 5 {
			if last, err = tx.Append(tamperEvent(i)); err != nil {
				return err
			}
		}
		return nil
	})
	must(t, err)
	n, head, err := db.VerifyAudit(context.Background())
	if n != 5 || head != last.Hash || err != nil {
		t.Errorf("VerifyAudit = %d, %.12s, %v; want 5, %.12s", n, head, err, last.Hash)
	}
}

func TestEvents_NamesHoldingNUL(t *testing.T) {
	// "a" and "a\x00…" share an index prefix; neither may see the other's.
	path := filepath.Join(t.TempDir(), "countersign.db")
	db := openAt(t, path, Options{NoSync: true})
	targets := []string{"a", "a\x00b", "a\x00\x00\x00\x00\x00\x00\x00\x00", "ab"}
	appendN(t, db, len(targets), func(i int) cs.Event {
		return cs.Event{Kind: cs.EventLockSet, Actor: cs.Actor(targets[i]), Target: targets[i]}
	})
	// First while they wait in audit_unindexed, then from the indexes.
	for _, state := range []string{"waiting", "indexed"} {
		if state == "indexed" {
			must(t, db.Close())
			db = openAt(t, path, Options{ReadOnly: true})
		}
		for i, target := range targets {
			for _, q := range []bot.EventQuery{{Target: target}, {Actor: cs.Actor(target)}} {
				es, err := db.ListAudit(context.Background(), q)
				if err != nil || len(es) != 1 || es[0].Seq != uint64(i+1) {
					t.Errorf("%s: ListAudit(target %q, actor %q) = %d records, %v; want record %d only", state, q.Target, q.Actor, len(es), err, i+1)
				}
			}
		}
	}
}
