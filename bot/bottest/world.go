package bottest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/store"
)

// Options says how NewWorld builds its bot. Only Config.Policy is
// required; every other field has a default.
type Options struct {
	// Config is the bot's config. Its Clock, if unset, is Clock's.
	Config bot.Config
	// Clock, if set, is the bot's clock (default: the system clock).
	Clock *Clock
	// Chat is the chat the bot talks to (default: a new Chat).
	Chat bot.Chat
	// Images resolves image tags (default: none; the bot must not need any).
	Images bot.Images
	// Log receives the bot's log (default: discarded).
	Log *slog.Logger
	// Path is the store's file (default: cs.db in t.TempDir()).
	Path string
	// Sync makes the store fsync its commits (default: off, for speed).
	Sync bool
	// Wrap, if set, stands between the bot and the store.
	Wrap func(*store.DB) bot.Store
}

// World is a bot on a real store, started, that the test's cleanup
// closes. Restart reopens both on the same file.
type World struct {
	T     testing.TB
	Ctx   context.Context
	Bot   *bot.Bot
	DB    *store.DB
	Chat  bot.Chat
	Clock *Clock // nil when the bot follows the system clock
	Path  string

	opts Options
	open bool
}

// NewWorld opens a store, builds a bot on it with opts and starts it.
func NewWorld(t testing.TB, opts Options) *World {
	t.Helper()
	if opts.Config.Policy == nil {
		t.Fatal("bottest.NewWorld: Options.Config.Policy is required")
	}
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "cs.db")
	}
	if opts.Chat == nil {
		opts.Chat = &Chat{}
	}
	if opts.Clock != nil && opts.Config.Clock == nil {
		opts.Config.Clock = opts.Clock
	}
	w := &World{T: t, Ctx: context.Background(), Chat: opts.Chat, Clock: opts.Clock, Path: opts.Path, opts: opts}
	w.Start()
	t.Cleanup(w.Stop)
	return w
}

// Start opens the store and starts a bot on it.
func (w *World) Start() {
	w.T.Helper()
	db, err := store.Open(w.Path, store.Options{NoSync: !w.opts.Sync})
	if err != nil {
		w.T.Fatal(err)
	}
	var st bot.Store = db
	if w.opts.Wrap != nil {
		st = w.opts.Wrap(db)
	}
	w.DB = db
	w.Bot = bot.New(w.opts.Config, st, w.opts.Chat, w.opts.Images, w.opts.Log)
	w.open = true
	if err := w.Bot.Start(w.Ctx); err != nil {
		w.T.Fatal(err)
	}
}

// Stop closes the bot and the store; it does nothing if they are closed.
func (w *World) Stop() {
	if !w.open {
		return
	}
	w.open = false
	w.Bot.Close()
	if err := w.DB.Close(); err != nil {
		w.T.Errorf("close store: %v", err)
	}
}

// Restart stops the bot and starts another on the same store file, with
// change (if set) applied to its config first.
func (w *World) Restart(change func(*bot.Config)) {
	w.T.Helper()
	w.Stop()
	if change != nil {
		change(&w.opts.Config)
	}
	w.Start()
}

// Config is the bot's config, as the next Restart starts it.
func (w *World) Config() bot.Config { return w.opts.Config }

// Idle waits (at most 30 seconds) until the bot has nothing left to do.
func (w *World) Idle() {
	w.T.Helper()
	ctx, cancel := context.WithTimeout(w.Ctx, 30*time.Second)
	defer cancel()
	if err := w.Bot.Idle(ctx); err != nil {
		w.T.Fatalf("bot did not become idle: %v", err)
	}
}

// Request returns the stored request id; it fails the test if there is none.
func (w *World) Request(id cs.RequestID) cs.Request {
	w.T.Helper()
	return Request(w.T, w.DB, id)
}

// Request reads request id from a store; it fails t if it cannot.
func Request(t testing.TB, db bot.Store, id cs.RequestID) cs.Request {
	t.Helper()
	var r cs.Request
	if err := db.View(context.Background(), func(tx bot.ReadTx) error {
		var err error
		r, err = tx.Request(id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return r
}
