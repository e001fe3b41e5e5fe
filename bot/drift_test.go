package bot_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// fakeSweeper answers drift sweeps from a map, and counts its calls.
type fakeSweeper struct {
	mu    sync.Mutex
	live  map[string]bot.Live
	err   error
	asked [][]string
}

func (s *fakeSweeper) Sweep(_ context.Context, targets []string) (map[string]bot.Live, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, slices.Clone(targets))
	if s.err != nil {
		return nil, s.err
	}
	out := map[string]bot.Live{}
	for _, t := range targets {
		if l, ok := s.live[t]; ok {
			out[t] = l
		}
	}
	return out, nil
}

func (s *fakeSweeper) set(target string, l bot.Live) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == nil {
		s.live = map[string]bot.Live{}
	}
	s.live[target] = l
}

// observedExec is the harness's executor whose targets a sweep can read.
type observedExec struct {
	*fakeExec
	sw *fakeSweeper
}

func (e observedExec) Sweeper() bot.Sweeper { return e.sw }

func withExecutor(ex bot.Executor) harnessOpt { return func(hc *harnessConfig) { hc.executor = ex } }
func withPath(p string) harnessOpt            { return func(hc *harnessConfig) { hc.path = p } }

// driftHarness is a harness whose services share one observed executor,
// with api deployed (R1: image digest 3).
func driftHarness(t *testing.T, opts ...harnessOpt) (*harness, *fakeSweeper) {
	t.Helper()
	sw := &fakeSweeper{}
	h := newHarness(t, append([]harnessOpt{withExecutor(observedExec{fakeExec: &fakeExec{}, sw: sw})}, opts...)...)
	h.say("UOPS1", "deploy api "+shaA)
	h.say("UOPS2", "approve R1")
	h.wantState("R1", cs.StateSucceeded)
	return h, sw
}

func (h *harness) sweep(only string) {
	h.t.Helper()
	if err := h.bot.SweepDrift(h.ctx, only); err != nil {
		h.t.Fatal(err)
	}
	h.idle()
}

// driftRecords returns the drift records about target, oldest first.
func (h *harness) driftRecords(target string) []cs.Event {
	h.t.Helper()
	var out []cs.Event
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		evs, err := tx.Events(bot.EventQuery{Target: target})
		for _, e := range evs {
			if e.Kind == cs.EventDriftDetected || e.Kind == cs.EventDriftCleared {
				out = append(out, e)
			}
		}
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

func kindsOf(evs []cs.Event) []cs.EventKind {
	var out []cs.EventKind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

func TestBot_DriftImageReportedOnceUntilItChanges(t *testing.T) {
	h, sw := driftHarness(t)
	approved := "reg/api@" + digest('3')
	sw.set("api", bot.Live{Image: approved, Replicas: -1})
	h.sweep("")
	if got := h.driftRecords("api"); len(got) != 0 {
		t.Fatalf("matching target: drift records %v, want none", kindsOf(got))
	}
	if v := h.bot.Drift()["api"]; v.Drifted || v.Expected != "image "+approved || v.Found != v.Expected {
		t.Fatalf("matching: %+v", v)
	}

	sw.set("api", bot.Live{Image: "reg/api@" + digest('4'), Replicas: -1})
	h.clock.Advance(time.Minute)
	h.sweep("")
	h.sweep("")
	h.sweep("")
	evs := h.driftRecords("api")
	if got := kindsOf(evs); !slices.Equal(got, []cs.EventKind{cs.EventDriftDetected}) {
		t.Fatalf("after three sweeps of one drift: %v, want one drift.detected", got)
	}
	want := `{"expected":"image reg/api@` + digest('3') + `","found":"image reg/api@` + digest('4') + `","last_matched":"2026-11-18T10:00:00.000000Z"}`
	if string(evs[0].Detail) != want {
		t.Errorf("detail\n got %s\nwant %s", evs[0].Detail, want)
	}
	if n := h.chat.PostsContaining("Drift on api"); n != 1 {
		t.Errorf("%d drift messages, want 1", n)
	}
	if n := h.chat.PostsContaining("`adopt api`"); n != 1 {
		t.Errorf("the message does not offer `adopt api`:\n%s", h.chat.AllText())
	}

	// What is found changes: reported again.
	sw.set("api", bot.Live{Image: "reg/api@" + digest('5'), Replicas: -1})
	h.sweep("")
	// Put back: cleared once.
	sw.set("api", bot.Live{Image: approved, Replicas: -1})
	h.sweep("")
	h.sweep("")
	if got := kindsOf(h.driftRecords("api")); !slices.Equal(got, []cs.EventKind{cs.EventDriftDetected, cs.EventDriftDetected, cs.EventDriftCleared}) {
		t.Fatalf("records %v, want detected, detected (changed), cleared", got)
	}
	if n := h.chat.PostsContaining("Drift on api"); n != 2 {
		t.Errorf("%d drift messages, want 2", n)
	}
	if h.bot.Drift()["api"].Drifted {
		t.Error("still drifted after it matched again")
	}
	verifyAudit(t, h.db)
}

func TestBot_DriftNotReportedAgainAfterRestart(t *testing.T) {
	h, sw := driftHarness(t)
	sw.set("api", bot.Live{Image: "reg/api@" + digest('4'), Replicas: -1})
	h.sweep("")
	h.bot.Close()
	h.db.Close()

	h2 := newHarness(t, withExecutor(observedExec{fakeExec: &fakeExec{}, sw: sw}), withPath(h.path))
	h2.sweep("")
	if got := kindsOf(h2.driftRecords("api")); len(got) != 1 {
		t.Fatalf("after a restart: %v, want the one drift.detected of before", got)
	}
	if v := h2.bot.Drift()["api"]; !v.Drifted {
		t.Errorf("after a restart: %+v, want drifted", v)
	}
	sw.set("api", bot.Live{Image: "reg/api@" + digest('3'), Replicas: -1})
	h2.sweep("")
	if got := kindsOf(h2.driftRecords("api")); !slices.Equal(got, []cs.EventKind{cs.EventDriftDetected, cs.EventDriftCleared}) {
		t.Fatalf("put back after a restart: %v", got)
	}
}

func TestBot_DriftReplicasAndSpec(t *testing.T) {
	for _, tc := range []struct {
		name  string
		live  func(deployed time.Time) bot.Live
		found string // "" : no drift
	}{
		{"same", func(time.Time) bot.Live { return bot.Live{Image: "reg/api@" + digest('3'), Replicas: 3} }, ""},
		{"same digest, other name", func(time.Time) bot.Live {
			return bot.Live{Image: "docker.io/reg/api:x@" + digest('3'), Replicas: 3}
		}, ""},
		{"scaled behind the bot's back", func(time.Time) bot.Live { return bot.Live{Image: "reg/api@" + digest('3'), Replicas: 5} },
			"image reg/api@" + digest('3') + ", 5 replicas"},
		{"spec updated after the bot, same image", func(d time.Time) bot.Live {
			return bot.Live{Image: "reg/api@" + digest('3'), Replicas: 3, Updated: d.Add(5 * time.Minute)}
		}, "image reg/api@" + digest('3') + ", 3 replicas; its spec was changed outside the bot at 2026-11-18 10:05 UTC"},
		{"spec updated as the bot finished", func(d time.Time) bot.Live {
			return bot.Live{Image: "reg/api@" + digest('3'), Replicas: 3, Updated: d.Add(30 * time.Second)}
		}, ""},
		{"unikernel binary not deployed by the bot", func(time.Time) bot.Live {
			return bot.Live{Hash: strings.Repeat("e", 64), Replicas: -1}
		}, "image sha256 " + strings.Repeat("e", 64) + " (a binary Countersign did not deploy), 3 replicas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, sw := driftHarness(t)
			h.say("UOPS1", "scale api 3")
			h.say("UOPS2", "approve R2")
			h.wantState("R2", cs.StateSucceeded)
			sw.set("api", tc.live(h.clock.Now()))
			h.sweep("api")
			evs := h.driftRecords("api")
			v := h.bot.Drift()["api"]
			if v.Expected != "image reg/api@"+digest('3')+", 3 replicas" {
				t.Errorf("expected %q", v.Expected)
			}
			if tc.found == "" {
				if len(evs) != 0 || v.Drifted {
					t.Fatalf("want no drift; got %v, %+v", kindsOf(evs), v)
				}
				return
			}
			if len(evs) != 1 || !v.Drifted || v.Found != tc.found {
				t.Fatalf("want drift with found %q; got %v, %+v", tc.found, kindsOf(evs), v)
			}
		})
	}
}

func TestBot_DriftUnknownIsNotDrift(t *testing.T) {
	h, sw := driftHarness(t)
	sw.err = errors.New("engine unreachable")
	h.sweep("")
	if got := h.driftRecords("api"); len(got) != 0 {
		t.Fatalf("unreadable target: %v, want no record", kindsOf(got))
	}
	v := h.bot.Drift()["api"]
	if v.Drifted || !strings.Contains(v.Unknown, "engine unreachable") {
		t.Fatalf("unreadable: %+v, want unknown saying why", v)
	}

	// Missing from the answer is unknown too.
	sw.err = nil
	h.sweep("")
	if v := h.bot.Drift()["api"]; v.Drifted || v.Unknown == "" {
		t.Fatalf("target missing from the answer: %+v, want unknown", v)
	}
}

func TestBot_DriftInStatus(t *testing.T) {
	h, sw := driftHarness(t, func(hc *harnessConfig) { hc.drift = time.Hour })
	sw.set("api", bot.Live{Image: "reg/api@" + digest('3'), Replicas: -1})
	if got := h.say("UOPS1", "status api"); !strings.Contains(got, "no drift (checked 2026-11-18 10:00 UTC)") {
		t.Errorf("status of a matching service:\n%s", got)
	}
	// `status SERVICE` reads it then and there: no wait for the interval.
	sw.set("api", bot.Live{Image: "reg/api@" + digest('4'), Replicas: -1})
	got := h.say("UOPS1", "status api")
	if !strings.Contains(got, "⚠️ drift since 2026-11-18 10:00 UTC: approved image reg/api@"+digest('3')+"; runs image reg/api@"+digest('4')) {
		t.Errorf("status of a drifted service:\n%s", got)
	}
	if n := len(h.driftRecords("api")); n != 1 {
		t.Errorf("%d drift records, want 1", n)
	}
	sw.mu.Lock()
	sw.err = errors.New("engine unreachable")
	sw.mu.Unlock()
	if got := h.say("UOPS1", "status api"); !strings.Contains(got, "(last read failed: could not read: engine unreachable)") {
		t.Errorf("status of an unreadable drifted service:\n%s", got)
	}
}

func TestBot_DriftOneSweepPerReader(t *testing.T) {
	h, sw := driftHarness(t)
	h.say("UOPS1", "deploy www "+digest('2'))
	h.say("UOPS2", "approve R2")
	sw.asked = nil
	h.sweep("")
	if len(sw.asked) != 1 || !slices.Equal(sw.asked[0], []string{"www", "api"}) && !slices.Equal(sw.asked[0], []string{"api", "www"}) {
		t.Fatalf("sweeps %v, want one for both services of the reader", sw.asked)
	}
}

// fakeZone shows records from a map, by "NAME TYPE".
type fakeZone struct {
	*fakeExec
	mu   sync.Mutex
	recs map[string][]cs.Record
	err  error
}

func (z *fakeZone) Show(_ context.Context, name, typ string) ([]cs.Record, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.recs[name+" "+typ], z.err
}

func TestBot_DriftDNS(t *testing.T) {
	a := func(v string, ttl uint32) cs.Record {
		return cs.Record{Name: "www.example.org.", Type: "A", TTL: ttl, Value: v}
	}
	z := &fakeZone{fakeExec: &fakeExec{}, recs: map[string][]cs.Record{"www.example.org. A": {a("192.0.2.1", 300)}}}
	h := newHarness(t, func(hc *harnessConfig) { hc.zones = []bot.Zone{{Name: "example.org.", Executor: z}} })
	// What the bot set: R1 set www A 192.0.2.1; R2 deleted old TXT.
	seed := []cs.Request{
		{ID: "R1", State: cs.StateSucceeded, Message: cs.MessageRef{Channel: "CDNS"}, Action: cs.Action{Kind: cs.ActionDNS, Target: "www.example.org.",
			DNS: &cs.DNSChange{Op: cs.DNSSet, Name: "www.example.org.", Type: "A", Value: "192.0.2.1", TTL: 300, Proposed: []cs.Record{a("192.0.2.1", 300)}}}},
		{ID: "R2", State: cs.StateSucceeded, Message: cs.MessageRef{Channel: "CDNS"}, Action: cs.Action{Kind: cs.ActionDNS, Target: "old.example.org.",
			DNS: &cs.DNSChange{Op: cs.DNSDelete, Name: "old.example.org.", Type: "TXT"}}},
		{ID: "R3", State: cs.StateSucceeded, DryRun: true, Action: cs.Action{Kind: cs.ActionDNS, Target: "dry.example.org.",
			DNS: &cs.DNSChange{Op: cs.DNSSet, Name: "dry.example.org.", Type: "A", Value: "192.0.2.9", Proposed: []cs.Record{a("192.0.2.9", 60)}}}},
	}
	if err := h.db.Update(h.ctx, func(tx bot.Tx) error {
		for _, r := range seed {
			if _, err := tx.NextRequestID(); err != nil {
				return err
			}
			if err := tx.PutRequest(r); err != nil {
				return err
			}
			if _, err := tx.Append(cs.Event{Kind: cs.EventExecutionSucceeded, Actor: cs.ActorBot, Request: r.ID, Action: cs.ActionDNS, Target: r.Action.Target}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h.sweep("")
	views := h.bot.Drift()
	if v := views["www.example.org. A"]; v.Drifted || v.Expected != "A 192.0.2.1 ttl 300" || v.Found != v.Expected {
		t.Errorf("www A matching: %+v", v)
	}
	if v := views["old.example.org. TXT"]; v.Drifted || v.Expected != "no records" {
		t.Errorf("deleted old TXT: %+v", v)
	}
	if _, ok := views["dry.example.org. A"]; ok {
		t.Error("a dry run's record is checked")
	}

	// Changed behind the bot's back (a TTL counts), and a deleted RRset back.
	z.mu.Lock()
	z.recs["www.example.org. A"] = []cs.Record{a("192.0.2.1", 60)}
	z.recs["old.example.org. TXT"] = []cs.Record{{Name: "old.example.org.", Type: "TXT", TTL: 60, Value: `"v=spf1 -all"`}}
	z.mu.Unlock()
	h.sweep("")
	h.sweep("")
	evs := h.driftRecords("www.example.org")
	if len(evs) != 1 {
		t.Fatalf("www: %v, want one drift.detected", kindsOf(evs))
	}
	if want := `{"expected":"A 192.0.2.1 ttl 300","found":"A 192.0.2.1 ttl 60","last_matched":"2026-11-18T10:00:00.000000Z","rrset":"www.example.org. A"}`; string(evs[0].Detail) != want {
		t.Errorf("detail\n got %s\nwant %s", evs[0].Detail, want)
	}
	if n := len(h.driftRecords("old.example.org")); n != 1 {
		t.Errorf("old TXT: %d records, want 1", n)
	}
	if n := h.chat.PostsContaining("Drift on www.example.org. A"); n != 1 {
		t.Errorf("%d messages about www A, want 1:\n%s", n, h.chat.AllText())
	}
	o, err := h.bot.Overview(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.DNSDrift) != 2 || o.DNSDrift[0].Target != "old.example.org. TXT" {
		t.Errorf("overview DNS drift: %+v", o.DNSDrift)
	}

	// Unreadable: unknown, no record; put back: cleared.
	z.mu.Lock()
	z.err = errors.New("primary refused the query")
	z.mu.Unlock()
	h.sweep("")
	if v := h.bot.Drift()["www.example.org. A"]; !v.Drifted || !strings.Contains(v.Unknown, "primary refused") {
		t.Errorf("unreadable: %+v", v)
	}
	z.mu.Lock()
	z.err = nil
	z.recs["www.example.org. A"] = []cs.Record{a("192.0.2.1", 300)}
	z.mu.Unlock()
	h.sweep("")
	if got := kindsOf(h.driftRecords("www.example.org")); !slices.Equal(got, []cs.EventKind{cs.EventDriftDetected, cs.EventDriftCleared}) {
		t.Errorf("www after put back: %v", got)
	}
}

// withAdopt lets the production policy's people adopt too.
func withAdopt(hc *harnessConfig) {
	hc.set.Policies[1].Actions = append(hc.set.Policies[1].Actions, cs.ActionAdopt)
}

func TestBot_AdoptTakesWhatRunsAndRollbackGoesBackBeforeIt(t *testing.T) {
	h, sw := driftHarness(t, withAdopt)
	drifted := "reg/api@" + digest('4')
	sw.set("api", bot.Live{Image: drifted, Replicas: -1})
	h.sweep("")

	h.say("UOPS1", "adopt api")
	r := h.wantState("R2", cs.StatePending)
	if r.Action.Kind != cs.ActionAdopt || r.Action.Image != drifted || r.Decision.Policy != "production" {
		t.Fatalf("adopt request: %+v (policy %s)", r.Action, r.Decision.Policy)
	}
	if !strings.Contains(r.Plan, "record "+drifted+" as what api should run") {
		t.Errorf("plan %q", r.Plan)
	}
	h.say("UOPS2", "approve R2")
	h.wantState("R2", cs.StateSucceeded)
	var hist []cs.Deployment
	h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		hist, err = tx.Deployments("api", 0)
		return err
	})
	if len(hist) != 2 || hist[0].Kind != cs.ActionAdopt || hist[0].Image != drifted || hist[0].Replaced != "reg/api@"+digest('3') {
		t.Fatalf("history after adopt: %+v", hist)
	}
	h.sweep("")
	if got := kindsOf(h.driftRecords("api")); !slices.Equal(got, []cs.EventKind{cs.EventDriftDetected, cs.EventDriftCleared}) {
		t.Fatalf("drift after adopt: %v, want cleared", got)
	}

	// A rollback now goes back to what was approved before the drift.
	h.say("UOPS1", "rollback api")
	if r := h.wantState("R3", cs.StatePending); r.Action.Image != "reg/api@"+digest('3') {
		t.Errorf("rollback after adopt goes to %s, want digest 3", r.Action.Image)
	}
}

func TestBot_AdoptRefusedOrFailed(t *testing.T) {
	h, sw := driftHarness(t, withAdopt)
	sw.err = errors.New("engine unreachable")
	if got := h.say("UOPS1", "adopt api"); !strings.Contains(got, "read what runs at api: engine unreachable") {
		t.Errorf("adopt of an unreadable service: %q", got)
	}
	sw.err = nil
	sw.set("api", bot.Live{Hash: strings.Repeat("e", 64), Replicas: -1})
	if got := h.say("UOPS1", "adopt api"); !strings.Contains(got, "that no image in the host's index names") {
		t.Errorf("adopt of an unknown binary: %q", got)
	}

	// What runs moves between the request and its approval: not adopted.
	sw.set("api", bot.Live{Image: "reg/api@" + digest('4'), Replicas: -1})
	h.say("UOPS1", "adopt api")
	sw.set("api", bot.Live{Image: "reg/api@" + digest('5'), Replicas: -1})
	h.say("UOPS2", "approve R2")
	r := h.wantState("R2", cs.StateFailed)
	if !strings.Contains(r.Outcome, "what runs changed since the request: it now runs reg/api@"+digest('5')) {
		t.Errorf("outcome %q", r.Outcome)
	}
}

func TestBot_DeployOfDriftedServiceShowsDriftOnCard(t *testing.T) {
	h, sw := driftHarness(t)
	sw.set("api", bot.Live{Image: "reg/api@" + digest('9'), Replicas: -1})
	h.sweep("")
	h.say("UOPS1", "deploy api "+shaB)
	h.say("UOPS1", "scale api 4")
	var deploy, scale string
	for _, m := range h.chat.Posts() {
		if m.Request == nil {
			continue
		}
		switch m.Request.ID {
		case "R2":
			deploy = string(m.Text)
		case "R3":
			scale = string(m.Text)
		}
	}
	want := "Drift: api does not run what was last approved: it runs image reg/api@" + digest('9') + ", not image reg/api@" + digest('3')
	if !strings.Contains(deploy, want) {
		t.Errorf("the deploy's card lacks the drift %q:\n%s", want, deploy)
	}
	if strings.Contains(scale, "Drift:") {
		t.Errorf("a scale's card shows drift:\n%s", scale)
	}
}

func TestBot_DriftSweptAtStart(t *testing.T) {
	h, sw := driftHarness(t)
	sw.set("api", bot.Live{Image: "reg/api@" + digest('4'), Replicas: -1})
	h.bot.Close()
	h.db.Close()

	h2 := newHarness(t, withExecutor(observedExec{fakeExec: &fakeExec{}, sw: sw}), withPath(h.path),
		func(hc *harnessConfig) { hc.drift = time.Hour })
	// Nobody asked: the sweep at start finds it (waited for, not timed).
	for deadline := time.Now().Add(30 * time.Second); !h2.bot.Drift()["api"].Drifted; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no sweep at start")
		}
	}
	if got := kindsOf(h2.driftRecords("api")); !slices.Equal(got, []cs.EventKind{cs.EventDriftDetected}) {
		t.Fatalf("records after the start's sweep: %v", got)
	}
}

func TestBot_DriftNotReadWhileTheBotChangesIt(t *testing.T) {
	sw := &fakeSweeper{}
	ex := &fakeExec{hold: make(chan struct{}), started: make(chan cs.RequestID, 1)}
	h := newHarness(t, withExecutor(observedExec{fakeExec: ex, sw: sw}))
	close(ex.hold)
	h.say("UOPS1", "deploy api "+shaA)
	h.say("UOPS2", "approve R1")
	<-ex.started
	h.wantState("R1", cs.StateSucceeded)
	sw.set("api", bot.Live{Image: "reg/api@" + digest('3'), Replicas: -1})
	h.sweep("")

	// R2 runs: the engine already has the new image, the history not yet.
	ex.mu.Lock()
	ex.hold = make(chan struct{})
	ex.mu.Unlock()
	h.say("UOPS1", "deploy api "+shaB)
	h.sayNow("UOPS2", "approve R2")
	<-ex.started
	sw.set("api", bot.Live{Image: "reg/api@" + digest('4'), Replicas: -1})
	if err := h.bot.SweepDrift(h.ctx, ""); err != nil {
		t.Fatal(err)
	}
	if got := h.driftRecords("api"); len(got) != 0 {
		t.Fatalf("while the bot deploys: %v, want nothing", kindsOf(got))
	}
	ex.mu.Lock()
	close(ex.hold)
	ex.mu.Unlock()
	h.idle()
	h.wantState("R2", cs.StateSucceeded)
	h.sweep("")
	if got := h.driftRecords("api"); len(got) != 0 {
		t.Fatalf("after the bot's deploy: %v, want nothing", kindsOf(got))
	}
}

// TestBot_DriftNotAuditedIsReportedAgain: when the drift.detected record
// cannot be written, the sweep fails, nothing is posted, and the next
// sweep that can write reports it.
func TestBot_DriftNotAuditedIsReportedAgain(t *testing.T) {
	fs := &failingStore{}
	h, sw := driftHarness(t, func(c *harnessConfig) {
		c.wrap = func(s bot.Store) bot.Store { fs.Store = s; return fs }
	})
	sw.set("api", bot.Live{Image: "reg/api@" + digest('4'), Replicas: -1})
	fs.setFail(cs.EventDriftDetected)
	if err := h.bot.SweepDrift(h.ctx, ""); !errors.Is(err, errBoom) {
		t.Fatalf("sweep with the trail failing: %v, want errBoom", err)
	}
	h.idle()
	if v := h.bot.Drift()["api"]; v.Drifted || h.chat.PostsContaining("Drift on api") != 0 {
		t.Fatalf("unrecorded drift remembered (%+v) or posted", v)
	}
	fs.setFail()
	h.sweep("")
	if got := kindsOf(h.driftRecords("api")); len(got) != 1 || h.chat.PostsContaining("Drift on api") != 1 {
		t.Fatalf("after the trail works again: %v, %d messages", got, h.chat.PostsContaining("Drift on api"))
	}
}
