package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/shell"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/cmd/countersign/config"
)

// shell runs `countersign shell --config FILE [--dry-run] [--db FILE]`.
func (m *Main) shell(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("shell", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	path := fs.String("config", "", "config file (required)")
	dryRun := fs.Bool("dry-run", false, "executors describe what they would do instead of doing it")
	dbPath := fs.String("db", "", "database file (default: the config's db)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *path == "" {
		fmt.Fprintln(m.Stderr, "usage: countersign shell --config FILE [--dry-run] [--db FILE]")
		return exitUsage
	}
	cfg, err := loadConfig(ctx, config.Options{}, *path)
	if err != nil {
		return m.failf("%v", err)
	}
	if *dbPath != "" {
		cfg.DB = *dbPath
	}
	mode := modeReal
	if *dryRun {
		mode = modeDryRun
	}
	return m.runShell(ctx, cfg, mode, nil, nil)
}

// runShell runs the bot with the terminal chat until stdin ends. started,
// if not nil, is called once the bot runs (the demo starts its status page
// there); the stop it returns is called before the bot stops.
func (m *Main) runShell(ctx context.Context, cfg *config.Config, mode execMode, images bot.Images,
	started func(*bot.Bot, *store.DB, *slog.Logger) (stop func(), err error)) int {
	log := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	bc, execs, err := botConfig(ctx, cfg, mode, log)
	if err != nil {
		return m.failf("%v", err)
	}
	defer execs.Close()
	if cfg.DB == "" {
		return m.failf("no database: set db in the config or pass --db FILE")
	}
	db, err := store.Open(cfg.DB, store.Options{Logger: log})
	if err != nil {
		return m.failf("%v", err)
	}
	defer db.Close()
	if images == nil {
		images = resolver(cfg, log)
	}
	chat := shell.NewChat(m.Stdout)
	if m.Clock != nil {
		bc.Clock = m.Clock
	}
	b := bot.New(bc, db, chat, images, log)
	if err := b.Start(ctx); err != nil {
		return m.failf("%v", err)
	}
	defer b.Close()
	if started != nil {
		stop, err := started(b, db, log)
		if err != nil {
			return m.failf("%v", err)
		}
		defer stop()
	}
	sh := &shell.Shell{Bot: b, Chat: chat, Echo: !m.stdinIsTerminal()}
	if m.stdinIsTerminal() {
		sh.Prompt = "> "
	}
	if err := sh.Run(ctx, m.Stdin); err != nil {
		return m.failf("%v", err)
	}
	return exitOK
}

// stdinIsTerminal reports whether a person is typing.
func (m *Main) stdinIsTerminal() bool {
	if m.StdinIsTerminal != nil {
		return *m.StdinIsTerminal
	}
	f, ok := m.Stdin.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
