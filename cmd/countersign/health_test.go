package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealth(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok\nslack: connected\n"))
	}))
	defer up.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database: damaged", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"healthy", []string{"--url", up.URL + "/healthz"}, exitOK, "ok\nslack: connected", ""},
		{"unhealthy", []string{"--url", down.URL + "/healthz"}, exitFail, "", "503 Service Unavailable: database: damaged"},
		{"not listening", []string{"--url", closed.URL + "/healthz", "--timeout", "2s"}, exitFail, "", "connection refused"},
		{"extra argument", []string{"now"}, exitUsage, "", "usage: countersign health"},
		{"bad timeout", []string{"--timeout", "0s"}, exitUsage, "", "usage: countersign health"},
		{"bad url", []string{"--url", "::"}, exitUsage, "", "health:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, "", nil, append([]string{"health"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.err) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, tc.code, tc.out, tc.err)
			}
		})
	}
}
