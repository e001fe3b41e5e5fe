package githubtest_test

import (
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/countersign/countersign/bot/github/githubtest"
)

// get sends GET url with the token and If-None-Match etag (if any).
func get(t *testing.T, url, etag string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func TestServer_BranchConditionalRead(t *testing.T) {
	srv := newServer(t, githubtest.Options{Token: token})
	srv.SetBranch("Acme/Web", "feature/x", githubtest.Commit{SHA: sha, Message: "one\n\nbody", Author: "alice", Committer: "bob"})
	u := srv.URL() + "repos/acme/web/branches/feature/x"

	first := get(t, u, "")
	etag := first.Header.Get("ETag")
	if first.StatusCode != 200 || etag == "" {
		t.Fatalf("first read: %d, ETag %q; want 200 with an ETag", first.StatusCode, etag)
	}
	remaining := func(res *http.Response) int {
		n, err := strconv.Atoi(res.Header.Get("X-RateLimit-Remaining"))
		if err != nil || res.Header.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("rate-limit headers missing: %v", res.Header)
		}
		return n
	}
	if got := remaining(first); got != githubtest.DefaultRateLimit-1 {
		t.Errorf("after one read: remaining %d, want %d", got, githubtest.DefaultRateLimit-1)
	}

	same := get(t, u, etag)
	if same.StatusCode != http.StatusNotModified || remaining(same) != githubtest.DefaultRateLimit-1 {
		t.Errorf("unchanged read: %d, remaining %s; want 304 that spends nothing", same.StatusCode, same.Header.Get("X-RateLimit-Remaining"))
	}
	if got := get(t, u, `"`+etag[3:]); got.StatusCode != http.StatusNotModified {
		t.Errorf("strong form of the weak ETag: %d, want 304 (weak comparison)", got.StatusCode)
	}

	srv.SetBranch("acme/web", "feature/x", githubtest.Commit{SHA: "1123456789abcdef0123456789abcdef01234567", Message: "two"})
	moved := get(t, u, etag)
	if moved.StatusCode != 200 || moved.Header.Get("ETag") == etag {
		t.Errorf("moved head: %d, ETag %q; want 200 with a new ETag", moved.StatusCode, moved.Header.Get("ETag"))
	}
	if r := srv.Rate(); r.Used != 2 || r.NotCounted != 2 {
		t.Errorf("rate: %+v, want the two 200s counted and the two 304s not", r)
	}

	for _, tc := range []struct {
		name, path string
	}{
		{"unknown branch", "repos/acme/web/branches/main"},
		{"unknown repository", "repos/acme/other/branches/main"},
	} {
		if res := get(t, srv.URL()+tc.path, ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", tc.name, res.StatusCode)
		}
	}
	if code, _ := call(t, http.MethodGet, u, "", ""); code != http.StatusUnauthorized {
		t.Errorf("without credentials: %d, want 401", code)
	}
}

func TestServer_RateLimitSpent(t *testing.T) {
	srv := newServer(t, githubtest.Options{Token: token, RateLimit: 2})
	srv.SetBranch("a/b", "main", githubtest.Commit{SHA: sha})
	u := srv.URL() + "repos/a/b/branches/main"
	etag := get(t, u, "").Header.Get("ETag")
	srv.SpendRate(1)
	for _, e := range []string{"", etag} {
		res := get(t, u, e)
		if res.StatusCode != http.StatusForbidden || res.Header.Get("X-RateLimit-Remaining") != "0" {
			t.Errorf("If-None-Match %q with the limit spent: %d, remaining %q; want 403, 0", e, res.StatusCode, res.Header.Get("X-RateLimit-Remaining"))
		}
	}
	if r := srv.Rate(); r.Used != 2 {
		t.Errorf("used %d, want 2 (refusals do not count)", r.Used)
	}
}

// TestServer_BranchNeedsContentsRead: reading a branch of a private
// repository takes Contents: read (the repo scope for a classic token),
// as on GitHub.
func TestServer_BranchNeedsContentsRead(t *testing.T) {
	srv := newServer(t, githubtest.Options{Token: token, Scopes: []string{"repo:status", "repo_deployment"}})
	srv.SetBranch("a/b", "main", githubtest.Commit{SHA: sha})
	if res := get(t, srv.URL()+"repos/a/b/branches/main", ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("classic token without repo: %d, want 404", res.StatusCode)
	}
}
