package build

import (
	"archive/tar"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/executors/dockertest"
	"github.com/countersign/countersign/executors/registry"
)

// steps collects progress lines; safe for the Build goroutine.
type steps struct {
	mu    sync.Mutex
	lines []string
}

func (s *steps) add(l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, l)
}

func (s *steps) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lines)
}

func TestBuilder_BuildPushesPinnedImage(t *testing.T) {
	t.Parallel()
	f := env(t)
	tc := f.start(t)
	spec := tc.commit(files("Dockerfile", tc.dockerfile("COPY hello /hello", "COPY sha.txt /sha.txt"), "sha.txt", "the commit"))
	b := tc.builder(Config{}, Options{})
	var got steps
	start := time.Now()
	built, err := b.Build(context.Background(), spec, got.add)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Logf("built %s (%d bytes) in %s", built.Image, built.Size, time.Since(start))

	want := []string{
		"Step 1/4 : FROM scratch AS base",
		"Step 2/4 : LABEL " + testLabel + "=" + tc.label,
		"Step 3/4 : COPY hello /hello",
		"Step 4/4 : COPY sha.txt /sha.txt",
		"Pushing " + tc.repo + ":" + spec.Tag,
	}
	if !slices.Equal(got.all(), want) {
		t.Errorf("progress:\n got %q\nwant %q", got.all(), want)
	}
	repo, digest, err := registry.SplitDigest(built.Image)
	if err != nil || repo != tc.repo {
		t.Fatalf("Built.Image = %q, want %s@sha256:…", built.Image, tc.repo)
	}
	// The registry's own word for the digest, by digest and by the tag.
	for _, ref := range []string{built.Image, tc.repo + ":" + spec.Tag} {
		r, _ := name.ParseReference(ref, name.Insecure)
		desc, err := remote.Head(r)
		if err != nil {
			t.Fatalf("HEAD %s: %v", ref, err)
		}
		if desc.Digest.String() != digest {
			t.Errorf("registry has %s at %s, Build said %s", desc.Digest, ref, digest)
		}
	}
	img := pull(t, built.Image)
	if got := filesOf(t, img); got["sha.txt"] != "the commit" || got["hello"] != string(f.hello) {
		t.Errorf("image files = %d of them, want hello and sha.txt from the commit", len(got))
	}
	if want := imageSize(t, img); built.Size != want {
		t.Errorf("Built.Size = %d, want %d (manifest, config and layers)", built.Size, want)
	}
	if built.Took <= 0 || built.Took > time.Since(start) {
		t.Errorf("Built.Took = %s", built.Took)
	}
	// Nothing stays on the engine: not the tag, not the steps' images.
	if _, err := f.docker.ImageInspect(context.Background(), tc.repo+":"+spec.Tag); !errdefs.IsNotFound(err) {
		t.Errorf("the local tag is still there (inspect: %v)", err)
	}
	if left := tc.leftovers(t); len(left) > 0 {
		t.Errorf("images left on the engine: %q", left)
	}
}

// imageSize is what the registry holds of img: manifest, config, layers.
func imageSize(t *testing.T, img v1.Image) int64 {
	t.Helper()
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

// TestBuilder_BuildTargetAndArgs builds a multi-stage Dockerfile that
// is not at the default path: the target stops before a stage that
// cannot build, and the build argument names a file and a label.
func TestBuilder_BuildTargetAndArgs(t *testing.T) {
	t.Parallel()
	f := env(t)
	tc := f.start(t)
	spec := tc.commit(files("mirage/Dockerfile.multi", tc.dockerfile(
		"COPY hello /hello",
		"FROM base AS hvt",
		"ARG EXTRA_FLAGS=none",
		"LABEL org.example.flags=$EXTRA_FLAGS",
		"COPY --from=base /hello /unikernel-$EXTRA_FLAGS.hvt",
		"FROM base AS spt",
		"COPY not-in-the-commit /x",
	)))
	b := tc.builder(Config{Dockerfile: "./mirage/Dockerfile.multi", Target: "hvt", Args: map[string]string{"EXTRA_FLAGS": "solo5"}}, Options{})
	built, err := b.Build(context.Background(), spec, nil)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	img := pull(t, built.Image)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Config.Labels["org.example.flags"]; got != "solo5" {
		t.Errorf("label org.example.flags = %q, want solo5 (the build argument)", got)
	}
	got := filesOf(t, img)
	if _, ok := got["unikernel-solo5.hvt"]; !ok {
		t.Errorf("image files %v, want unikernel-solo5.hvt", keys(got))
	}
	if left := tc.leftovers(t); len(left) > 0 {
		t.Errorf("images left on the engine (the stages'): %q", left)
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestBuilder_BuildFailingStepEndsWithLog: Docker reports a failed COPY
// inside a 200 OK stream; the error ends with the log's last lines.
func TestBuilder_BuildFailingStepEndsWithLog(t *testing.T) {
	t.Parallel()
	f := env(t)
	tc := f.start(t)
	spec := tc.commit(files("Dockerfile", tc.dockerfile("COPY hello /hello", "COPY missing.txt /missing.txt")))
	_, err := tc.builder(Config{}, Options{}).Build(context.Background(), spec, nil)
	if !errors.Is(err, ErrBuild) {
		t.Fatalf("Build = %v, want ErrBuild", err)
	}
	t.Logf("error:\n%v", err)
	var le *LogError
	if !errors.As(err, &le) || len(le.Lines) == 0 {
		t.Fatalf("no *LogError in %v", err)
	}
	const last = "Step 4/4 : COPY missing.txt /missing.txt"
	if !strings.HasSuffix(err.Error(), "\n"+strings.Join(le.Lines, "\n")) || le.Lines[len(le.Lines)-1] != last {
		t.Errorf("error does not end with the log, last line %q:\n%v", last, err)
	}
	if !strings.Contains(err.Error(), "COPY failed") || !strings.HasPrefix(err.Error(), "build acme/app@"+spec.SHA[:7]+": docker build failed: ") {
		t.Errorf("error = %q, want the build, ErrBuild and Docker's reason first", err)
	}
	r, _ := name.ParseReference(tc.repo+":"+spec.Tag, name.Insecure)
	if _, err := remote.Head(r); err == nil {
		t.Error("a failed build pushed its tag")
	}
	if left := tc.leftovers(t); len(left) > 0 {
		t.Errorf("images left on the engine by the failed build: %q", left)
	}
}

func TestBuilder_BuildNoDockerfile(t *testing.T) {
	t.Parallel()
	f := env(t)
	tc := f.start(t)
	spec := tc.commit(files("Dockerfile", tc.dockerfile("COPY hello /hello")))
	_, err := tc.builder(Config{Dockerfile: "docker/Dockerfile.hvt"}, Options{}).Build(context.Background(), spec, nil)
	if !errors.Is(err, ErrNoDockerfile) {
		t.Fatalf("Build = %v, want ErrNoDockerfile", err)
	}
	if want := "build acme/app@" + spec.SHA[:7] + ": no Dockerfile at docker/Dockerfile.hvt in the commit"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestBuilder_BuildSourceFailures(t *testing.T) {
	t.Parallel()
	f := env(t)
	tc := f.start(t)
	broken := dockertest.RandomHex(20)
	f.github.addRaw("acme/app", broken, []byte("<html>oops</html>"))
	twoTops := dockertest.RandomHex(20)
	f.github.addRaw("acme/app", twoTops, rawTarball(t, &tar.Header{Name: "a/Dockerfile", Size: 1}, &tar.Header{Name: "b/x", Size: 1}))
	for _, tt := range []struct {
		name, sha, text string
	}{
		{"unknown commit", dockertest.RandomHex(20), "404 Not Found"},
		{"not a tarball", broken, "read tarball: gzip: invalid header"},
		{"two top directories", twoTops, "more than one top-level entry"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := bot.BuildSpec{Repo: "acme/app", SHA: tt.sha, Tag: "t-" + tt.sha[:7]}
			_, err := tc.builder(Config{}, Options{}).Build(context.Background(), spec, nil)
			if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Build = %v, want ErrSource saying %q", err, tt.text)
			}
		})
	}
}

// TestBuilder_BuildConcurrent builds three commits at once, two of them
// to the same tag: each build returns the digest of its own commit.
func TestBuilder_BuildConcurrent(t *testing.T) {
	t.Parallel()
	f := env(t)
	tc := f.start(t)
	b := tc.builder(Config{}, Options{})
	specs := make([]bot.BuildSpec, 3)
	for i := range specs {
		specs[i] = tc.commit(files("Dockerfile", tc.dockerfile("COPY sha.txt /sha.txt"), "sha.txt", "placeholder"))
		// The content is the commit's own SHA, known only now.
		f.github.add(specs[i].Repo, specs[i].SHA, files("Dockerfile", tc.dockerfile("COPY sha.txt /sha.txt"), "sha.txt", specs[i].SHA))
	}
	specs[1].Tag = specs[0].Tag
	results := make([]bot.Built, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i := range specs {
		wg.Go(func() { results[i], errs[i] = b.Build(context.Background(), specs[i], nil) })
	}
	wg.Wait()
	for i, built := range results {
		if errs[i] != nil {
			t.Errorf("build %d: %v", i, errs[i])
			continue
		}
		if got := filesOf(t, pull(t, built.Image))["sha.txt"]; got != specs[i].SHA {
			t.Errorf("build %d of %s returned %s, which holds the commit %s", i, specs[i].SHA[:7], built.Image, got)
		}
	}
	if left := tc.leftovers(t); len(left) > 0 {
		t.Errorf("images left on the engine: %q", left)
	}
}

// TestBuilder_BuildRefusesBadConfig needs no engine: the checks come first.
func TestBuilder_BuildRefusesBadConfig(t *testing.T) {
	good := bot.BuildSpec{Repo: "acme/app", SHA: strings.Repeat("a", 40), Tag: "main-aaaaaaa"}
	for _, tt := range []struct {
		name string
		cfg  Config
		spec func(bot.BuildSpec) bot.BuildSpec
	}{
		{"no image", Config{}, nil},
		{"image with a tag", Config{Image: "127.0.0.1:5000/app:latest"}, nil},
		{"image with a digest", Config{Image: "127.0.0.1:5000/app@sha256:" + strings.Repeat("0", 64)}, nil},
		{"no tag", Config{Image: "127.0.0.1:5000/app"}, func(s bot.BuildSpec) bot.BuildSpec { s.Tag = ""; return s }},
		{"bad tag", Config{Image: "127.0.0.1:5000/app"}, func(s bot.BuildSpec) bot.BuildSpec { s.Tag = "main/x"; return s }},
		{"no commit", Config{Image: "127.0.0.1:5000/app"}, func(s bot.BuildSpec) bot.BuildSpec { s.SHA = ""; return s }},
		{"dockerfile outside", Config{Image: "127.0.0.1:5000/app", Dockerfile: "../Dockerfile"}, nil},
		{"dockerfile absolute", Config{Image: "127.0.0.1:5000/app", Dockerfile: "/etc/Dockerfile"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := good
			if tt.spec != nil {
				spec = tt.spec(spec)
			}
			// No engine and no source: nothing may be reached.
			_, err := New(nil, nil, tt.cfg, Options{}).Build(context.Background(), spec, nil)
			if !errors.Is(err, ErrConfig) {
				t.Errorf("Build = %v, want ErrConfig", err)
			}
		})
	}
}
