package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/countersign/countersign/cmd/countersign/config"
)

// config runs `countersign config check --config FILE`: exit 0, or 1 with
// every problem listed as `PATH: message`. With --no-secrets it reads no
// secret (a config written before its secrets exist).
func (m *Main) config(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(m.Stderr, "usage: countersign config check --config FILE [--serve] [--no-secrets]")
		return exitUsage
	}
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	path := fs.String("config", "", "config file (required)")
	serve := fs.Bool("serve", false, "also check what `serve` needs (secrets for Slack, GitHub and the audit endpoints)")
	noSecrets := fs.Bool("no-secrets", false, "read no secret file or variable, only check that each is given well (before the secrets exist)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 || *path == "" {
		fmt.Fprintln(m.Stderr, "usage: countersign config check --config FILE [--serve] [--no-secrets]")
		return exitUsage
	}
	cfg, err := loadConfig(ctx, config.Options{CheckFiles: true, NoSecrets: *noSecrets}, *path)
	if err == nil && *serve {
		err = cfg.CheckServe()
	}
	if err != nil {
		var ce *config.Errors
		if errors.As(err, &ce) {
			for _, p := range ce.Problems {
				fmt.Fprintln(m.Stdout, p.String())
			}
			fmt.Fprintf(m.Stderr, "countersign: %s: %d problem(s)\n", *path, len(ce.Problems))
			return exitFail
		}
		return m.failf("%v", err)
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(m.Stdout, "warning: "+w.String())
	}
	unread := ""
	if cfg.SecretsUnread {
		unread = "; secrets not read"
	}
	gates := ""
	if n := len(cfg.Gates); n > 0 {
		gates = fmt.Sprintf(", %d gates", n)
	}
	fmt.Fprintf(m.Stdout, "%s: OK (%d services, %d zones, %d policies, %d windows%s; sha256 %s%s)\n",
		*path, len(cfg.Services), len(cfg.DNS), len(cfg.Policies), len(cfg.Windows), gates, cfg.Hash, unread)
	return exitOK
}
