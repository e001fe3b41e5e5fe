package dockertest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestShared_SetsUpOnce checks that the fixture is made by the first
// test that asks and handed to every later one.
func TestShared_SetsUpOnce(t *testing.T) {
	calls := 0
	s := Shared[int]{Setup: func(testing.TB) (int, error) { calls++; return 7, nil }}
	for range 3 {
		if got := s.Get(t); got != 7 {
			t.Fatalf("Get = %d, want 7", got)
		}
	}
	if calls != 1 {
		t.Errorf("Setup ran %d times, want once", calls)
	}
}

// TestShared_NoEngineSkips checks that a missing engine skips the tests
// outside CI and fails them in CI, and that any other error fails them.
func TestShared_NoEngineSkips(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ci      string
		err     error
		skipped bool
	}{
		{"no engine", "", fmt.Errorf("%w: no socket", ErrNoEngine), true},
		{"no engine in CI", "true", fmt.Errorf("%w: no socket", ErrNoEngine), false},
		{"other failure", "", errors.New("registry down"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			s := Shared[int]{Setup: func(testing.TB) (int, error) { return 0, tc.err }}
			rec := &recorder{TB: t}
			done := make(chan struct{})
			go func() { // Skip and Fatal end the goroutine that calls them
				defer close(done)
				s.Get(rec)
			}()
			<-done
			if rec.skipped != tc.skipped || rec.failed == tc.skipped {
				t.Errorf("skipped %v, failed %v; want skipped %v", rec.skipped, rec.failed, tc.skipped)
			}
		})
	}
}

// recorder notes a Skip or Fatal instead of ending the test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()             {}
func (r *recorder) Skip(args ...any)    { r.skipped = true; runtime.Goexit() }
func (r *recorder) Fatal(args ...any)   { r.failed = true; runtime.Goexit() }
func (r *recorder) Logf(string, ...any) {}

func TestStaticBinary_NoPackage(t *testing.T) {
	_, err := StaticBinary(context.Background(), t.TempDir(), "./testdata/none")
	if err == nil || !strings.Contains(err.Error(), "build testdata/none:") {
		t.Fatalf("err = %v, want it to name the package", err)
	}
}

func TestSlug(t *testing.T) {
	t.Run("A_b", func(t *testing.T) {
		if got, want := Slug(t), "testslug-a-b"; got != want {
			t.Errorf("Slug = %q, want %q", got, want)
		}
	})
}
