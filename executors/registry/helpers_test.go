package registry

import (
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// startRegistry runs a real go-containerregistry registry, optionally
// wrapped, and returns its host:port. It stops when the test ends.
func startRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	h := quietRegistry()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// quietRegistry is a go-containerregistry registry that does not log.
func quietRegistry() http.Handler {
	return ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
}

// push writes a small image with files to repo:tag, using auth, and
// returns its digest as remote.Write stored it.
func push(t *testing.T, repo, tag string, files map[string][]byte, auth authn.Authenticator) string {
	t.Helper()
	img, err := DemoImage{Files: files}.Image()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if auth == nil {
		auth = authn.Anonymous
	}
	if err := remote.Write(ref, img, remote.WithAuth(auth)); err != nil {
		t.Errorf("push %s: %v", ref, err)
		return ""
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// newResolver returns a Resolver that polls fast, logs to the test and
// does not read the Docker config of whoever runs the tests.
func newResolver(t *testing.T, creds ...Credential) *Resolver {
	return &Resolver{
		Credentials:  creds,
		Keychain:     authn.NewMultiKeychain(),
		PollInterval: 20 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// testWriter sends log lines to t.Log, so they show only for failures.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// files is the content of the usual test image.
var files = map[string][]byte{"unikernel.hvt": []byte("not really a unikernel")}
