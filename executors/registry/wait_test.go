package registry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestResolver_Wait(t *testing.T) {
	host := startRegistry(t, nil)
	repo := host + "/ocurrentbuilder/staging"
	present := push(t, repo, "present", files, nil)

	t.Run("already there", func(t *testing.T) {
		got, err := newResolver(t).Wait(context.Background(), repo, "present", time.Second)
		if want := repo + "@" + present; err != nil || got != want {
			t.Errorf("Wait() = %q, %v; want %q", got, err, want)
		}
	})

	t.Run("pushed while waiting", func(t *testing.T) {
		tag := "live-mirage-hvt-0123456789abcdef"
		pushed := make(chan string, 1)
		go func() {
			time.Sleep(100 * time.Millisecond)
			pushed <- push(t, repo, tag, map[string][]byte{"unikernel.hvt": []byte("v2")}, nil)
		}()
		got, err := newResolver(t).Wait(context.Background(), repo, tag, 5*time.Second)
		if want := repo + "@" + <-pushed; err != nil || got != want {
			t.Errorf("Wait() = %q, %v; want %q", got, err, want)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		_, err := newResolver(t).Wait(context.Background(), repo, "never", 200*time.Millisecond)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("Wait() error = %v, want ErrTimeout", err)
		}
		for _, want := range []string{repo + ":never", "200ms"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if d := time.Since(start); d < 200*time.Millisecond || d > 3*time.Second {
			t.Errorf("Wait() returned after %s, want about 200ms", d)
		}
	})

	t.Run("context cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := newResolver(t).Wait(ctx, repo, "never", time.Minute)
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
			t.Errorf("Wait() error = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Wait() returned after %s, want soon after the cancel", d)
		}
	})

	t.Run("context cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := newResolver(t).Wait(ctx, repo, "present", time.Minute)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Wait() error = %v, want context.Canceled", err)
		}
	})

	t.Run("bad arguments", func(t *testing.T) {
		for _, tt := range []struct {
			repo, tag string
			timeout   time.Duration
		}{
			{repo, "present", 0},
			{repo, "present", -time.Second},
			{repo, "bad tag", time.Second},
			{repo + ":x", "present", time.Second},
		} {
			if got, err := newResolver(t).Wait(context.Background(), tt.repo, tt.tag, tt.timeout); err == nil {
				t.Errorf("Wait(%q, %q, %s) = %q, want an error", tt.repo, tt.tag, tt.timeout, got)
			}
		}
	})
}

// TestResolver_WaitThroughTrouble: once the registry has answered, a
// misbehaving registry is waited out, and named if it outlasts the wait.
func TestResolver_WaitThroughTrouble(t *testing.T) {
	tests := []struct {
		name       string
		failing    int32 // manifest requests that get 503 (after the first, which gets 404)
		timeout    time.Duration
		wantErr    error
		wantInText string
	}{
		{"recovers", 3, 5 * time.Second, nil, ""},
		{"stays down", 1 << 30, 300 * time.Millisecond, ErrTimeout, "last check: registry answered HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var manifestRequests atomic.Int32
			host := startRegistry(t, func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodHead {
						n := manifestRequests.Add(1)
						if n == 1 {
							http.NotFound(w, r)
							return
						}
						if n <= 1+tt.failing {
							w.WriteHeader(http.StatusServiceUnavailable)
							return
						}
					}
					next.ServeHTTP(w, r)
				})
			})
			repo := host + "/x/y"
			digest := push(t, repo, "t", files, nil)
			got, err := newResolver(t).Wait(context.Background(), repo, "t", tt.timeout)
			if tt.wantErr == nil {
				if want := repo + "@" + digest; err != nil || got != want {
					t.Errorf("Wait() = %q, %v; want %q", got, err, want)
				}
				if n := manifestRequests.Load(); n != 1+tt.failing+1 {
					t.Errorf("%d manifest requests, want %d", n, 1+tt.failing+1)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantInText) {
				t.Errorf("Wait() error = %v, want %v saying %q", err, tt.wantErr, tt.wantInText)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{50 * time.Minute, "50m"},
		{90 * time.Minute, "1h30m"},
		{2 * time.Hour, "2h"},
		{200 * time.Millisecond, "200ms"},
		{90 * time.Second, "1m30s"},
	}
	for _, tt := range tests {
		if got := formatDuration(tt.d); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
