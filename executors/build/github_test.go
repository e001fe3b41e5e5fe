package build

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// fakeGitHub stands in for GitHub's tarball API: GET
// /repos/{owner}/{repo}/tarball/{sha} answers 302 Found with a
// short-lived link on another path (codeload.github.com, in life), which
// serves the gzip'd tarball git archive makes, the top directory named
// owner-repo-<7 hex>. Unknown commits get GitHub's 404 JSON.
type fakeGitHub struct {
	srv *httptest.Server

	mu      sync.Mutex
	commits map[string]served // by "owner/repo@sha"
}

// served is a commit's tarball and how fast it is sent.
type served struct {
	tarball []byte
	// trickle, if set, is the pause between 1 KiB pieces of it.
	trickle time.Duration
}

func newFakeGitHub() *fakeGitHub {
	g := &fakeGitHub{commits: map[string]served{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/{owner}/{repo}/tarball/{sha}", func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("owner") + "/" + r.PathValue("repo") + "@" + r.PathValue("sha")
		if _, ok := g.tarball(key); !ok {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/repos/contents#download-a-repository-archive-tar"}`)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/codeload/%s/%s/legacy.tar.gz/%s?token=XYZ", r.PathValue("owner"), r.PathValue("repo"), r.PathValue("sha")), http.StatusFound)
	})
	mux.HandleFunc("GET /codeload/{owner}/{repo}/legacy.tar.gz/{sha}", func(w http.ResponseWriter, r *http.Request) {
		c, ok := g.tarball(r.PathValue("owner") + "/" + r.PathValue("repo") + "@" + r.PathValue("sha"))
		tb, pause := c.tarball, c.trickle
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-gzip")
		w.Header().Set("Content-Disposition", "attachment; filename="+r.PathValue("owner")+"-"+r.PathValue("repo")+"-"+r.PathValue("sha")[:7]+".tar.gz")
		for len(tb) > 0 {
			n := min(len(tb), 1024)
			if _, err := w.Write(tb[:n]); err != nil {
				return
			}
			tb = tb[n:]
			if pause > 0 {
				w.(http.Flusher).Flush()
				select {
				case <-time.After(pause):
				case <-r.Context().Done():
					return
				}
			}
		}
	})
	g.srv = httptest.NewServer(mux)
	return g
}

// add stores a commit of repo ("owner/name") holding t.
func (g *fakeGitHub) add(repo, sha string, t tree) { g.addSlow(repo, sha, t, 0) }

// addSlow stores a commit whose tarball is sent with a pause after each
// KiB.
func (g *fakeGitHub) addSlow(repo, sha string, t tree, trickle time.Duration) {
	tb, err := githubTarball(strings.ReplaceAll(repo, "/", "-")+"-"+sha[:7], sha, t)
	if err != nil {
		panic(err) // only bad test data gets here
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.commits[repo+"@"+sha] = served{tarball: tb, trickle: trickle}
}

// addRaw stores a commit whose tarball is served as given.
func (g *fakeGitHub) addRaw(repo, sha string, tarball []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.commits[repo+"@"+sha] = served{tarball: tarball}
}

func (g *fakeGitHub) tarball(key string) (served, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	tb, ok := g.commits[key]
	return tb, ok
}

// tarballClient is the test's Source: GitHub's tarball API as bot/github
// asks it, following the redirect.
type tarballClient struct{ base string }

func (c tarballClient) Tarball(ctx context.Context, repo, sha string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/repos/"+repo+"/tarball/"+sha, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET tarball of %s@%s: %s", repo, sha, resp.Status)
	}
	return resp.Body, nil
}
