package githubtest_test

import (
	"net/http"
	"testing"

	"github.com/countersign/countersign/bot/github/githubtest"
)

// A token that lacks a permission is refused as GitHub refuses it: 404
// for a classic token without the scope (GitHub does not say a private
// repository exists), 403 "Resource not accessible by personal access
// token" for a fine-grained one.
func TestServer_TokenPermissions(t *testing.T) {
	private := map[string]githubtest.Repo{"a/b": {Private: true}}
	public := map[string]githubtest.Repo{"a/b": {}}
	for _, tc := range []struct {
		name         string
		opts         githubtest.Options
		method, path string
		want         int
		message      string
	}{
		{"classic repo scope reads a private tarball", githubtest.Options{Repos: private, Tarballs: map[string][]byte{"a/b@" + sha: {1}}},
			http.MethodGet, "repos/a/b/tarball/" + sha, http.StatusFound, ""},
		{"classic repo:status cannot see a private repository", githubtest.Options{Repos: private, Scopes: []string{"repo:status", "repo_deployment"}, Tarballs: map[string][]byte{"a/b@" + sha: {1}}},
			http.MethodGet, "repos/a/b/tarball/" + sha, http.StatusNotFound, "Not Found"},
		{"classic repo:status writes statuses of a private repository", githubtest.Options{Repos: private, Scopes: []string{"repo:status"}},
			http.MethodPost, "repos/a/b/statuses/" + sha, http.StatusCreated, ""},
		{"classic without scopes reads a public repository", githubtest.Options{Repos: public, Scopes: []string{}},
			http.MethodGet, "repos/a/b", http.StatusOK, ""},
		{"classic without scopes cannot write a public one", githubtest.Options{Repos: public, Scopes: []string{}},
			http.MethodPost, "repos/a/b/statuses/" + sha, http.StatusNotFound, "Not Found"},
		{"unknown repository", githubtest.Options{Repos: public},
			http.MethodGet, "repos/a/c", http.StatusNotFound, "Not Found"},
		{"fine-grained without contents", githubtest.Options{Repos: private, FineGrained: map[string]string{"statuses": "write"}},
			http.MethodGet, "repos/a/b/commits?per_page=1", http.StatusForbidden, "Resource not accessible by personal access token"},
		{"fine-grained with read statuses cannot write them", githubtest.Options{Repos: private, FineGrained: map[string]string{"statuses": "read"}},
			http.MethodPost, "repos/a/b/statuses/" + sha, http.StatusForbidden, "Resource not accessible by personal access token"},
		{"fine-grained reads metadata", githubtest.Options{Repos: private, FineGrained: map[string]string{}},
			http.MethodGet, "repos/a/b", http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Token = token
			srv := newServer(t, tc.opts)
			body := ""
			if tc.method == http.MethodPost {
				body = `{"state":"success"}`
			}
			code, v := call(t, tc.method, srv.URL()+tc.path, "token "+token, body)
			if code != tc.want || tc.message != "" && v["message"] != tc.message {
				t.Errorf("%s %s = %d %v, want %d %q", tc.method, tc.path, code, v, tc.want, tc.message)
			}
		})
	}
}

func TestServer_ClassicScopesHeader(t *testing.T) {
	srv := newServer(t, githubtest.Options{Token: token, Scopes: []string{"repo:status", "repo_deployment"}})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL()+"repos/a/b", nil)
	req.Header.Set("Authorization", "token "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("X-OAuth-Scopes"); got != "repo:status, repo_deployment" {
		t.Errorf("X-OAuth-Scopes = %q", got)
	}
	fine := newServer(t, githubtest.Options{Token: token, FineGrained: map[string]string{}})
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, fine.URL()+"repos/a/b", nil)
	req.Header.Set("Authorization", "token "+token)
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if _, ok := res.Header["X-Oauth-Scopes"]; ok {
		t.Error("a fine-grained token's answer carries X-OAuth-Scopes")
	}
}
