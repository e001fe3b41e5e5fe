package githubtest_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/bot/github/githubtest"
)

const (
	token = "ghp_fake"
	sha   = "0123456789abcdef0123456789abcdef01234567"
)

var keys = sync.OnceValues(func() ([2]*rsa.PrivateKey, error) {
	var k [2]*rsa.PrivateKey
	var err error
	for i := range k {
		if k[i], err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return k, err
		}
	}
	return k, nil
})

func key(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	k, err := keys()
	if err != nil {
		t.Fatal(err)
	}
	return k[i]
}

// jwt signs claims with k, RS256.
func jwt(t *testing.T, k *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// call sends a request and returns the status and decoded JSON body.
func call(t *testing.T, method, url, auth, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	return res.StatusCode, v
}

func newServer(t *testing.T, opts githubtest.Options) *githubtest.Server {
	t.Helper()
	srv := githubtest.New(opts)
	t.Cleanup(srv.Close)
	return srv
}

func TestServer_NotFound(t *testing.T) {
	srv := newServer(t, githubtest.Options{Token: token})
	for _, u := range []string{srv.URL() + "repos/a/b/nothing", srv.URL() + "user", strings.TrimSuffix(srv.URL(), "api/v3/") + "repos/a/b/statuses/" + sha} {
		code, body := call(t, http.MethodPost, u, "token "+token, "{}")
		if code != 404 || body["message"] != "Not Found" || body["documentation_url"] == nil {
			t.Errorf("POST %s = %d %v, want 404 with GitHub's error shape", u, code, body)
		}
	}
}

func TestServer_Authentication(t *testing.T) {
	srv := newServer(t, githubtest.Options{Token: token})
	u := srv.URL() + "repos/a/b/statuses/" + sha
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", 401},
		{"token wrong", 401},
		{"Basic " + token, 401},
		{"token " + token, 201},
		{"Bearer " + token, 201},
	} {
		if code, body := call(t, http.MethodPost, u, tc.auth, `{"state":"success"}`); code != tc.want {
			t.Errorf("Authorization %q: %d %v, want %d", tc.auth, code, body, tc.want)
		}
	}
}

func TestServer_RequiredContexts(t *testing.T) {
	srv := newServer(t, githubtest.Options{Token: token})
	auth := "token " + token
	if code, _ := call(t, http.MethodPost, srv.URL()+"repos/a/b/statuses/"+sha, auth, `{"state":"pending","context":"ci"}`); code != 201 {
		t.Fatalf("status: %d", code)
	}
	dep := srv.URL() + "repos/a/b/deployments"
	if code, body := call(t, http.MethodPost, dep, auth, `{"ref":"`+sha+`"}`); code != 409 {
		t.Errorf("deployment without required_contexts while ci is pending: %d %v, want 409", code, body)
	}
	if code, body := call(t, http.MethodPost, dep, auth, `{"ref":"`+sha+`","required_contexts":["ci"]}`); code != 409 {
		t.Errorf("deployment requiring pending ci: %d %v, want 409", code, body)
	}
	code, body := call(t, http.MethodPost, dep, auth, `{"ref":"`+sha+`","required_contexts":[]}`)
	if code != 201 {
		t.Fatalf("deployment with required_contexts []: %d %v, want 201", code, body)
	}
	d := srv.Deployments()
	if len(d) != 1 || d[0].RequiredContexts == nil || len(*d[0].RequiredContexts) != 0 || d[0].AutoMerge != nil {
		t.Errorf("recorded %+v, want one with required_contexts [] and no auto_merge", d)
	}
	if id := fmt.Sprint(int64(body["id"].(float64))); id != fmt.Sprint(d[0].ID) {
		t.Errorf("answered id %s, recorded %d", id, d[0].ID)
	}
}

func TestServer_Validation(t *testing.T) {
	srv := newServer(t, githubtest.Options{Token: token})
	auth := "token " + token
	for _, tc := range []struct{ path, body string }{
		{"repos/a/b/statuses/" + sha, `{"state":"done"}`},
		{"repos/a/b/statuses/" + sha, `{"state":"success","description":"` + strings.Repeat("x", 141) + `"}`},
		{"repos/a/b/statuses/" + sha, `{"state":"success","target_url":"javascript:alert(1)"}`},
		{"repos/a/b/statuses/abc", `{"state":"success"}`},
		{"repos/a/b/deployments", `{"ref":"` + sha + `","required_contexts":[],"payload":null}`},
		{"repos/a/b/deployments", `{"required_contexts":[]}`},
	} {
		if code, body := call(t, http.MethodPost, srv.URL()+tc.path, auth, tc.body); code != 422 {
			t.Errorf("POST %s %s: %d %v, want 422", tc.path, tc.body, code, body)
		}
	}
	if code, _ := call(t, http.MethodPost, srv.URL()+"repos/a/b/deployments", auth, `not json`); code != 400 {
		t.Errorf("bad JSON: %d, want 400", code)
	}
}

func TestServer_AppTokens(t *testing.T) {
	srv := newServer(t, githubtest.Options{AppID: 12, InstallationID: 34, AppPublicKey: &key(t, 0).PublicKey})
	now := time.Now().Unix()
	good := map[string]any{"iat": now - 30, "exp": now + 90, "iss": "12"}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for k, v := range good {
			c[k] = v
		}
		c[k] = v
		return c
	}
	u := srv.URL() + "app/installations/34/access_tokens"
	for _, tc := range []struct {
		name   string
		url    string
		auth   string
		status int
	}{
		{"wrong key", u, "Bearer " + jwt(t, key(t, 1), good), 401},
		{"other app", u, "Bearer " + jwt(t, key(t, 0), with("iss", "13")), 401},
		{"expired", u, "Bearer " + jwt(t, key(t, 0), with("exp", now-1)), 401},
		{"too long", u, "Bearer " + jwt(t, key(t, 0), with("exp", now+3600)), 401},
		{"fractional", u, "Bearer " + jwt(t, key(t, 0), with("iat", float64(now)-0.5)), 401},
		{"not a jwt", u, "Bearer xyz", 401},
		{"other installation", srv.URL() + "app/installations/35/access_tokens", "Bearer " + jwt(t, key(t, 0), good), 404},
		{"numeric iss", u, "Bearer " + jwt(t, key(t, 0), with("iss", 12)), 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := call(t, http.MethodPost, tc.url, tc.auth, ""); code != tc.status {
				t.Errorf("%d %v, want %d", code, body, tc.status)
			}
		})
	}

	code, body := call(t, http.MethodPost, u, "Bearer "+jwt(t, key(t, 0), good), "")
	tok, _ := body["token"].(string)
	if code != 201 || !strings.HasPrefix(tok, "ghs_") || body["expires_at"] == nil {
		t.Fatalf("token exchange: %d %v", code, body)
	}
	if _, err := time.Parse(time.RFC3339, body["expires_at"].(string)); err != nil {
		t.Errorf("expires_at: %v", err)
	}
	if code, _ := call(t, http.MethodPost, srv.URL()+"repos/a/b/statuses/"+sha, "token "+tok, `{"state":"success"}`); code != 201 {
		t.Errorf("status with the installation token: %d", code)
	}
	if code, _ := call(t, http.MethodPost, srv.URL()+"repos/a/b/statuses/"+sha, "Bearer "+jwt(t, key(t, 0), good), `{"state":"success"}`); code != 401 {
		t.Errorf("status with the App JWT: %d, want 401", code)
	}
}

func TestServer_Faults(t *testing.T) {
	srv := newServer(t, githubtest.Options{Token: token})
	u := srv.URL() + "repos/a/b/statuses/" + sha
	auth := "token " + token
	ok := `{"state":"success"}`
	srv.Fail("/repos/a/", 2, 502)
	srv.Down()
	if code, _ := call(t, http.MethodPost, u, auth, ok); code != 503 {
		t.Errorf("down: %d, want 503", code)
	}
	srv.Up()
	for i, want := range []int{502, 502, 201} {
		if code, _ := call(t, http.MethodPost, u, auth, ok); code != want {
			t.Errorf("call %d: %d, want %d", i, code, want)
		}
	}
	srv.Accepted(1)
	dep := `{"ref":"` + sha + `","required_contexts":[]}`
	for i, want := range []int{202, 201} {
		if code, _ := call(t, http.MethodPost, srv.URL()+"repos/a/b/deployments", auth, dep); code != want {
			t.Errorf("deployment %d: %d, want %d", i, code, want)
		}
	}
	if n := len(srv.Deployments()); n != 1 {
		t.Errorf("%d deployments recorded, want 1 (a 202 creates none)", n)
	}
}

func TestServer_Tarball(t *testing.T) {
	data := []byte("not really a tarball")
	srv := newServer(t, githubtest.Options{Token: token, Tarballs: map[string][]byte{"a/b@" + sha: data}, CodeloadElsewhere: true})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL()+"repos/a/b/tarball/"+sha, nil)
	req.Header.Set("Authorization", "token "+token)
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.Contains(loc, "token=") || strings.HasPrefix(loc, strings.TrimSuffix(srv.URL(), "api/v3/")) {
		t.Fatalf("tarball: %d Location %q, want 302 to the other host with a token", res.StatusCode, loc)
	}
	if code, _ := call(t, http.MethodGet, loc, "token "+token, ""); code != 400 {
		t.Errorf("codeload with API credentials: %d, want 400", code)
	}
	res, err = http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(got) != string(data) {
		t.Errorf("codeload: %d %q", res.StatusCode, got)
	}
	if code, _ := call(t, http.MethodGet, strings.Split(loc, "?")[0]+"?token=forged", "", ""); code != 404 {
		t.Errorf("codeload with a forged token: %d, want 404", code)
	}
	if code, _ := call(t, http.MethodGet, srv.URL()+"repos/a/b/tarball/"+strings.Repeat("f", 40), "token "+token, ""); code != 404 {
		t.Errorf("tarball of an unknown commit: %d, want 404", code)
	}
}
