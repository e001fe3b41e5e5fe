package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

var errBoom = errors.New("boom")

// appendAll appends es in one Update and returns them as stored.
func appendAll(t *testing.T, s bot.Store, es ...cs.Event) []cs.Event {
	t.Helper()
	var out []cs.Event
	update(t, s, func(tx bot.Tx) error {
		out = out[:0] // fn may run more than once
		for _, e := range es {
			got, err := tx.Append(e)
			if err != nil {
				return err
			}
			out = append(out, got)
		}
		return nil
	})
	return out
}

func events(t *testing.T, s bot.Store, q bot.EventQuery) []cs.Event {
	t.Helper()
	var out []cs.Event
	view(t, s, func(tx bot.ReadTx) error {
		var err error
		out, err = tx.Events(q)
		return err
	})
	return out
}

// checkChain fails unless es are records 1..len(es), each linked to the
// one before and hashed as cs.Event.Seal hashes them.
func checkChain(t *testing.T, es []cs.Event) {
	t.Helper()
	prev := cs.GenesisHash
	for i, e := range es {
		if e.Seq != uint64(i+1) || e.Prev != prev {
			t.Fatalf("record %d: seq %d prev %.12s, want seq %d prev %.12s", i+1, e.Seq, e.Prev, i+1, prev)
		}
		again := e
		if _, err := again.Seal(e.Seq, e.Prev); err != nil {
			t.Fatal(err)
		}
		if again.Hash != e.Hash {
			t.Fatalf("record %d: hash %.12s, want %.12s", i+1, e.Hash, again.Hash)
		}
		prev = e.Hash
	}
}

func testAppendChains(t *testing.T, open Opener) {
	s := openNew(t, open)
	before := time.Now().Truncate(time.Microsecond)
	first := appendAll(t, s,
		cs.Event{Kind: cs.EventConfigLoaded, Actor: cs.ActorBot},
		cs.Event{Time: t0.Add(123456789), Kind: cs.EventRequestCreated, Actor: "U1", Request: "R1", Action: cs.ActionDeploy, Target: "www", Detail: []byte(`{"b": 2, "a": 1}`)},
	)
	after := time.Now()
	second := appendAll(t, s, cs.Event{Kind: cs.EventApprovalGranted, Actor: "U2", Request: "R1", Target: "www"})
	all := append(first, second...)
	checkChain(t, all)

	if got := all[0].Time; got.Before(before) || got.After(after) || got.Location() != time.UTC {
		t.Errorf("zero Time became %v, want now (%v..%v) in UTC", got, before, after)
	}
	if got, want := all[1].Time, t0.Add(123456000); !got.Equal(want) {
		t.Errorf("Time = %v, want %v (cut to microseconds)", got, want)
	}
	for i, want := range []string{`{}`, `{"a":1,"b":2}`, `{}`} {
		if got := string(all[i].Detail); got != want {
			t.Errorf("record %d: Detail = %s, want %s", i+1, got, want)
		}
	}
	sameJSON(t, "Events()", events(t, s, bot.EventQuery{}), all)
}

func testAppendRefusesEmptyKind(t *testing.T, open Opener) {
	s := openNew(t, open)
	var appendErr error
	err := s.Update(context.Background(), func(tx bot.Tx) error {
		_, appendErr = tx.Append(cs.Event{Actor: "U1", Target: "www"})
		return appendErr
	})
	if appendErr == nil || err == nil {
		t.Fatalf("Append without a kind: got %v (Update: %v), want an error", appendErr, err)
	}
	if got := events(t, s, bot.EventQuery{}); len(got) != 0 {
		t.Errorf("records after a refused Append: %+v", got)
	}
}

func testAppendRedactsSecrets(t *testing.T, open Opener) {
	s := openNew(t, open)
	detail, err := cs.DetailJSON(struct {
		Host  string    `json:"host"`
		Token cs.Secret `json:"token"`
	}{"ns1.example.org", cs.NewSecret("hunter2-tsig-key")})
	if err != nil {
		t.Fatal(err)
	}
	stored := appendAll(t, s, cs.Event{Kind: cs.EventExecutionStarted, Actor: cs.ActorBot, Target: "www", Detail: detail})
	listed := events(t, s, bot.EventQuery{})
	for what, es := range map[string][]cs.Event{"Append": stored, "Events": listed} {
		if len(es) != 1 {
			t.Fatalf("%s: %d records, want 1", what, len(es))
		}
		if d := string(es[0].Detail); strings.Contains(d, "hunter2") || !strings.Contains(d, `"token":"[redacted]"`) {
			t.Errorf("%s: Detail = %s, want the token as [redacted]", what, d)
		}
	}
}

func testEvents(t *testing.T, open Opener) {
	s := openNew(t, open)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	all := appendAll(t, s,
		cs.Event{Time: at(0), Kind: cs.EventRequestCreated, Actor: "U1", Request: "R1", Target: "www"},          // 1
		cs.Event{Time: at(1), Kind: cs.EventApprovalGranted, Actor: "U2", Request: "R1", Target: "www"},         // 2
		cs.Event{Time: at(2), Kind: cs.EventExecutionStarted, Actor: cs.ActorBot, Request: "R1", Target: "www"}, // 3
		cs.Event{Time: at(3), Kind: cs.EventRequestCreated, Actor: "U1", Request: "R2", Target: "api"},          // 4
		cs.Event{Time: at(4), Kind: cs.EventLockSet, Actor: "U3", Target: "www"},                                // 5
		cs.Event{Time: at(5), Kind: cs.EventConfigLoaded, Actor: cs.ActorBot},                                   // 6
		cs.Event{Time: at(6), Kind: cs.EventLockSet, Actor: "U3", Target: "www-2"},                              // 7
	)
	for _, tc := range []struct {
		name string
		q    bot.EventQuery
		want []uint64
	}{
		{"all", bot.EventQuery{}, []uint64{1, 2, 3, 4, 5, 6, 7}},
		{"target", bot.EventQuery{Target: "www"}, []uint64{1, 2, 3, 5}},
		{"target limit", bot.EventQuery{Target: "www", Limit: 2}, []uint64{3, 5}},
		{"actor", bot.EventQuery{Actor: "U1"}, []uint64{1, 4}},
		{"actor and kind", bot.EventQuery{Actor: cs.ActorBot, Kind: cs.EventExecutionStarted}, []uint64{3}},
		{"kind", bot.EventQuery{Kind: cs.EventRequestCreated}, []uint64{1, 4}},
		{"request", bot.EventQuery{Request: "R1"}, []uint64{1, 2, 3}},
		{"request and actor", bot.EventQuery{Request: "R1", Actor: "U2"}, []uint64{2}},
		{"target and actor", bot.EventQuery{Target: "www", Actor: "U3"}, []uint64{5}},
		{"since inclusive", bot.EventQuery{Since: at(2)}, []uint64{3, 4, 5, 6, 7}},
		{"until exclusive", bot.EventQuery{Until: at(2)}, []uint64{1, 2}},
		{"window and target", bot.EventQuery{Target: "www", Since: at(1), Until: at(4)}, []uint64{2, 3}},
		{"limit", bot.EventQuery{Limit: 1}, []uint64{7}},
		{"limit over count", bot.EventQuery{Limit: 100}, []uint64{1, 2, 3, 4, 5, 6, 7}},
		{"kind limit", bot.EventQuery{Kind: cs.EventLockSet, Limit: 1}, []uint64{7}},
		{"before", bot.EventQuery{Before: 4}, []uint64{1, 2, 3}},
		{"before limit: the next page", bot.EventQuery{Before: 6, Limit: 2}, []uint64{4, 5}},
		{"before and target", bot.EventQuery{Target: "www", Before: 5, Limit: 2}, []uint64{2, 3}},
		{"before past the end", bot.EventQuery{Before: 100}, []uint64{1, 2, 3, 4, 5, 6, 7}},
		{"before the first", bot.EventQuery{Before: 1}, nil},
		{"unknown target", bot.EventQuery{Target: "ww"}, nil},
		{"unknown actor", bot.EventQuery{Actor: "U9"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint64
			for _, e := range events(t, s, tc.q) {
				got = append(got, e.Seq)
				sameJSON(t, fmt.Sprintf("record %d", e.Seq), e, all[e.Seq-1])
			}
			sameJSON(t, "seqs", got, tc.want)
		})
	}
}

func testFailedUpdateKeepsNothing(t *testing.T, open Opener) {
	s := openNew(t, open)
	kept := appendAll(t, s, cs.Event{Kind: cs.EventConfigLoaded, Actor: cs.ActorBot})
	err := s.Update(context.Background(), func(tx bot.Tx) error {
		if _, err := newRequest(tx, "www", cs.StatePending); err != nil {
			return err
		}
		if err := tx.PutLock(cs.Lock{Target: "www", Actor: "U1", Since: t0}); err != nil {
			return err
		}
		if err := tx.PutDeployment(cs.Deployment{ID: "R1", Target: "www", Image: "x"}); err != nil {
			return err
		}
		if _, err := tx.SeenDelivery("d-1", t0); err != nil {
			return err
		}
		if _, err := tx.Append(cs.Event{Kind: cs.EventRequestCreated, Actor: "U1", Request: "R1", Target: "www"}); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want the function's error", err)
	}
	update(t, s, func(tx bot.Tx) error {
		if _, err := tx.Request("R1"); !errors.Is(err, cs.ErrNotFound) {
			t.Errorf("Request(R1) after failed update: %v, want ErrNotFound", err)
		}
		if _, ok, _ := tx.Lock("www"); ok {
			t.Error("lock kept after failed update")
		}
		if ds, _ := tx.Deployments("www", 0); len(ds) != 0 {
			t.Errorf("deployments kept after failed update: %+v", ds)
		}
		if seen, _ := tx.SeenDelivery("d-1", t0); seen {
			t.Error("delivery kept after failed update")
		}
		if id, _ := tx.NextRequestID(); id != "R1" {
			t.Errorf("NextRequestID after failed update = %s, want R1", id)
		}
		return nil
	})
	sameJSON(t, "records after failed update", events(t, s, bot.EventQuery{}), kept)
}

func testConcurrentUpdates(t *testing.T, open Opener) {
	s := openNew(t, open)
	const n = 40
	failing := func(i int) bool { return i%5 == 0 }
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.Update(context.Background(), func(tx bot.Tx) error {
				target := fmt.Sprintf("svc-%d", i)
				if err := tx.PutLock(cs.Lock{Target: target, Actor: "U1", Since: t0}); err != nil {
					return err
				}
				if _, err := tx.Append(cs.Event{Kind: cs.EventLockSet, Actor: "U1", Target: target}); err != nil {
					return err
				}
				if failing(i) {
					return fmt.Errorf("update %d: %w", i, errBoom)
				}
				return nil
			})
		})
	}
	close(start)
	wg.Wait()

	wantTargets := map[string]bool{}
	for i, err := range errs {
		switch {
		case failing(i) && !errors.Is(err, errBoom):
			t.Errorf("update %d: got %v, want its own error", i, err)
		case !failing(i) && err != nil:
			t.Errorf("update %d: got %v, want success", i, err)
		case !failing(i):
			wantTargets[fmt.Sprintf("svc-%d", i)] = true
		}
	}
	es := events(t, s, bot.EventQuery{})
	checkChain(t, es)
	gotTargets := map[string]bool{}
	for _, e := range es {
		gotTargets[e.Target] = true
	}
	var locks []cs.Lock
	view(t, s, func(tx bot.ReadTx) error {
		var err error
		locks, err = tx.Locks()
		return err
	})
	if len(es) != len(wantTargets) || len(locks) != len(wantTargets) {
		t.Errorf("%d records and %d locks, want %d of each", len(es), len(locks), len(wantTargets))
	}
	for _, l := range locks {
		if !wantTargets[l.Target] {
			t.Errorf("lock on %s kept from a failed update", l.Target)
		}
	}
	sameJSON(t, "audited targets", gotTargets, wantTargets)
}

func testCanceledContext(t *testing.T, open Opener) {
	s := openNew(t, open)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := s.Update(ctx, func(bot.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Update with canceled ctx: err %v, fn ran %v; want context.Canceled and no run", err, ran)
	}
	if err := s.View(ctx, func(bot.ReadTx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("View with canceled ctx: err %v, fn ran %v; want context.Canceled and no run", err, ran)
	}
}

func testClosed(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ran := false
	if err := s.Update(context.Background(), func(bot.Tx) error { ran = true; return nil }); err == nil || ran {
		t.Errorf("Update after Close: err %v, fn ran %v; want an error and no run", err, ran)
	}
	if err := s.View(context.Background(), func(bot.ReadTx) error { ran = true; return nil }); err == nil || ran {
		t.Errorf("View after Close: err %v, fn ran %v; want an error and no run", err, ran)
	}
}

func testReopen(t *testing.T, open Opener) {
	dir := t.TempDir()
	s := open(t, dir)
	var req cs.Request
	lock := cs.Lock{Target: "www", Actor: "U1", Reason: "incident", Since: t0}
	dep := cs.Deployment{ID: "R1", Target: "www", Kind: cs.ActionDeploy, Image: "r@sha256:x", Started: t0}
	update(t, s, func(tx bot.Tx) error {
		var err error
		if req, err = newRequest(tx, "www", cs.StateApproved); err != nil {
			return err
		}
		if err := tx.PutLock(lock); err != nil {
			return err
		}
		if _, err := tx.SeenDelivery("d-1", t0); err != nil {
			return err
		}
		return tx.PutDeployment(dep)
	})
	before := appendAll(t, s,
		cs.Event{Kind: cs.EventRequestCreated, Actor: "U1", Request: req.ID, Target: "www"},
		cs.Event{Kind: cs.EventLockSet, Actor: "U1", Target: "www"},
	)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, dir)
	defer s.Close()
	update(t, s, func(tx bot.Tx) error {
		got, err := tx.Request(req.ID)
		if err != nil {
			t.Fatalf("Request after reopen: %v", err)
		}
		sameJSON(t, "request after reopen", got, req)
		openReqs, _ := tx.OpenRequests("www")
		sameJSON(t, "open requests after reopen", openReqs, []cs.Request{req})
		l, ok, _ := tx.Lock("www")
		if !ok {
			t.Error("lock lost on reopen")
		}
		sameJSON(t, "lock after reopen", l, lock)
		ds, _ := tx.Deployments("www", 0)
		sameJSON(t, "deployments after reopen", ds, []cs.Deployment{dep})
		if seen, _ := tx.SeenDelivery("d-1", t0); !seen {
			t.Error("delivery forgotten on reopen")
		}
		if id, _ := tx.NextRequestID(); id != "R2" {
			t.Errorf("NextRequestID after reopen = %s, want R2", id)
		}
		return nil
	})
	after := appendAll(t, s, cs.Event{Kind: cs.EventLockReleased, Actor: "U1", Target: "www"})
	checkChain(t, append(before, after...))
	sameJSON(t, "records after reopen", events(t, s, bot.EventQuery{}), append(before, after...))
}
