package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/cmd/countersign/config/configtest"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStartup_FIFOSecret: a secret file that is a FIFO ends `config
// check` and `serve` at once with exit 1, saying what it is, instead of
// blocking in open until a writer comes.
func TestStartup_FIFOSecret(t *testing.T) {
	dir := t.TempDir()
	path := serveConfig(t, dir, "https://slack.invalid/api/", "")
	b, _ := os.ReadFile(path)
	b = bytes.Replace(b, []byte("audit: {token: "+serveToken+"}"), []byte("audit: {token_file: audit-token}"), 1)
	writeFile(t, path, string(b))
	fifo := filepath.Join(dir, "audit-token")
	configtest.Mkfifo(t, fifo)
	want := `audit.token_file: "` + fifo + `" is a FIFO, not a regular file`
	for _, args := range [][]string{{"config", "check", "--config", path}, {"serve", "--config", path, "--dry-run"}} {
		t.Run(args[0], func(t *testing.T) {
			configtest.Finish(t, func() {
				code, out, errOut := run(t, "", nil, args...)
				if code != exitFail || !strings.Contains(out+errOut, want) {
					t.Errorf("exit %d, want 1 and %q:\n%s%s", code, want, out, errOut)
				}
			})
		})
	}
}

// TestStartup_Interrupted: a signal (main cancels Run's context) ends
// start-up: serve exits 1 saying it was interrupted, before it binds its
// port or opens the database.
func TestStartup_Interrupted(t *testing.T) {
	dir := t.TempDir()
	path := serveConfig(t, dir, "https://slack.invalid/api/", "")
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) (string, bool) { return "", false }}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var code int
	configtest.Finish(t, func() { code = m.Run(ctx, []string{"serve", "--config", path, "--dry-run"}) })
	want := "countersign: load config " + path + ": interrupted: context canceled\n"
	if code != exitFail || errOut.String() != want {
		t.Errorf("got exit %d, %q; want 1, %q", code, errOut.String(), want)
	}
	if _, err := os.Stat(filepath.Join(dir, "serve.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the database was opened: %v", err)
	}
}

// TestUnlessDone: a load blocked for good (a read no signal can
// interrupt) gives way to the context's end; one that finishes returns
// its result.
func TestUnlessDone(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := unlessDone(ctx, "load config x", func() (int, error) { <-block; return 1, nil })
		errc <- err
	}()
	cancel()
	configtest.Finish(t, func() {
		if err := <-errc; !errors.Is(err, context.Canceled) || err.Error() != "load config x: interrupted: context canceled" {
			t.Errorf("got %v, want interrupted", err)
		}
	})
	v, err := unlessDone(context.Background(), "op", func() (int, error) { return 7, errors.New("e") })
	if v != 7 || err == nil || err.Error() != "e" {
		t.Errorf("got %d, %v; want 7, e", v, err)
	}
}
