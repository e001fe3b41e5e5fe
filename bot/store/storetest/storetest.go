// Package storetest is the conformance suite for bot.Store: every store
// (the bbolt one in bot/store, a hand-written fake in a test) must pass
// Run, so the bot sees the same behaviour from each.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Store is a bot.Store that can be closed.
type Store interface {
	bot.Store
	Close() error
}

// Opener opens the store kept in dir, a fresh empty directory the first
// time. Opening dir again after Close must find everything committed
// before. Close is the test's job.
type Opener func(t *testing.T, dir string) Store

// Run runs the whole suite, each case on a store of its own.
func Run(t *testing.T, open Opener) {
	cases := []struct {
		name string
		run  func(*testing.T, Opener)
	}{
		{"NextRequestID", testNextRequestID},
		{"PutRequest", testPutRequest},
		{"OpenRequests", testOpenRequests},
		{"Locks", testLocks},
		{"Deployments", testDeployments},
		{"SeenDelivery", testSeenDelivery},
		{"Payloads", testPayloads},
		{"AppendChains", testAppendChains},
		{"AppendRefusesEmptyKind", testAppendRefusesEmptyKind},
		{"AppendRedactsSecrets", testAppendRedactsSecrets},
		{"Events", testEvents},
		{"FailedUpdateKeepsNothing", testFailedUpdateKeepsNothing},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"CanceledContext", testCanceledContext},
		{"Closed", testClosed},
		{"Reopen", testReopen},
		{"BranchHeads", testBranchHeads},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, open) })
	}
}

// openNew opens a store in a fresh directory and closes it at the end.
func openNew(t *testing.T, open Opener) Store {
	t.Helper()
	s := open(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	return s
}

func update(t *testing.T, s bot.Store, fn func(bot.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, s bot.Store, fn func(bot.ReadTx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// sameJSON fails the test unless got and want marshal alike: stores may
// keep values as JSON, which drops monotonic clock readings.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// newRequest allocates an ID and stores a request for target in state.
func newRequest(tx bot.Tx, target string, state cs.State) (cs.Request, error) {
	id, err := tx.NextRequestID()
	if err != nil {
		return cs.Request{}, err
	}
	r := cs.Request{
		ID:        id,
		Action:    cs.Action{Kind: cs.ActionDeploy, Target: target, Image: "registry.example/" + target + "@sha256:" + strings.Repeat("ab", 32)},
		Source:    cs.SourceChat,
		Requester: "U1",
		Created:   t0,
		Updated:   t0,
		State:     state,
		Decision:  cs.Decision{Verdict: cs.VerdictNeedsApproval, Policy: "deploys", PolicyVersion: "v1", Requires: []cs.Requirement{{Group: "ops", Count: 2}}},
		Approvals: []cs.Approval{{Actor: "U2", Group: "ops", At: t0.Add(time.Minute)}},
		Message:   cs.MessageRef{Channel: "C1", TS: "1.2"},
	}
	return r, tx.PutRequest(r)
}

func testNextRequestID(t *testing.T, open Opener) {
	s := openNew(t, open)
	var got []cs.RequestID
	for range 2 {
		var round []cs.RequestID
		update(t, s, func(tx bot.Tx) error {
			round = nil // fn may run more than once
			for range 2 {
				id, err := tx.NextRequestID()
				if err != nil {
					return err
				}
				round = append(round, id)
			}
			return nil
		})
		got = append(got, round...)
	}
	want := []cs.RequestID{"R1", "R2", "R3", "R4"}
	sameJSON(t, "request IDs", got, want)
}

func testPutRequest(t *testing.T, open Opener) {
	s := openNew(t, open)
	var want cs.Request
	update(t, s, func(tx bot.Tx) error {
		var err error
		want, err = newRequest(tx, "www", cs.StatePending)
		return err
	})
	view(t, s, func(tx bot.ReadTx) error {
		got, err := tx.Request(want.ID)
		if err != nil {
			t.Fatalf("Request(%s): %v", want.ID, err)
		}
		sameJSON(t, "request", got, want)
		for _, id := range []cs.RequestID{"R2", "R0", "bogus", ""} {
			if _, err := tx.Request(id); !errors.Is(err, cs.ErrNotFound) {
				t.Errorf("Request(%q): got %v, want an error wrapping ErrNotFound", id, err)
			}
		}
		return nil
	})
	// Replacing a request keeps one copy with the new contents.
	want.State, want.Outcome = cs.StateDenied, "not now"
	update(t, s, func(tx bot.Tx) error { return tx.PutRequest(want) })
	view(t, s, func(tx bot.ReadTx) error {
		got, err := tx.Request(want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "replaced request", got, want)
		return nil
	})
}

func testOpenRequests(t *testing.T, open Opener) {
	s := openNew(t, open)
	reqs := map[cs.RequestID]cs.Request{}
	update(t, s, func(tx bot.Tx) error {
		for _, r := range []struct {
			target string
			state  cs.State
		}{
			{"www", cs.StatePending},     // R1
			{"dns", cs.StateApproved},    // R2
			{"www", cs.StateSucceeded},   // R3
			{"www", cs.StateExecuting},   // R4
			{"api", cs.StateRefused},     // R5
			{"www", cs.StateInterrupted}, // R6
			{"www-2", cs.StatePending},   // R7
		} {
			req, err := newRequest(tx, r.target, r.state)
			if err != nil {
				return err
			}
			reqs[req.ID] = req
		}
		return nil
	})
	ids := func(target string) []cs.RequestID {
		var got []cs.RequestID
		view(t, s, func(tx bot.ReadTx) error {
			rs, err := tx.OpenRequests(target)
			for _, r := range rs {
				got = append(got, r.ID)
			}
			return err
		})
		return got
	}
	for _, tc := range []struct {
		target string
		want   []cs.RequestID
	}{
		{"", []cs.RequestID{"R1", "R2", "R4", "R7"}},
		{"www", []cs.RequestID{"R1", "R4"}},
		{"dns", []cs.RequestID{"R2"}},
		{"api", nil},
	} {
		sameJSON(t, "OpenRequests("+tc.target+")", ids(tc.target), tc.want)
	}

	// Closing R1 and reopening R3 move them in and out of the open set.
	r1, r3 := reqs["R1"], reqs["R3"]
	r1.State, r3.State = cs.StateDenied, cs.StateApproved
	update(t, s, func(tx bot.Tx) error {
		if err := tx.PutRequest(r1); err != nil {
			return err
		}
		return tx.PutRequest(r3)
	})
	sameJSON(t, "OpenRequests(www) after R1 closed", ids("www"), []cs.RequestID{"R3", "R4"})
	sameJSON(t, "OpenRequests() after R1 closed", ids(""), []cs.RequestID{"R2", "R3", "R4", "R7"})
}

func testLocks(t *testing.T, open Opener) {
	s := openNew(t, open)
	www := cs.Lock{Target: "www", Actor: "U1", Reason: "incident", Since: t0}
	api := cs.Lock{Target: "api", Actor: cs.ActorBot, Reason: "rolled back", Since: t0, AutoOnly: true, Request: "R3"}
	update(t, s, func(tx bot.Tx) error {
		if err := tx.PutLock(www); err != nil {
			return err
		}
		return tx.PutLock(api)
	})
	view(t, s, func(tx bot.ReadTx) error {
		got, ok, err := tx.Lock("www")
		if err != nil || !ok {
			t.Fatalf("Lock(www): ok %v, err %v", ok, err)
		}
		sameJSON(t, "Lock(www)", got, www)
		if _, ok, err := tx.Lock("dns"); ok || err != nil {
			t.Errorf("Lock(dns): ok %v, err %v; want no lock", ok, err)
		}
		all, err := tx.Locks()
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "Locks()", all, []cs.Lock{api, www})
		return nil
	})
	update(t, s, func(tx bot.Tx) error {
		if err := tx.DeleteLock("www"); err != nil {
			return err
		}
		return tx.DeleteLock("never-locked")
	})
	view(t, s, func(tx bot.ReadTx) error {
		if _, ok, _ := tx.Lock("www"); ok {
			t.Error("Lock(www) still there after DeleteLock")
		}
		all, err := tx.Locks()
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "Locks() after delete", all, []cs.Lock{api})
		return nil
	})
}

func testDeployments(t *testing.T, open Opener) {
	s := openNew(t, open)
	dep := func(target string, n uint64, ok bool) cs.Deployment {
		return cs.Deployment{ID: cs.FormatRequestID(n), Target: target, Kind: cs.ActionDeploy, Image: "r@sha256:x", Requester: "U1", Started: t0, Finished: t0.Add(time.Minute), Succeeded: ok}
	}
	update(t, s, func(tx bot.Tx) error {
		for n := uint64(1); n <= 12; n++ {
			target := "www"
			if n%4 == 0 {
				target = "api"
			}
			if err := tx.PutDeployment(dep(target, n, false)); err != nil {
				return err
			}
		}
		// Stored again when it finishes: replaces, does not add.
		return tx.PutDeployment(dep("www", 11, true))
	})
	ids := func(target string, limit int) []cs.RequestID {
		var got []cs.RequestID
		view(t, s, func(tx bot.ReadTx) error {
			ds, err := tx.Deployments(target, limit)
			for _, d := range ds {
				got = append(got, d.ID)
			}
			return err
		})
		return got
	}
	for _, tc := range []struct {
		target string
		limit  int
		want   []cs.RequestID
	}{
		{"www", 3, []cs.RequestID{"R11", "R10", "R9"}},
		{"www", 0, []cs.RequestID{"R11", "R10", "R9", "R7", "R6", "R5", "R3", "R2", "R1"}},
		{"api", -1, []cs.RequestID{"R12", "R8", "R4"}},
		{"api", 100, []cs.RequestID{"R12", "R8", "R4"}},
		{"ww", 0, nil},
		{"dns", 1, nil},
	} {
		sameJSON(t, tc.target+" deployments", ids(tc.target, tc.limit), tc.want)
	}
	view(t, s, func(tx bot.ReadTx) error {
		ds, err := tx.Deployments("www", 1)
		if err != nil || len(ds) != 1 || !ds[0].Succeeded {
			t.Errorf("Deployments(www, 1) = %+v, %v; want R11 stored again as succeeded", ds, err)
		}
		return nil
	})
}

func testSeenDelivery(t *testing.T, open Opener) {
	s := openNew(t, open)
	seen := func(id string) bool {
		var got bool
		update(t, s, func(tx bot.Tx) error {
			var err error
			got, err = tx.SeenDelivery(id, t0)
			return err
		})
		return got
	}
	for i, tc := range []struct {
		id   string
		want bool
	}{
		{"d-1", false},
		{"d-1", true},
		{"d-2", false},
		{"d-1", true},
		{"d-2", true},
	} {
		if got := seen(tc.id); got != tc.want {
			t.Errorf("%d: SeenDelivery(%s) = %v, want %v", i, tc.id, got, tc.want)
		}
	}
}

func testPayloads(t *testing.T, open Opener) {
	s := openNew(t, open)
	get := func(digest string) (bot.PayloadSeen, bool) {
		t.Helper()
		var p bot.PayloadSeen
		var ok bool
		update(t, s, func(tx bot.Tx) error {
			var err error
			p, ok, err = tx.Payload(digest)
			return err
		})
		return p, ok
	}
	put := func(digest string, p bot.PayloadSeen) error {
		return s.Update(context.Background(), func(tx bot.Tx) error { return tx.PutPayload(digest, p) })
	}
	if _, ok := get("aa"); ok {
		t.Error("a payload never put is there")
	}
	first := bot.PayloadSeen{First: "d-1", At: t0}
	if err := put("aa", first); err != nil {
		t.Fatal(err)
	}
	again := first
	again.Repeats, again.Last = 3, "d-4"
	if err := put("aa", again); err != nil {
		t.Fatal(err)
	}
	if got, ok := get("aa"); !ok || got.First != "d-1" || got.Repeats != 3 || got.Last != "d-4" || !got.At.Equal(t0) {
		t.Errorf("Payload(aa) = %+v, %v; want %+v", got, ok, again)
	}
	for _, bad := range []struct {
		digest string
		p      bot.PayloadSeen
	}{{"", first}, {"bb", bot.PayloadSeen{First: "d-1"}}} {
		if err := put(bad.digest, bad.p); err == nil {
			t.Errorf("PutPayload(%q, %+v) took it, want an error", bad.digest, bad.p)
		}
	}
	// A payload first seen more than a week before another is forgotten.
	if err := put("cc", bot.PayloadSeen{First: "d-9", At: t0.Add(8 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := get("aa"); ok {
		t.Error("a payload first seen 8 days before the newest is still kept")
	}
	if _, ok := get("cc"); !ok {
		t.Error("the newest payload is not kept")
	}
}
