package swarm

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/countersign/countersign/executors/dockertest"
)

// The tests run against the Docker Engine on this machine, in swarm mode
// (initialised here if it is not: the equivalent of `docker swarm init
// --advertise-addr 127.0.0.1`; it is left initialised afterwards). Images
// are built FROM scratch around testdata/app, a static Go binary, and
// served by a go-containerregistry registry on 127.0.0.1, which the
// engine pulls from over plain HTTP. Every service and image a run
// creates carries the label countersign.test=<run> and is removed at the
// end.

const socketHost = "unix:///var/run/docker.sock"

// fixture is what every engine test shares.
type fixture struct {
	api      *client.Client // the tests' own view of the engine
	run      string         // label value of this run's services
	registry *httptest.Server
	repo     string // 127.0.0.1:PORT/countersign-test/app
	v1, v2   string // repo@sha256:… of two good images (VERSION=v1, v2)
	bad      string // repo@sha256:… of an image whose container exits 1 at once
	dir      string
	initNote string // what set-up did to the swarm
}

// shared is the fixture of the run.
var shared = dockertest.Shared[*fixture]{
	Setup: func(t testing.TB) (*fixture, error) {
		f, err := setup()
		if err == nil {
			t.Logf("engine fixture: %s; registry %s", f.initNote, f.repo)
		}
		return f, err
	},
	Teardown: (*fixture).teardown,
}

func TestMain(m *testing.M) { shared.Main(m) }

// env returns the shared fixture, setting it up on first use. Without an
// engine it skips the test, or fails it when CI is set.
func env(t testing.TB) *fixture {
	t.Helper()
	return shared.Get(t)
}

func setup() (_ *fixture, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	api, err := dockertest.Connect(ctx, socketHost)
	if err != nil {
		return nil, err
	}
	f := &fixture{api: api, run: fmt.Sprintf("%d", time.Now().UnixNano())}
	defer func() {
		if err != nil {
			f.teardown()
		}
	}()
	if err := f.swarmMode(ctx); err != nil {
		return nil, err
	}
	f.removeLeftovers(ctx)
	if f.dir, err = os.MkdirTemp("", "swarmtest"); err != nil {
		return nil, err
	}
	bin, err := dockertest.StaticBinary(ctx, f.dir, "./testdata/app", "GOARCH=amd64")
	if err != nil {
		return nil, err
	}
	f.registry = dockertest.ServeRegistry()
	f.repo = dockertest.Host(f.registry) + "/countersign-test/app"
	for _, im := range []struct {
		ref  *string
		env  string
		args []string
	}{{&f.v1, "VERSION=v1", nil}, {&f.v2, "VERSION=v2", nil}, {&f.bad, "VERSION=bad", []string{"-fail"}}} {
		if *im.ref, err = f.push(ctx, bin, im.env, im.args); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// swarmMode makes the engine a swarm manager, initialising a swarm if the
// engine is in none.
func (f *fixture) swarmMode(ctx context.Context) error {
	info, err := f.api.Info(ctx)
	if err != nil {
		return fmt.Errorf("%w: docker info: %v", dockertest.ErrNoEngine, err)
	}
	switch info.Swarm.LocalNodeState {
	case swarm.LocalNodeStateActive:
		if !info.Swarm.ControlAvailable {
			return fmt.Errorf("this engine is in a swarm but not a manager: the tests need a manager (docker swarm leave, then rerun)")
		}
		f.initNote = "swarm already active"
		return nil
	case swarm.LocalNodeStateInactive:
		if _, err := f.api.SwarmInit(ctx, swarm.InitRequest{ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1"}); err != nil {
			return fmt.Errorf("swarm init (docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377) failed: %v", err)
		}
		f.initNote = "swarm initialised by the tests (left initialised)"
		return nil
	}
	return fmt.Errorf("engine swarm state is %q (%s): cannot run the swarm tests", info.Swarm.LocalNodeState, info.Swarm.Error)
}

// leftoverAge is how old a test service must be to count as left by an
// interrupted run. A younger one may belong to another run of these
// tests on the same engine at this moment (a second checkout, a race
// pass): removing it would fail that run.
const leftoverAge = time.Hour

// removeLeftovers removes services that earlier, interrupted runs left.
func (f *fixture) removeLeftovers(ctx context.Context) {
	svcs, err := f.api.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", "countersign.test"))})
	if err != nil {
		return
	}
	for _, s := range svcs {
		if time.Since(s.CreatedAt) > leftoverAge {
			_ = f.api.ServiceRemove(ctx, s.ID)
		}
	}
}

// push builds an image FROM scratch holding /app, with env and the
// arguments of the entrypoint, pushes it and returns repo@sha256:….
func (f *fixture) push(ctx context.Context, bin []byte, env string, args []string) (string, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "app", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg}); err != nil {
		return "", err
	}
	if _, err := tw.Write(bin); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", err
	}
	img, err = mutate.Config(img, v1.Config{Entrypoint: []string{"/app"}, Cmd: args, Env: []string{env}})
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", err
	}
	tag, err := name.NewTag(f.repo+":"+strings.ToLower(strings.TrimPrefix(env, "VERSION=")), name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("push %s: %v", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return f.repo + "@" + d.String(), nil
}

// teardown removes this run's services, waits for their containers to go,
// removes the images the engine pulled from the test registry, and stops
// the registry.
func (f *fixture) teardown() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f.removeLeftovers(ctx)
	byRun := filters.NewArgs(filters.Arg("label", "countersign.test="+f.run))
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		ctrs, err := f.api.ContainerList(ctx, container.ListOptions{All: true, Filters: byRun})
		if err != nil || len(ctrs) == 0 {
			break
		}
	}
	if f.registry == nil {
		f.api.Close()
		os.RemoveAll(f.dir)
		return
	}
	host := dockertest.Host(f.registry) + "/"
	if imgs, err := f.api.ImageList(ctx, image.ListOptions{All: true}); err == nil {
		for _, im := range imgs {
			for _, r := range append(im.RepoDigests, im.RepoTags...) {
				if strings.HasPrefix(r, host) {
					_, _ = f.api.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
					break
				}
			}
		}
	}
	f.registry.Close()
	f.api.Close()
	os.RemoveAll(f.dir)
}
