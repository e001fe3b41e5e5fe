package main

import (
	"bufio"
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// fetch does one request with headers and returns the response, its body read.
func fetch(t *testing.T, method, url string, body io.Reader, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// signIn posts token to /login and returns the session cookie it sets.
func signIn(t *testing.T, base, token string) *http.Cookie {
	t.Helper()
	resp, body := fetch(t, "POST", base+"/login", strings.NewReader(url.Values{"token": {token}}.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		t.Fatalf("POST /login = %d, cookies %v, want 303 with a session cookie\n%s", resp.StatusCode, resp.Cookies(), body)
	}
	return resp.Cookies()[0]
}

// TestServe_WebPages: the pages take audit.token and the read tokens;
// /audit/export takes whatever the pages take, /backup only audit.token.
func TestServe_WebPages(t *testing.T) {
	base, _, stop := startServerWith(t, `web:
  read_tokens: [{name: oncall, token: `+serveReadToken+`}]
  proxy: {user_header: X-Forwarded-User, trusted: [127.0.0.1]}
`, nil)
	defer stop()

	resp, _ := fetch(t, "GET", base+"/", nil, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Errorf("GET / without credentials = %d to %q, want 303 to /login", resp.StatusCode, loc)
	}
	if resp, body := fetch(t, "GET", base+"/login", nil, nil); resp.StatusCode != 200 || !strings.Contains(body, `name="token"`) {
		t.Errorf("GET /login = %d, want 200 with the token field\n%s", resp.StatusCode, body)
	}
	for i, tc := range []struct {
		name    string
		path    string
		headers map[string]string
		want    int
	}{
		{"page, audit.token", "/", bearer(serveToken), 200},
		{"page, read token", "/", bearer(serveReadToken), 200},
		{"audit page, read token", "/audit", bearer(serveReadToken), 200},
		{"page, wrong token", "/", bearer("not-a-read-token-0123456789"), 401},
		{"export, audit.token", "/audit/export", bearer(serveToken), 200},
		{"export, read token", "/audit/export", bearer(serveReadToken), 200},
		{"export, trusted proxy", "/audit/export", map[string]string{"X-Forwarded-User": "alice"}, 200},
		{"export, wrong token", "/audit/export", bearer("not-a-read-token-0123456789"), 401},
		{"export, nothing", "/audit/export", nil, 401},
		{"backup, read token", "/backup", bearer(serveReadToken), 401},
		{"backup, trusted proxy", "/backup", map[string]string{"X-Forwarded-User": "alice"}, 401},
		{"backup, audit.token", "/backup", bearer(serveToken), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each case its own client behind the proxy, so that the
			// refusals before it do not count against it.
			headers := map[string]string{"X-Forwarded-For": "192.0.2." + strconv.Itoa(i+1)}
			maps.Copy(headers, tc.headers)
			resp, body := fetch(t, "GET", base+tc.path, nil, headers)
			if resp.StatusCode != tc.want {
				t.Fatalf("GET %s = %d, want %d\n%.300s", tc.path, resp.StatusCode, tc.want, body)
			}
			if tc.path == "/audit/export" && tc.want == 200 && !strings.Contains(body, `"kind":"config.loaded"`) {
				t.Errorf("export lacks config.loaded:\n%.300s", body)
			}
		})
	}
	t.Run("export, session cookie", func(t *testing.T) {
		c := signIn(t, base, serveReadToken)
		resp, body := fetch(t, "GET", base+"/audit/export", nil, map[string]string{"Cookie": c.Name + "=" + c.Value})
		if resp.StatusCode != 200 || !strings.Contains(body, `"kind":"config.loaded"`) {
			t.Errorf("export with a session = %d\n%.300s", resp.StatusCode, body)
		}
		if resp, _ := fetch(t, "GET", base+"/backup", nil, map[string]string{"Cookie": c.Name + "=" + c.Value, "X-Forwarded-For": "192.0.2.100"}); resp.StatusCode != 401 {
			t.Errorf("backup with a session = %d, want 401", resp.StatusCode)
		}
	})
}

// TestServe_WebPagesOff: with no read token and no proxy the pages are
// not built, and their paths say what would turn them on.
func TestServe_WebPagesOff(t *testing.T) {
	base, _, stop := startServerWith(t, "", func(c string) string {
		return strings.Replace(c, "audit: {token: "+serveToken+"}\n", "", 1)
	})
	defer stop()
	for _, p := range []struct{ method, path string }{{"GET", "/"}, {"GET", "/requests/R1"}, {"GET", "/services/api"},
		{"GET", "/audit"}, {"GET", "/login"}, {"POST", "/login"}, {"POST", "/logout"}, {"GET", "/static/style.css"}} {
		resp, body := fetch(t, p.method, base+p.path, nil, nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "audit.token") || !strings.Contains(body, "web.read_tokens") {
			t.Errorf("%s %s = %d %q, want 404 naming audit.token and web.read_tokens", p.method, p.path, resp.StatusCode, body)
		}
	}
	if resp, _ := fetch(t, "GET", base+"/audit/export", nil, bearer(serveReadToken)); resp.StatusCode != 401 {
		t.Errorf("export without any token configured = %d, want 401", resp.StatusCode)
	}
}

// runningDemo is `countersign demo` running in-process, its standard
// input held open.
type runningDemo struct {
	url, token string
	stdin      *io.PipeWriter
	exit       chan int
}

var statusLine = regexp.MustCompile(`Status page: (http://127\.0\.0\.1:\d+/) — sign in with token ([A-Za-z0-9_-]+) \(this run only\)`)

// startDemo runs the demo until its status page line is printed.
func startDemo(t *testing.T) *runningDemo {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	no := false
	m := &Main{Stdin: inR, Stdout: outW, Stderr: io.Discard, StdinIsTerminal: &no, Clock: wednesday,
		Getenv: func(string) (string, bool) { return "", false }}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	d := &runningDemo{stdin: inW, exit: make(chan int, 1)}
	go func() {
		code := m.Run(ctx, []string{"demo", "--db", filepath.Join(t.TempDir(), "demo.db")})
		outW.Close()
		cancel()
		d.exit <- code
	}()
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			if m := statusLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
			}
		}
		io.Copy(io.Discard, outR)
	}()
	select {
	case m := <-found:
		d.url, d.token = m[1], m[2]
	case code := <-d.exit:
		t.Fatalf("demo exited (%d) without printing its status page", code)
	case <-time.After(30 * time.Second):
		t.Fatal("demo printed no status page line")
	}
	t.Cleanup(func() { inW.Close() })
	return d
}

// stop ends the demo's input and returns its exit code.
func (d *runningDemo) stop(t *testing.T) int {
	t.Helper()
	d.stdin.Close()
	select {
	case code := <-d.exit:
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not exit at the end of its input")
		return -1
	}
}

// TestDemo_StatusPage: the demo prints its status page's address and a
// token; the address serves the sign-in form, the token signs in, and the
// page stops with the demo. A second demo at the same time gets another
// port and another token.
func TestDemo_StatusPage(t *testing.T) {
	d := startDemo(t)
	resp, body := fetch(t, "GET", d.url+"login", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `name="token"`) {
		t.Fatalf("GET %slogin = %d, want 200 with the token field\n%.300s", d.url, resp.StatusCode, body)
	}
	c := signIn(t, strings.TrimSuffix(d.url, "/"), d.token)
	if resp, body := fetch(t, "GET", d.url, nil, map[string]string{"Cookie": c.Name + "=" + c.Value}); resp.StatusCode != 200 {
		t.Errorf("GET / signed in = %d\n%.300s", resp.StatusCode, body)
	}
	if resp, _ := fetch(t, "GET", d.url, nil, bearer(d.token)); resp.StatusCode != 200 {
		t.Errorf("GET / with the token as bearer = %d", resp.StatusCode)
	}
	if resp, _ := fetch(t, "GET", d.url, nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET / without the token = %d, want 303 to the sign-in form", resp.StatusCode)
	}
	// The demo serves the pages only, not the bot's other endpoints.
	for _, p := range []string{"healthz", "audit/export", "backup"} {
		if resp, _ := fetch(t, "GET", d.url+p, nil, bearer(d.token)); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /%s = %d, want 404", p, resp.StatusCode)
		}
	}

	other := startDemo(t)
	if other.url == d.url || other.token == d.token {
		t.Errorf("two demos share the address %s or the token", d.url)
	}
	if resp, _ := fetch(t, "GET", other.url, nil, bearer(d.token)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the first demo's token on the second = %d, want 401", resp.StatusCode)
	}
	if code := other.stop(t); code != exitOK {
		t.Errorf("second demo exit %d", code)
	}

	if code := d.stop(t); code != exitOK {
		t.Fatalf("demo exit %d", code)
	}
	if _, err := http.Get(d.url + "login"); err == nil {
		t.Error("the status page still answers after the demo exited")
	}
}
