package build

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/executors/dockertest"
)

// The engine tests build with the Docker Engine on this machine (no
// image can be pulled: every Dockerfile is FROM scratch around hello, a
// static Go binary built here from testdata/hello), fetch commits from a
// stand-in for GitHub's tarball endpoint, and push to go-containerregistry
// registries on 127.0.0.1, which the engine speaks plain HTTP to. Every
// image a test builds carries the label countersign.test=<run>-<test>,
// by which the test checks that the Builder cleaned up, and the run
// removes what is left at the end.

// testLabel marks the images the tests build.
const testLabel = "countersign.test"

// fixture is what every engine test shares.
type fixture struct {
	docker   *client.Client
	registry string // host:port of a plain registry
	github   *fakeGitHub
	hello    []byte // the static binary
	run      string // this run's part of the label
	closers  []func()
}

// shared is the fixture of the run.
var shared = dockertest.Shared[*fixture]{
	Setup:    func(testing.TB) (*fixture, error) { return setup() },
	Teardown: (*fixture).teardown,
}

func TestMain(m *testing.M) { shared.Main(m) }

// env returns the shared fixture, setting it up on first use. Without an
// engine it skips the test, or fails it when CI is set.
func env(t *testing.T) *fixture {
	t.Helper()
	return shared.Get(t)
}

func setup() (_ *fixture, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	api, err := dockertest.Connect(ctx, "")
	if err != nil {
		return nil, err
	}
	f := &fixture{docker: api, run: dockertest.RandomHex(4)}
	defer func() {
		if err != nil {
			f.teardown()
		}
	}()
	if f.hello, err = buildHello(ctx); err != nil {
		return nil, err
	}
	f.registry = f.serve(dockertest.Registry())
	f.github = newFakeGitHub()
	f.closers = append(f.closers, f.github.srv.Close)
	return f, nil
}

// serve runs h on 127.0.0.1 until the run ends and returns host:port.
func (f *fixture) serve(h http.Handler) string {
	srv := httptest.NewServer(h)
	f.closers = append(f.closers, srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// teardown removes every image of the run and stops the servers.
func (f *fixture) teardown() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f.removeLabelled(ctx, f.run)
	for i := len(f.closers) - 1; i >= 0; i-- {
		f.closers[i]()
	}
	f.docker.Close()
}

// removeLabelled force-removes the containers and images whose label
// value starts with prefix.
func (f *fixture) removeLabelled(ctx context.Context, prefix string) {
	byLabel := filters.NewArgs(filters.Arg("label", testLabel))
	if ctrs, err := f.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: byLabel}); err == nil {
		for _, c := range ctrs {
			if strings.HasPrefix(c.Labels[testLabel], prefix) {
				_ = f.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
			}
		}
	}
	if imgs, err := f.docker.ImageList(ctx, image.ListOptions{All: true, Filters: byLabel}); err == nil {
		for _, im := range imgs {
			if strings.HasPrefix(im.Labels[testLabel], prefix) {
				_, _ = f.docker.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
			}
		}
	}
}

// buildHello builds testdata/hello as a static binary for this machine.
func buildHello(ctx context.Context) ([]byte, error) {
	dir, err := os.MkdirTemp("", "buildtest")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	return dockertest.StaticBinary(ctx, dir, "./testdata/hello")
}

// testCase is what one engine test builds with.
type testCase struct {
	f     *fixture
	label string // this test's countersign.test value
	repo  string // the image repository in the plain registry
}

// start begins an engine test: images it builds are labelled for it and
// removed when it ends.
func (f *fixture) start(t *testing.T) *testCase {
	t.Helper()
	tc := &testCase{f: f, label: f.run + "-" + dockertest.RandomHex(4), repo: f.registry + "/countersign-test/" + dockertest.Slug(t)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		f.removeLabelled(ctx, tc.label)
	})
	return tc
}

// commit stores a commit of acme/app holding t (and hello, executable)
// at the fake GitHub and returns the spec that builds it with a fresh tag.
func (tc *testCase) commit(t tree) bot.BuildSpec {
	sha := dockertest.RandomHex(20)
	full := tree{"hello": {data: tc.f.hello, exec: true}}
	for p, e := range t {
		full[p] = e
	}
	tc.f.github.add("acme/app", sha, full)
	return bot.BuildSpec{Service: "app", Repo: "acme/app", SHA: sha, Branch: "main", Tag: "main-" + sha[:7]}
}

// dockerfile returns lines as a Dockerfile whose first stage is labelled
// for the test (every later stage FROM it is too).
func (tc *testCase) dockerfile(lines ...string) string {
	out := []string{"FROM scratch AS base", "LABEL " + testLabel + "=" + tc.label}
	return strings.Join(append(out, lines...), "\n") + "\n"
}

// builder returns a Builder for the test's repository (cfg.Image, if
// empty) fetching from the fake GitHub.
func (tc *testCase) builder(cfg Config, opts Options) *Builder {
	if cfg.Image == "" {
		cfg.Image = tc.repo
	}
	return New(tc.f.docker, tarballClient{base: tc.f.github.srv.URL}, cfg, opts)
}

// leftovers lists the images with the test's label on the engine.
func (tc *testCase) leftovers(t *testing.T) []string {
	t.Helper()
	imgs, err := tc.f.docker.ImageList(context.Background(), image.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", testLabel+"="+tc.label))})
	if err != nil {
		t.Fatalf("list images: %v", err)
	}
	var ids []string
	for _, im := range imgs {
		ids = append(ids, fmt.Sprintf("%s %v", im.ID, im.RepoTags))
	}
	return ids
}

// pull reads an image from its (plain HTTP) registry.
func pull(t *testing.T, ref string) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return img
}

// filesOf returns the contents of an image's regular files by path.
func filesOf(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[strings.TrimPrefix(hdr.Name, "/")] = string(b)
		}
	}
}
