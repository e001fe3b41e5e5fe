package bot_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/policies"
)

// BenchmarkPushToApproval measures what an approver waits for after a
// push to a branch whose service has `build: wait` and whose image is
// already in the registry: the time from HandlePush to the chat's Post
// of the request's message, through the real workflow, outbox and store
// with fsync on (the push and its parent message, the delivered post,
// the image, the request and its approval message: several durable
// commits). Each push is of a new commit with nothing open; the request
// is denied, untimed, before the next. Target: p99 < 100 ms.
//
// commit is the baseline: one durable store Update (one audit record)
// at a time, the unit the path above is made of; updates/push says how
// many Updates the bot made on the way.
//
//	go test ./bot -run '^$' -bench PushToApproval -benchtime 200x
func BenchmarkPushToApproval(b *testing.B) {
	b.Run("build-wait", benchPushToApproval)
	b.Run("commit", benchCommit)
}

func benchPushToApproval(b *testing.B) {
	chat := &cardChat{cards: make(chan cardPost, 16)}
	w, st := newBenchBot(b, chat)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	var updates int64
	b.ResetTimer()
	for i := range b.N {
		sha := fmt.Sprintf("%040x", i+1)
		before := st.updates.Load()
		start := time.Now()
		_, err := w.HandlePush(ctx, bot.Push{Repo: "org/www", Branch: "main", SHA: sha, Pusher: "dev", Author: "dev",
			Title: "a change", Delivery: "bench-" + sha})
		if err != nil {
			b.Fatal(err)
		}
		var card cardPost
		select {
		case card = <-chat.cards:
		case <-time.After(10 * time.Second):
			b.Fatalf("push %d: no request message after 10 s", i+1)
		}
		if card.state != cs.StatePending {
			b.Fatalf("push %d: %s posted %s, want it waiting for approval", i+1, card.id, card.state)
		}
		lat = append(lat, card.at.Sub(start))
		updates += st.updates.Load() - before
		b.StopTimer()
		w.HandleCommand(ctx, bot.Caller{User: "UOPS1", Channel: "CCHAT"}, "deny "+string(card.id)+" benchmark reset")
		idle(b, w)
		b.StartTimer()
	}
	b.StopTimer()
	reportLatency(b, lat)
	b.ReportMetric(float64(updates)/float64(b.N), "updates/push")
}

func benchCommit(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "commit.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		err := db.Update(ctx, func(tx bot.Tx) error {
			_, err := tx.Append(cs.Event{Kind: cs.EventWebhookReceived, Actor: cs.GitHubActor("dev"), Target: "www",
				Detail: []byte(fmt.Sprintf(`{"delivery":"bench-%d"}`, i))})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
}

// newBenchBot is a bot with a durable store (fsync on, as in
// production), one service www that waits for its image on pushes to
// main, and a policy that asks one of ops to approve. The store counts
// the bot's Updates.
func newBenchBot(b *testing.B, chat bot.Chat) (*bot.Bot, *countingStore) {
	b.Helper()
	engine, err := policies.New(policies.Set{
		Groups: map[string][]string{"ops": {"UOPS1", "UOPS2"}},
		Policies: []policies.Policy{{Name: "www-on-push", Actions: []cs.ActionKind{cs.ActionDeploy}, Targets: []string{"www"},
			Request: []string{"push"}, Approve: []cs.Requirement{{Group: "ops", Count: 1}}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cfg := bot.Config{
		Policy: engine,
		Services: []bot.Service{{Name: "www", Kind: "swarm", Repo: "org/www", Branch: "main", Channel: "CDEPLOY", Image: "reg/www",
			Build:    bot.Build{Mode: "wait", Tag: func(sha, _ string) (string, error) { return sha, nil }, Timeout: 10 * time.Second},
			Executor: &fakeExec{}}},
		ConfigHash: "benchhash",
	}
	st := &countingStore{Store: db}
	w := bot.New(cfg, st, chat, presentImages{}, nil)
	if err := w.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		w.Close()
		db.Close()
	})
	idle(b, w)
	return w, st
}

// countingStore counts Update calls. Concurrent ones may share a
// commit (the store's group commit), so it counts at least the commits.
type countingStore struct {
	bot.Store
	updates atomic.Int64
}

func (s *countingStore) Update(ctx context.Context, fn func(bot.Tx) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, fn)
}

func idle(b *testing.B, w *bot.Bot) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Idle(ctx); err != nil {
		b.Fatalf("bot did not become idle: %v", err)
	}
}

// presentImages has every tag already: repo:tag is repo@sha256 of tag.
type presentImages struct{}

func (presentImages) Resolve(_ context.Context, repo, tag string) (string, error) {
	sum := sha256.Sum256([]byte(tag))
	return repo + "@sha256:" + hex.EncodeToString(sum[:]), nil
}

func (i presentImages) Wait(ctx context.Context, repo, tag string, _ time.Duration) (string, error) {
	return i.Resolve(ctx, repo, tag)
}

func (presentImages) Check(context.Context, string) error { return nil }

// cardPost is when the chat was asked to post a request's message.
type cardPost struct {
	id    cs.RequestID
	state cs.State
	at    time.Time
}

// cardChat accepts everything and sends each post of a request's
// message on cards (dropping it if nobody reads them).
type cardChat struct {
	mu    sync.Mutex
	n     int
	cards chan cardPost
}

func (c *cardChat) Post(_ context.Context, m bot.Message) (cs.MessageRef, error) {
	at := time.Now()
	c.mu.Lock()
	c.n++
	ts := fmt.Sprintf("ts%d", c.n)
	c.mu.Unlock()
	if m.Request != nil {
		select {
		case c.cards <- cardPost{id: m.Request.ID, state: m.Request.State, at: at}:
		default:
		}
	}
	return cs.MessageRef{Channel: m.Channel, TS: ts}, nil
}

func (c *cardChat) Update(context.Context, cs.MessageRef, bot.Message) error { return nil }
func (c *cardChat) Ephemeral(context.Context, bot.Caller, bot.Message) error { return nil }
