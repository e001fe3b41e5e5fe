package build

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/dockertest"
	"github.com/countersign/countersign/executors/registry"
)

func TestBuilder_BuildPushFailures(t *testing.T) {
	t.Parallel()
	f := env(t)
	denied := f.serve(refuseManifests(dockertest.Registry()))
	locked := f.serve(basicAuth("ci", "right-password", dockertest.Registry()))
	for _, tt := range []struct {
		name, host, text string
	}{
		{"manifest refused", denied, "docker push failed: denied"},
		{"no credentials", locked, "no basic auth credentials"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := f.start(t)
			spec := tc.commit(files("Dockerfile", tc.dockerfile("COPY hello /hello")))
			b := tc.builder(Config{Image: tt.host + "/countersign-test/push"}, Options{})
			_, err := b.Build(context.Background(), spec, nil)
			if !errors.Is(err, ErrPush) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Build = %v, want ErrPush saying %q", err, tt.text)
			}
			t.Logf("error:\n%v", err)
			var le *LogError
			if !errors.As(err, &le) || !slices.Contains(le.Lines, "The push refers to repository ["+tt.host+"/countersign-test/push]") {
				t.Errorf("error does not end with the push's log:\n%v", err)
			}
			if left := tc.leftovers(t); len(left) > 0 {
				t.Errorf("images left on the engine: %q", left)
			}
		})
	}
}

// refuseManifests makes a registry deny storing a manifest. (Denied
// blob uploads would do too, but the engine retries them for 50s.)
func refuseManifests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// basicAuth makes a registry ask for a username and password.
func basicAuth(user, password string, h http.Handler) http.Handler {
	return basicAuthFor(user, password, h, func(*http.Request) bool { return true })
}

// basicAuthFor makes a registry ask for a username and password for the
// requests that need reports true, and for its base /v2/ (where clients
// learn that it wants them).
func basicAuthFor(user, password string, h http.Handler, need func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !need(r) && r.URL.Path != "/v2/" {
			h.ServeHTTP(w, r)
			return
		}
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="countersign-test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestBuilder_BuildWithCredentials: the engine pushes, and the registry
// is asked, with the configured credentials; a wrong password fails the
// push and shows up nowhere.
func TestBuilder_BuildWithCredentials(t *testing.T) {
	t.Parallel()
	f := env(t)
	const password = "s3cret-Pa55word-for-ci"
	host := f.serve(basicAuth("ci", password, dockertest.Registry()))
	// The engine retries refused blob uploads for 50s: this registry
	// refuses a wrong password only where it does not.
	manifestsOnly := f.serve(basicAuthFor("ci", password, dockertest.Registry(), func(r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/manifests/")
	}))
	for _, tt := range []struct {
		name, host, password string
		want                 error
	}{
		{"right password", host, password, nil},
		{"wrong password", manifestsOnly, password + "-old", ErrPush},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := f.start(t)
			spec := tc.commit(files("Dockerfile", tc.dockerfile("COPY hello /hello")))
			var logs bytes.Buffer
			b := tc.builder(Config{Image: tt.host + "/countersign-test/private"}, Options{
				Credentials: []registry.Credential{{Host: tt.host, Username: "ci", Password: cs.NewSecret(tt.password)}},
				Logger:      slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
			built, err := b.Build(context.Background(), spec, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Build = %v, want %v", err, tt.want)
			}
			if err != nil {
				t.Logf("error:\n%v", err)
				if strings.Contains(err.Error(), tt.password) || strings.Contains(logs.String(), tt.password) {
					t.Errorf("the password is in the error or the log:\n%v\n%s", err, logs.String())
				}
				return
			}
			if built.Size == 0 {
				t.Error("Built.Size = 0: the registry was not asked with the credentials")
			}
		})
	}
}
