package github_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
)

// tarArchive is a stand-in for an archive: the client must not look inside.
func tarArchive(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClient_Tarball(t *testing.T) {
	for _, elsewhere := range []bool{false, true} {
		name := map[bool]string{false: "enterprise, same host", true: "codeload host"}[elsewhere]
		t.Run(name, func(t *testing.T) {
			data := tarArchive(t, 300<<10)
			srv := repServer(t, githubtest.Options{
				Tarballs:          map[string][]byte{repRepo + "@" + repSHA: data},
				CodeloadElsewhere: elsewhere, // the fake refuses credentials there
			})
			rc, err := repClient(t, srv).Tarball(repCtx(t), repRepo, repSHA)
			if err != nil {
				t.Fatalf("Tarball: %v", err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, %v; want the %d-byte archive", len(got), err, len(data))
			}
			// The fake records a request when its handler returns, which
			// may be just after the client has read the last byte.
			for deadline := time.Now().Add(2 * time.Second); len(srv.Requests()) < 2 && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			var paths []string
			for _, r := range srv.Requests() {
				paths = append(paths, r.Method+" "+strings.SplitN(r.Path, "?", 2)[0]+" "+http.StatusText(r.Status))
			}
			want := []string{
				"GET /repos/" + repRepo + "/tarball/" + repSHA + " Found",
				"GET /_codeload/" + repRepo + "/legacy.tar.gz/" + repSHA + " OK",
			}
			if strings.Join(paths, "\n") != strings.Join(want, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestClient_TarballStreams(t *testing.T) {
	data := tarArchive(t, 4<<20)
	srv := repServer(t, githubtest.Options{Tarballs: map[string][]byte{repRepo + "@" + repSHA: data}})
	resume := srv.Stall() // the server sends half, then waits
	defer resume()
	ctx := repCtx(t)
	rc, err := repClient(t, srv).Tarball(ctx, repRepo, repSHA)
	if err != nil {
		t.Fatalf("Tarball: %v", err)
	}
	defer rc.Close()
	head := make([]byte, 64<<10)
	if _, err := io.ReadFull(rc, head); err != nil {
		t.Fatalf("reading the first bytes while the server stalls: %v", err)
	}
	resume()
	rest, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(head, rest...); !bytes.Equal(got, data) {
		t.Errorf("read %d bytes, want the %d-byte archive", len(got), len(data))
	}
}

func TestClient_TarballErrors(t *testing.T) {
	data := tarArchive(t, 1<<10)
	for _, tc := range []struct {
		name     string
		sha      string
		break_   func(*githubtest.Server)
		rejected bool
	}{
		{"no such commit", strings.Repeat("f", 40), nil, true},
		{"api down", repSHA, func(s *githubtest.Server) { s.Fail("/repos/", 1, 503) }, false},
		{"codeload fails", repSHA, func(s *githubtest.Server) { s.Fail("/_codeload/", 1, 500) }, false},
		{"not a sha", "main", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := repServer(t, githubtest.Options{Tarballs: map[string][]byte{repRepo + "@" + repSHA: data}})
			if tc.break_ != nil {
				tc.break_(srv)
			}
			rc, err := repClient(t, srv).Tarball(repCtx(t), repRepo, tc.sha)
			if err == nil {
				rc.Close()
				t.Fatal("Tarball: no error")
			}
			if got := errors.Is(err, bot.ErrChatRejected); got != tc.rejected {
				t.Errorf("Tarball = %q: rejected %v, want %v", err, got, tc.rejected)
			}
			repNoSecret(t, err, "token=")
		})
	}
}

// GitHub has answered the tarball request with 200 and the archive
// itself for installation tokens (go-github issue 3171); v60's
// GetArchiveLink took only a 302.
func TestClient_TarballDirect(t *testing.T) {
	data := tarArchive(t, 300<<10)
	srv := repServer(t, githubtest.Options{Tarballs: map[string][]byte{repRepo + "@" + repSHA: data}, TarballDirect: true})
	rc, err := repClient(t, srv).Tarball(repCtx(t), repRepo, repSHA)
	if err != nil {
		t.Fatalf("Tarball: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v; want the %d-byte archive", len(got), err, len(data))
	}
}

// A stalled API connection gives up after the client's timeout instead
// of holding the build until its own deadline.
func TestClient_TarballStalledAPI(t *testing.T) {
	srv := repServer(t, githubtest.Options{Tarballs: map[string][]byte{repRepo + "@" + repSHA: tarArchive(t, 1<<10)}})
	srv.Hang("/repos/", 1)
	c, err := github.NewClient(github.Auth{Token: repToken},
		github.Options{APIURL: srv.URL(), HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	// The test's own deadline is far longer: hitting it would mean the
	// client timeout was not applied.
	ctx := repCtx(t)
	rc, err := c.Tarball(ctx, repRepo, repSHA)
	if err == nil {
		rc.Close()
		t.Fatal("Tarball: no error")
	}
	if !strings.Contains(err.Error(), "no answer within 50ms") || ctx.Err() != nil {
		t.Errorf("Tarball = %v, want it to give up after the client's timeout", err)
	}
	if errors.Is(err, bot.ErrChatRejected) {
		t.Errorf("Tarball = %v: a timeout must stay retryable", err)
	}
}
