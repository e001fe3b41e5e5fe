package registry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	cs "github.com/countersign/countersign"
)

func TestResolver_Resolve(t *testing.T) {
	host := startRegistry(t, nil)
	repo := host + "/mirage/www"
	want := push(t, repo, "live-abc", files, nil)

	tests := []struct {
		name      string
		repo, tag string
		want      string // "" when an error is expected
		wantErr   error
	}{
		{"existing tag", repo, "live-abc", repo + "@" + want, nil},
		{"missing tag", repo, "live-def", "", ErrNotFound},
		{"missing repository", host + "/mirage/nope", "live-abc", "", ErrNotFound},
		{"bad tag", repo, "-x", "", ErrBadTag},
		{"tag in repo", repo + ":live-abc", "live-abc", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newResolver(t).Resolve(context.Background(), tt.repo, tt.tag)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("Resolve() = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Resolve() = %q, want an error", got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Resolve() error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.repo) {
				t.Errorf("error %q does not name the image %q", err, tt.repo)
			}
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := newResolver(t).Resolve(ctx, repo, "live-abc")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	})
	t.Run("not found is cs.ErrNotFound", func(t *testing.T) {
		_, err := newResolver(t).Resolve(context.Background(), repo, "nope")
		if !errors.Is(err, cs.ErrNotFound) {
			t.Errorf("error = %v, want it to match cs.ErrNotFound", err)
		}
	})
}

func TestResolver_Check(t *testing.T) {
	host := startRegistry(t, nil)
	repo := host + "/mirage/www"
	digest := push(t, repo, "live-abc", files, nil)
	missing := "sha256:" + strings.Repeat("0", 64)

	tests := []struct {
		name    string
		ref     string
		wantErr error // nil: success
	}{
		{"existing digest", repo + "@" + digest, nil},
		{"missing digest", repo + "@" + missing, ErrNotFound},
		{"digest in another repository", host + "/mirage/other@" + digest, ErrNotFound},
		{"tag", repo + ":live-abc", ErrNotDigest},
		{"tag and digest", repo + ":live-abc@" + digest, ErrNotDigest},
		{"short digest", repo + "@sha256:abc", ErrNotDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newResolver(t).Check(context.Background(), tt.ref)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("Check(%q) = %v, want %v", tt.ref, err, tt.wantErr)
			}
		})
	}
}

func TestResolver_Unreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close() // nothing listens there now
	repo := host + "/mirage/www"
	digestRef := repo + "@sha256:" + strings.Repeat("a", 64)

	tests := []struct {
		name string
		call func(r *Resolver) error
	}{
		{"Resolve", func(r *Resolver) error { _, err := r.Resolve(context.Background(), repo, "t"); return err }},
		{"Check", func(r *Resolver) error { return r.Check(context.Background(), digestRef) }},
		{"Wait fails at once", func(r *Resolver) error { _, err := r.Wait(context.Background(), repo, "t", 5*time.Second); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := tt.call(newResolver(t))
			if !errors.Is(err, ErrUnreachable) {
				t.Fatalf("error = %v, want ErrUnreachable", err)
			}
			if !strings.Contains(err.Error(), host) {
				t.Errorf("error %q does not name the registry %s", err, host)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s to notice", d)
			}
		})
	}
}

// TestResolver_Auth runs against a registry that wants basic auth, as a
// private registry behind a proxy does.
func TestResolver_Auth(t *testing.T) {
	const user, password = "countersign", "s3cret-hunter2"
	host := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	repo := host + "/private/app"
	want := repo + "@" + push(t, repo, "v1", files, &authn.Basic{Username: user, Password: password})
	cred := func(p string) []Credential {
		return []Credential{{Host: host, Username: user, Password: cs.NewSecret(p)}}
	}

	tests := []struct {
		name     string
		creds    []Credential
		wantErr  error
		wantHint string
	}{
		{"right password", cred(password), nil, ""},
		{"wrong password", cred("wrong-" + password), ErrUnauthorized, "check the username and password for " + host},
		{"no credentials", nil, ErrUnauthorized, "no credentials for " + host},
		{"credentials for another host", []Credential{{Host: "registry.example.org", Username: user, Password: cs.NewSecret(password)}}, ErrUnauthorized, "no credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newResolver(t, tt.creds...)
			got, err := r.Resolve(context.Background(), repo, "v1")
			werr := r.Check(context.Background(), want)
			_, waitErr := r.Wait(context.Background(), repo, "v1", 5*time.Second)
			if tt.wantErr == nil {
				if err != nil || got != want || werr != nil || waitErr != nil {
					t.Fatalf("Resolve = %q, %v; Check: %v; Wait: %v; want %q", got, err, werr, waitErr, want)
				}
				return
			}
			for _, err := range []error{err, werr, waitErr} {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("error = %v, want %v", err, tt.wantErr)
					continue
				}
				if strings.Contains(err.Error(), password) {
					t.Errorf("error %q contains the password", err)
				}
				if !strings.Contains(err.Error(), tt.wantHint) {
					t.Errorf("error %q does not say %q", err, tt.wantHint)
				}
			}
		})
	}
}

// TestResolver_ScrubsEchoedPassword: a token server that quotes what it
// was sent must not get the password into our errors.
func TestResolver_ScrubsEchoedPassword(t *testing.T) {
	const password = "s3cret-hunter2"
	var host string
	host = startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				_, p, _ := r.BasicAuth()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"errors":[{"code":"UNSUPPORTED","message":"will not take password ` + p + `"}]}`))
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+host+`/token",service="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		})
	})
	r := newResolver(t, Credential{Host: host, Username: "u", Password: cs.NewSecret(password)})
	_, err := r.Resolve(context.Background(), host+"/x/y", "t")
	if err == nil {
		t.Fatal("Resolve succeeded against a registry that refuses everything")
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("error %q contains the password", err)
	}
	if !strings.Contains(err.Error(), "will not take password [redacted]") {
		t.Errorf("error %q does not quote the registry (so the test proves nothing)", err)
	}
}

func TestResolver_Loopback(t *testing.T) {
	// 127.0.0.2 is loopback but not what go-containerregistry itself
	// treats as plain HTTP.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.Handler = quietRegistry()
	srv.Start()
	t.Cleanup(srv.Close)
	host := ln.Addr().String()
	repo := host + "/mirage/www"
	want := repo + "@" + push(t, repo, "t", files, nil)

	got, err := newResolver(t).Resolve(context.Background(), repo, "t")
	if err != nil || got != want {
		t.Errorf("Resolve() = %q, %v; want %q", got, err, want)
	}
}

func TestResolver_Scheme(t *testing.T) {
	tests := []struct {
		repo     string
		insecure bool
		want     string
	}{
		{"registry.example.org/x/y", false, "https"},
		{"registry.example.org/x/y", true, "http"},
		{"127.0.0.1:5000/x", false, "http"},
		{"127.3.4.5:5000/x", false, "http"},
		{"localhost/x", false, "http"},
		{"localhost:5000/x", false, "http"},
		{"[::1]:5000/x", false, "http"},
		{"128.0.0.1:5000/x", false, "https"},
		{"ocaml/opam", false, "https"},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			r := &Resolver{Insecure: tt.insecure}
			ref, err := r.tagRef(tt.repo, "t")
			if err != nil {
				t.Fatal(err)
			}
			if got := ref.Context().Scheme(); got != tt.want {
				t.Errorf("scheme = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSplitDigest(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		ref      string
		wantRepo string // "" when an error is expected
	}{
		{"registry.example.org/x/y@" + d, "registry.example.org/x/y"},
		{"127.0.0.1:5000/mirage/www@" + d, "127.0.0.1:5000/mirage/www"},
		{"ocaml/opam@" + d, "ocaml/opam"},
		{"registry.example.org/x/y:tag", ""},
		{"registry.example.org/x/y:tag@" + d, ""},
		{"registry.example.org/x/y@sha256:abc", ""},
		{"registry.example.org/x/y@sha256:" + strings.Repeat("AB", 32), ""},
		{"registry.example.org/x/y@sha512:" + strings.Repeat("ab", 64), ""},
		{"@" + d, ""},
		{"Bad Repo@" + d, ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			repo, digest, err := SplitDigest(tt.ref)
			if tt.wantRepo == "" {
				if !errors.Is(err, ErrNotDigest) {
					t.Errorf("SplitDigest() = %q, %q, %v; want ErrNotDigest", repo, digest, err)
				}
				return
			}
			if err != nil || repo != tt.wantRepo || digest != d {
				t.Errorf("SplitDigest() = %q, %q, %v; want %q, %q", repo, digest, err, tt.wantRepo, d)
			}
		})
	}
}

func TestShorten(t *testing.T) {
	long := strings.Repeat("é", maxDetail) // two bytes each
	tests := []struct{ in, want string }{
		{"short", "short"},
		{"first line\nsecond", "first line"},
		{long, strings.Repeat("é", maxDetail/2) + "…"},
	}
	for _, tt := range tests {
		if got := shorten(tt.in); got != tt.want {
			t.Errorf("shorten(%.20q…) = %.20q…, want %.20q…", tt.in, got, tt.want)
		}
	}
}
