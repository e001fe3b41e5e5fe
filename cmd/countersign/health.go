package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// health runs `countersign health [--url URL] [--timeout D]`: the probe of
// a container healthcheck, for images that hold nothing but the binary
// (no shell, no curl). Exit 0 when GET URL answers 200, 1 otherwise.
func (m *Main) health(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "the bot's /healthz")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *timeout <= 0 {
		fmt.Fprintln(m.Stderr, "usage: countersign health [--url URL] [--timeout 5s]")
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintf(m.Stderr, "countersign: health: %v\n", err)
		return exitUsage
	}
	// No proxy from the environment: the probe is about this host's own
	// listener.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	res, err := client.Do(req)
	if err != nil {
		return m.failf("health: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return m.failf("health: %s answered %s: %s", *url, res.Status, body)
	}
	m.Stdout.Write(body)
	return exitOK
}
