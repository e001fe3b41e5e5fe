// Command countersign is the chat-ops bot: `serve` runs it against Slack
// and GitHub, `shell` and `demo` run it with a terminal chat, `config
// check` and `audit …` are the operator's tools.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // change windows name IANA zones; the container has no zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := (&Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.LookupEnv}).Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// Exit codes of every command (a fixed interface).
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// Main holds what a command run touches outside itself, so tests can run
// commands in-process.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) (string, bool)
	// StdinIsTerminal overrides terminal detection (tests); nil: detect.
	StdinIsTerminal *bool
	// Clock overrides the bot's clock (tests); nil: the system clock.
	Clock interface{ Now() time.Time }
}

const usage = `usage: countersign COMMAND [flags]

commands:
  serve  --config FILE [--dry-run]       run the bot (HTTP: GitHub webhooks, Slack, web pages, /healthz, /metrics)
  shell  --config FILE [--dry-run]       the same bot with a terminal chat on stdin/stdout
  demo                                   the shell with a built-in example config, in dry-run, and its status page
  config check --config FILE [--no-secrets]
                                         check a config file; list every problem
  audit verify|list|export (--db FILE | --server URL)
                                         verify, query or export the audit trail
  outbox list (--db FILE | --server URL) [--json]
                                         what never reached Slack or GitHub (set aside by the outbox)
  backup --server URL --out FILE         hot copy of a running bot's database
  slack manifest --config FILE           the Slack app manifest for that config
  health [--url URL] [--timeout 5s]      exit 0 when the bot's /healthz answers 200 (a container healthcheck)
  version                                print the version

Run 'countersign COMMAND -h' for a command's flags.
`

// Run runs one command and returns its exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return m.serve(ctx, rest)
	case "shell":
		return m.shell(ctx, rest)
	case "demo":
		return m.demo(ctx, rest)
	case "config":
		return m.config(ctx, rest)
	case "audit":
		return m.audit(ctx, rest)
	case "outbox":
		return m.outbox(ctx, rest)
	case "backup":
		return m.backup(ctx, rest)
	case "slack":
		return m.slack(ctx, rest)
	case "health":
		return m.health(ctx, rest)
	case "version":
		fmt.Fprintln(m.Stdout, "countersign", version())
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return exitOK
	}
	fmt.Fprintf(m.Stderr, "countersign: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// failf prints an error and returns exitFail.
func (m *Main) failf(format string, args ...any) int {
	fmt.Fprintf(m.Stderr, "countersign: "+format+"\n", args...)
	return exitFail
}
