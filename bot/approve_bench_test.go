package bot_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/policies"
)

// BenchmarkApprovalToStart measures what an approver waits for after the
// deciding click: from the hand-over of the click to the bot (the Slack
// adapter acks a click, then hands it over: this is the ack's moment) to
// the return of the store Update that recorded execution.started, that
// is the record durable — with fsync on, as in production, and 100 other
// requests executing all along. toexec is the same click's time to the
// executor's Execute, which the bot calls after posting "started". Each click is the second approval a
// deploy of its own needs (the first is given, untimed, beforehand).
// Target: p99 < 20 ms.
//
// commit is the baseline: one durable store Update at a time (as in
// BenchmarkPushToApproval); the click's path is two of them, the
// approval and then the start, each durable before the next.
//
//	go test ./bot -run '^$' -bench ApprovalToStart -benchtime 200x
func BenchmarkApprovalToStart(b *testing.B) {
	b.Run("click", benchApprovalToStart)
	b.Run("commit", benchCommit)
}

func benchApprovalToStart(b *testing.B) {
	const busy, targets = 100, 8
	engine, err := policies.New(policies.Set{
		Groups: map[string][]string{"devs": {"UDEV1"}, "ops": {"UOPS1"}, "owners": {"UOWN1"}},
		Policies: []policies.Policy{
			{Name: "production", Actions: []cs.ActionKind{cs.ActionDeploy}, Targets: []string{"www*"}, Request: []string{"group:devs"},
				Approve: []cs.Requirement{{Group: "owners", Count: 1}, {Group: "ops", Count: 1}}},
			{Name: "load", Actions: []cs.ActionKind{cs.ActionDeploy}, Targets: []string{"slow*"}, Request: []string{"group:devs"}},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	slow := &fakeExec{hold: make(chan struct{})} // released when the benchmark ends
	fast := &fakeExec{started: make(chan cs.RequestID, 1)}
	st := &startedStore{Store: db, started: make(chan cs.RequestID, 1)}
	var services []bot.Service
	for i := range targets {
		services = append(services, bot.Service{Name: fmt.Sprintf("www%d", i), Kind: "swarm", Channel: "CDEPLOY", Image: "reg/www", Executor: fast})
	}
	for i := range busy {
		services = append(services, bot.Service{Name: fmt.Sprintf("slow%d", i), Kind: "swarm", Channel: "CDEPLOY", Image: "reg/slow", Executor: slow})
	}
	chat := &replyChat{cardChat: &cardChat{cards: make(chan cardPost, 1024)}}
	w := bot.New(bot.Config{Policy: engine, Services: services, ConfigHash: "benchhash"}, st, chat, presentImages{}, nil)
	ctx := context.Background()
	if err := w.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() {
		close(slow.hold)
		w.Close()
		db.Close()
	}()
	dev := bot.Caller{User: "UDEV1", Channel: "CCHAT"}
	for i := range busy {
		w.HandleCommand(ctx, dev, fmt.Sprintf("deploy slow%d %s", i, digest('f')))
	}
	for deadline := time.Now().Add(30 * time.Second); activeOf(slow) < busy; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d slow executions started", activeOf(slow), busy)
		}
	}
	// request asks for a deploy of target and returns its ID and its
	// buttons' fingerprint, once its approval message is out.
	request := func(target string, n int) (cs.RequestID, string) {
		w.HandleCommand(ctx, dev, fmt.Sprintf("deploy %s sha256:%064x", target, n))
		for {
			select {
			case c := <-chat.cards:
				if c.state != cs.StatePending {
					continue // a message of another request
				}
				v, _, err := w.RequestDetail(ctx, c.id)
				if err != nil {
					b.Fatal(err)
				}
				if v.Action.Target != target {
					continue
				}
				return c.id, v.Fingerprint
			case <-time.After(10 * time.Second):
				b.Fatalf("no approval message for a deploy of %s; the bot's last reply: %s", target, chat.last())
			}
		}
	}
	// finished waits until id is no longer executing, so that its
	// target takes a new request.
	finished := func(id cs.RequestID) {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			v, _, err := w.RequestDetail(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			if v.State == cs.StateSucceeded {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s still %s after 10 s", id, v.State)
			}
		}
	}
	lat, toExec := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	var last [targets]cs.RequestID
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		t := i % targets
		if last[t] != "" {
			finished(last[t])
		}
		id, fp := request(fmt.Sprintf("www%d", t), i+1)
		last[t] = id
		w.HandleButton(ctx, bot.Caller{User: "UOWN1", Channel: "CDEPLOY"}, bot.ButtonApprove, bot.ButtonValue(id, fp))
		for len(st.started) > 0 {
			<-st.started // a slow request's start, before the clicks
		}
		b.StartTimer()
		start := time.Now()
		go w.HandleButton(ctx, bot.Caller{User: "UOPS1", Channel: "CDEPLOY"}, bot.ButtonApprove, bot.ButtonValue(id, fp))
		for _, started := range []chan cs.RequestID{st.started, fast.started} {
			select {
			case got := <-started:
				if got != id {
					b.Fatalf("%s started, want %s", got, id)
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("%s did not start within 10 s of its deciding approval", id)
			}
			if started == st.started {
				lat = append(lat, time.Since(start))
			} else {
				toExec = append(toExec, time.Since(start))
			}
		}
	}
	b.StopTimer()
	if n := activeOf(slow); n != busy {
		b.Fatalf("%d slow executions at the end, want %d all along", n, busy)
	}
	reportLatency(b, lat)
	slices.Sort(toExec)
	b.ReportMetric(float64(toExec[len(toExec)*99/100].Microseconds())/1000, "toexec-p99-ms")
}

// startedStore tells on started which request's execution.started
// record a store Update has just made durable.
type startedStore struct {
	bot.Store
	started chan cs.RequestID
}

func (s *startedStore) Update(ctx context.Context, fn func(bot.Tx) error) error {
	var ids []cs.RequestID
	err := s.Store.Update(ctx, func(tx bot.Tx) error {
		ids = ids[:0] // fn may run again
		return fn(startedTx{Tx: tx, ids: &ids})
	})
	if err == nil {
		for _, id := range ids {
			select {
			case s.started <- id:
			default:
			}
		}
	}
	return err
}

type startedTx struct {
	bot.Tx
	ids *[]cs.RequestID
}

func (t startedTx) Append(e cs.Event) (cs.Event, error) {
	if e.Kind == cs.EventExecutionStarted {
		*t.ids = append(*t.ids, e.Request)
	}
	return t.Tx.Append(e)
}

func activeOf(e *fakeExec) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.active
}

// replyChat is a cardChat that keeps the last ephemeral reply, to say
// why a request was not made.
type replyChat struct {
	*cardChat
	mu    sync.Mutex
	reply string
}

func (c *replyChat) Ephemeral(_ context.Context, _ bot.Caller, m bot.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reply = fmt.Sprint(m.Text)
	return nil
}

func (c *replyChat) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reply
}
