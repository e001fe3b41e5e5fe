package main

import (
	"context"
	"fmt"

	"github.com/countersign/countersign/cmd/countersign/config"
)

// loadConfig loads the config file at path with opts, and gives up when
// ctx ends first. main's signal.NotifyContext takes away SIGTERM's and
// Ctrl-C's default action, so a load stuck in a read (a stalled network
// file system) would otherwise leave only kill -9.
func loadConfig(ctx context.Context, opts config.Options, path string) (*config.Config, error) {
	return unlessDone(ctx, "load config "+path, func() (*config.Config, error) { return opts.Load(path) })
}

// unlessDone runs f and returns what it returns, or an error naming op
// as soon as ctx ends. A system call cannot be interrupted, so f is then
// left to finish on its own: the process is about to exit.
func unlessDone[T any](ctx context.Context, op string, f func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("%s: interrupted: %w", op, err)
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, fmt.Errorf("%s: interrupted: %w", op, ctx.Err())
	}
}
