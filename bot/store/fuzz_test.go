package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// fuzzBase is a small database of every kind of record the bot keeps,
// cut to the pages in use, shared by the fuzz runs of one process.
var fuzzBase struct {
	once sync.Once
	data []byte
	err  error
}

// realFile writes a database the way the bot fills one: requests open
// and closed, a lock, deployments, pushes, deliveries, queued messages
// and their references, and enough audit records (with their indexes)
// for branch pages. It returns the file's used pages.
func realFile(dir string) ([]byte, error) {
	path := filepath.Join(dir, "real.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	t0 := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	err = db.Update(context.Background(), func(tx bot.Tx) error {
		for i := range 40 {
			id, err := tx.NextRequestID()
			if err != nil {
				return err
			}
			target := fmt.Sprint("svc-", i%5)
			r := cs.Request{ID: id, Action: cs.Action{Kind: cs.ActionDeploy, Target: target, Image: "reg/app@sha256:" + fmt.Sprintf("%064d", i)},
				Requester: "UDEV1", State: []cs.State{cs.StatePending, cs.StateApproved, cs.StateSucceeded, cs.StateFailed}[i%4],
				Created: t0.Add(time.Duration(i) * time.Minute), Updated: t0.Add(time.Duration(i) * time.Minute), Plan: "deploy it"}
			if err := tx.PutRequest(r); err != nil {
				return err
			}
			if err := tx.PutDeployment(cs.Deployment{ID: id, Target: target, Kind: cs.ActionDeploy, Image: r.Action.Image,
				Requester: r.Requester, Started: r.Created, Finished: r.Updated, Succeeded: i%3 != 0}); err != nil {
				return err
			}
			o, err := tx.QueueOutgoing(bot.Outgoing{Op: bot.OpPost, Message: bot.Message{Channel: "CDEPLOY", Text: bot.Textf("%s card", id)}, Queued: r.Created})
			if err != nil {
				return err
			}
			if i%2 == 0 {
				if err := tx.PutMessageRef(cs.MessageRef{ID: o.ID, Channel: "CDEPLOY", TS: fmt.Sprint("1700000000.", i)}); err != nil {
					return err
				}
			}
			if _, err := tx.SeenDelivery(fmt.Sprint("delivery-", i), r.Created); err != nil {
				return err
			}
			if err := tx.PutPush(bot.PushRecord{Push: bot.Push{Repo: "org/app", Branch: "live", SHA: fmt.Sprintf("%040d", i)},
				Service: target, State: bot.PushWaiting, Updated: r.Created}); err != nil {
				return err
			}
		}
		if err := tx.PutLock(cs.Lock{Target: "svc-1", Actor: "UOPS1", Reason: "incident", Since: t0}); err != nil {
			return err
		}
		for i := range 600 {
			if _, err := tx.Append(damageEvent(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// The pages past the high water mark of the newer meta page are
	// unused: leave them out, so that a run copies and flips little.
	ps := int(binary.LittleEndian.Uint32(data[16+8:]))
	meta := func(i int) []byte { return data[i*ps+16:] }
	m := meta(0)
	if binary.LittleEndian.Uint64(meta(1)[48:]) > binary.LittleEndian.Uint64(m[48:]) {
		m = meta(1)
	}
	return data[:int(binary.LittleEndian.Uint64(m[40:]))*ps], nil
}

// FuzzDamagedFile flips bytes anywhere in a real database and runs what
// reads one: the audit commands' read-only open, verify, list and export,
// and serve's open for writing, its start-up reads and its backup. None may panic or
// crash; Open refuses the file only as damaged. The input is a list of
// flips, 5 bytes each: where (little-endian, modulo the file's size) and
// what to XOR there.
func FuzzDamagedFile(f *testing.F) {
	fuzzBase.once.Do(func() {
		dir, err := os.MkdirTemp("", "fuzzdamaged")
		if err != nil {
			fuzzBase.err = err
			return
		}
		defer os.RemoveAll(dir)
		fuzzBase.data, fuzzBase.err = realFile(dir)
	})
	if fuzzBase.err != nil {
		f.Fatal(fuzzBase.err)
	}
	base := fuzzBase.data
	flipAt := func(off int, x byte) []byte { return append(binary.LittleEndian.AppendUint32(nil, uint32(off)), x) }
	f.Add([]byte{})
	for _, off := range []int{0, 4096 + 16 + 32, len(base) / 3, len(base) / 2, len(base) - 4096 + 16 + 11} {
		f.Add(flipAt(off, 0x01))
		f.Add(flipAt(off, 0xff))
	}
	f.Fuzz(func(t *testing.T, flips []byte) {
		data := append([]byte(nil), base...)
		for ; len(flips) >= 5; flips = flips[5:] {
			data[int(binary.LittleEndian.Uint32(flips))%len(data)] ^= flips[4]
		}
		path := filepath.Join(t.TempDir(), "damaged.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		sound := bytes.Equal(data, base)
		readAll(t, path, Options{ReadOnly: true, CheckOnOpen: true}, sound)
		readAll(t, path, Options{CheckOnOpen: true, NoSync: true}, sound)
	})
}

// readAll opens path with opts and reads it every way the commands do; a
// file Open accepts may still fail a read, with an error. A sound file
// must open.
func readAll(t *testing.T, path string, opts Options, sound bool) {
	ctx := context.Background()
	db, err := Open(path, opts)
	if err != nil {
		if sound || !errors.Is(err, ErrDamaged) {
			t.Fatalf("Open(%+v) = %v, want an error wrapping ErrDamaged", opts, err)
		}
		return
	}
	defer db.Close()
	// audit verify, list (filtered or not) and export, and GET /backup.
	db.VerifyAudit(ctx)
	db.ListAudit(ctx, bot.EventQuery{})
	db.ListAudit(ctx, bot.EventQuery{Target: "svc-3", Limit: 10})
	db.ExportAudit(ctx, io.Discard)
	db.Backup(ctx, io.Discard)
	db.View(ctx, func(tx bot.ReadTx) error {
		for _, q := range []bot.EventQuery{{}, {Target: "svc-1"}, {Actor: "U3"}, {Kind: cs.EventLockSet, Limit: 5}, {Request: "R7"}} {
			tx.Events(q)
		}
		tx.OpenRequests("")
		tx.Request("R3")
		tx.Locks()
		tx.Lock("svc-1")
		tx.Deployments("svc-2", 0)
		tx.Outbox(0)
		tx.MessageRef("M2")
		tx.Pushes(bot.PushWaiting)
		tx.PushRecord("svc-0", fmt.Sprintf("%040d", 0))
		return nil
	})
	if opts.ReadOnly {
		return
	}
	// What serve's start does: read the outbox and open requests, and
	// record that it started.
	db.Update(ctx, func(tx bot.Tx) error {
		tx.Outbox(0)
		for _, r := range must2(tx.OpenRequests("")) {
			tx.Events(bot.EventQuery{Request: r.ID, Kind: cs.EventExecutionStep, Limit: 1})
		}
		_, err := tx.Append(cs.Event{Kind: cs.EventConfigLoaded, Actor: cs.ActorBot, Detail: []byte(`{}`)})
		return err
	})
}

// must2 drops the error of a read whose failure the fuzz allows.
func must2[T any](v T, _ error) T { return v }
