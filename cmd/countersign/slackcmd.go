package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/countersign/countersign/bot/slack"
	"github.com/countersign/countersign/cmd/countersign/config"
)

// slack runs `countersign slack manifest --config FILE`: the Slack app
// manifest for that config (Socket Mode when slack.app_token is set,
// otherwise HTTP mode with the request URLs under public_url). It reads
// no secret.
func (m *Main) slack(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "manifest" {
		fmt.Fprintln(m.Stderr, "usage: countersign slack manifest --config FILE")
		return exitUsage
	}
	fs := flag.NewFlagSet("slack manifest", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	path := fs.String("config", "", "config file (required)")
	name := fs.String("name", "Countersign", "the app's name in Slack")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 || *path == "" {
		fmt.Fprintln(m.Stderr, "usage: countersign slack manifest --config FILE [--name NAME]")
		return exitUsage
	}
	// The manifest creates the app that gives out the Slack tokens: it
	// must not need them, nor any other secret.
	cfg, err := loadConfig(ctx, config.Options{NoSecrets: true}, *path)
	if err != nil {
		return m.failf("%v", err)
	}
	out, err := slack.Manifest(slack.ManifestOptions{Name: *name, Command: cfg.Slack.Command,
		SocketMode: cfg.Slack.SocketMode(), PublicURL: cfg.PublicURL})
	if err != nil {
		return m.failf("%v", err)
	}
	fmt.Fprint(m.Stdout, out)
	return exitOK
}
