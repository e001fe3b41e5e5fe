package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/countersign/countersign/web"
)

// getFrom is get with an X-Forwarded-For, as a proxy in front would send.
func getFrom(t *testing.T, url, token, forwardedFor string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServe_WrongTokensAreLimitedAndAudited(t *testing.T) {
	url, _, stop := startServer(t)
	defer stop()
	statuses := map[int]int{}
	for i := range 300 {
		path := []string{"/audit/export", "/backup"}[i%2]
		resp, body := getFrom(t, url+path, "wrong-token-guess-0123456789", "")
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: 429 without Retry-After", path)
		}
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("%s took a wrong token:\n%.200s", path, body)
		}
	}
	if want := map[int]int{401: web.FailuresPerMinute, 429: 300 - web.FailuresPerMinute}; statuses[401] != want[401] || statuses[429] != want[429] {
		t.Fatalf("300 wrong tokens answered %v, want %v", statuses, want)
	}
	// The right token is never locked out.
	if code, _ := get(t, url+"/backup", serveToken); code != http.StatusOK {
		t.Fatalf("/backup with audit.token during the lockout = %d, want 200", code)
	}
	code, body := get(t, url+"/audit/export?kind=web.refused", serveToken)
	if code != http.StatusOK {
		t.Fatalf("/audit/export with audit.token during the lockout = %d, want 200", code)
	}
	// Audited one by one up to the trail's own limit a minute (the rest
	// are counted in the next record written, after the minute).
	lines := strings.Split(strings.TrimSpace(body), "\n")
	limited := 0
	for _, l := range lines {
		if strings.Contains(l, "over the limit") && strings.Contains(l, `"remote":"127.0.0.1"`) {
			limited++
		}
		if strings.Contains(l, "wrong-token-guess") {
			t.Fatalf("the audit trail holds the token tried: %s", l)
		}
	}
	if len(lines) <= web.FailuresPerMinute || limited != len(lines)-web.FailuresPerMinute {
		t.Fatalf("%d web.refused records, %d of them over the limit from 127.0.0.1; want more than %d, all but %d over the limit:\n%s",
			len(lines), limited, web.FailuresPerMinute, web.FailuresPerMinute, body)
	}
}

func TestServe_ClientAddressBehindAProxy(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		// what a second client behind the proxy gets once the first is
		// limited
		want int
	}{
		{"a trusted proxy: clients counted apart", "web: {trusted_proxies: [127.0.0.1]}\n", http.StatusUnauthorized},
		{"no trusted proxy: X-Forwarded-For ignored", "", http.StatusTooManyRequests},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _, stop := startServerWith(t, tc.extra, nil)
			defer stop()
			for range web.FailuresPerMinute {
				getFrom(t, url+"/backup", "wrong-token-guess-0123456789", "203.0.113.7")
			}
			if resp, _ := getFrom(t, url+"/backup", "wrong-token-guess-0123456789", "203.0.113.7"); resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("the first client's next wrong token = %d, want 429", resp.StatusCode)
			}
			if resp, _ := getFrom(t, url+"/backup", "wrong-token-guess-0123456789", "203.0.113.8"); resp.StatusCode != tc.want {
				t.Fatalf("another client's wrong token = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestServe_RefusalSaysWhatWasWrong(t *testing.T) {
	url, _, stop := startServer(t)
	defer stop()
	if code, _ := get(t, url+"/backup", ""); code != http.StatusUnauthorized {
		t.Fatalf("/backup without a token = %d, want 401", code)
	}
	if code, _ := get(t, url+"/audit/export", "wrong-token-guess-0123456789"); code != http.StatusUnauthorized {
		t.Fatalf("/audit/export with a wrong token = %d, want 401", code)
	}
	_, body := get(t, url+"/audit/export?kind=web.refused", serveToken)
	for _, want := range []string{`"reason":"no token for /backup"`, `"reason":"a wrong token for /audit/export"`} {
		if !strings.Contains(body, want) {
			t.Errorf("web.refused records lack %s:\n%s", want, body)
		}
	}
}
