package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// env returns a LookupEnv over vars.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// writeFiles creates files (slash paths relative to dir) with contents.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// problemsOf returns the problems of an *Errors, failing the test for
// any other error (or none).
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var e *Errors
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want *Errors", err, err)
	}
	return e.Problems
}

// lines formats problems as `PATH: message`.
func lines(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// checkProblems fails unless err lists exactly want, in order.
func checkProblems(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want problems:\n%s", strings.Join(want, "\n"))
	}
	got := lines(problemsOf(t, err))
	if !slices.Equal(got, want) {
		t.Errorf("got problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// problemCase is a file and exactly the problems it must produce.
type problemCase struct {
	name string
	yaml string
	want []string
}

// runCases parses each case's file (with an empty environment and a
// fresh directory for relative paths) and checks its problems.
func runCases(t *testing.T, cases []problemCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Options{Dir: t.TempDir(), LookupEnv: env(nil)}.Parse([]byte(tc.yaml))
			checkProblems(t, err, tc.want)
		})
	}
}

// replaceDir puts dir in place of DIR in a wanted message.
func replaceDir(s, dir string) string { return strings.ReplaceAll(s, "DIR", dir) }
