// Package dockertest is what the tests of the executors that speak to the
// Docker Engine share: one fixture a test binary sets up on first use and
// tears down at the end, skipped (or failed when CI is set) without an
// engine; the engine's client; a static Go binary to put in images; a
// quiet go-containerregistry registry on loopback; random names.
package dockertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
)

// ErrNoEngine marks a set-up failure because the Docker Engine is missing.
var ErrNoEngine = errors.New("docker engine not available")

// Shared is a fixture of type F shared by every test of a binary: set up
// by the first test that asks for it, torn down by Main after the last.
type Shared[F any] struct {
	// Setup makes the fixture; t is the first test that asked, to log to.
	// An error wrapping ErrNoEngine skips the tests (outside CI).
	Setup func(t testing.TB) (F, error)
	// Teardown undoes what Setup made (also after it failed half way, if
	// Setup calls it itself).
	Teardown func(F)

	once  sync.Once
	fx    F
	err   error
	ready bool
}

// Get returns the fixture, setting it up on first use. Without an engine
// it skips the test, or fails it when CI is set; any other set-up error
// fails every test that asks.
func (s *Shared[F]) Get(t testing.TB) F {
	t.Helper()
	s.once.Do(func() {
		s.fx, s.err = s.Setup(t)
		s.ready = s.err == nil
	})
	if s.err != nil {
		if errors.Is(s.err, ErrNoEngine) && os.Getenv("CI") == "" {
			t.Skip(s.err)
		}
		t.Fatal(s.err)
	}
	return s.fx
}

// Main runs the tests, tears the fixture down if a test set it up, and
// exits: call it from TestMain.
func (s *Shared[F]) Main(m *testing.M) {
	code := m.Run()
	if s.ready && s.Teardown != nil {
		s.Teardown(s.fx)
	}
	os.Exit(code)
}

// Connect returns a client of the engine at host (a unix:// or tcp://
// address; "" is the environment's DOCKER_HOST or the default socket),
// once the engine answers a ping. Failures wrap ErrNoEngine.
func Connect(ctx context.Context, host string) (*client.Client, error) {
	where, hint := client.FromEnv, ", or set DOCKER_HOST"
	if host != "" {
		where, hint = client.WithHost(host), ""
	}
	api, err := client.NewClientWithOpts(where, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoEngine, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := api.Ping(pctx); err != nil {
		api.Close()
		return nil, fmt.Errorf("%w at %s: %v (install docker.io and start dockerd%s)", ErrNoEngine, api.DaemonHost(), err, hint)
	}
	return api, nil
}

// StaticBinary builds the Go package pkg (a path such as ./testdata/app)
// as a static Linux binary in dir and returns it. env adds to the build's
// environment (GOARCH=amd64, for an image of a fixed platform).
func StaticBinary(ctx context.Context, dir, pkg string, env ...string) ([]byte, error) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux"), env...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build %s: %v\n%s", strings.TrimPrefix(pkg, "./"), err, msg)
	}
	return os.ReadFile(out)
}

// Registry is a go-containerregistry registry that does not log. Served
// on 127.0.0.1, the engine speaks plain HTTP to it.
func Registry() http.Handler {
	return ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
}

// ServeRegistry serves Registry on 127.0.0.1 until the caller closes it.
func ServeRegistry() *httptest.Server { return httptest.NewServer(Registry()) }

// Host is the host:port of a test server, as an image reference names it.
func Host(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

// Slug is the test's name in lower case with / and _ as -, for names of
// images and services.
func Slug(t testing.TB) string {
	return strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
}

// RandomHex is n random bytes in hex, to tell runs and names apart.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
