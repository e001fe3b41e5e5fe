package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/countersign/countersign/cmd/countersign/config"
)

// config runs `countersign config check --config FILE`: exit 0, or 1 with
// every problem listed as `PATH: message`.
func (m *Main) config(_ context.Context, args []string) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(m.Stderr, "usage: countersign config check --config FILE")
		return exitUsage
	}
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	path := fs.String("config", "", "config file (required)")
	serve := fs.Bool("serve", false, "also check what `serve` needs (secrets for Slack, GitHub and the audit endpoints)")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 || *path == "" {
		fmt.Fprintln(m.Stderr, "usage: countersign config check --config FILE [--serve]")
		return exitUsage
	}
	cfg, err := config.Options{CheckFiles: true}.Load(*path)
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
	fmt.Fprintf(m.Stdout, "%s: OK (%d services, %d zones, %d policies, %d windows; sha256 %s)\n",
		*path, len(cfg.Services), len(cfg.DNS), len(cfg.Policies), len(cfg.Windows), cfg.Hash)
	return exitOK
}
