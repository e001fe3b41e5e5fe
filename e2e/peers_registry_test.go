package e2e

// The registry peer of the e2e scenarios: an in-process
// go-containerregistry registry, FROM-scratch workload images pushed to it,
// and commits as GitHub serves their tarballs.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// startRegistry runs a go-containerregistry registry on 127.0.0.1 (plain
// HTTP, which the engine and go-containerregistry allow on loopback)
// until cleanup, when it also removes the images the engine pulled from
// it. It returns host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	host := strings.TrimPrefix(srv.URL, "http://")
	t.Cleanup(func() {
		removeImagesOf(t, host)
		srv.Close()
	})
	return host
}

// removeImagesOf removes the engine's images from repositories of host.
func removeImagesOf(t *testing.T, host string) {
	out := mustDocker(t, "image", "ls", "--digests", "--format", "{{.Repository}} {{.ID}}")
	var ids []string
	for _, line := range strings.Split(out, "\n") {
		repo, id, _ := strings.Cut(line, " ")
		if strings.HasPrefix(repo, host+"/") && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		mustDocker(t, append([]string{"image", "rm", "--force"}, ids...)...)
	}
}

// pushWorkload pushes an image FROM scratch holding testdata/app, with
// VERSION=version, to repo:version and returns it as repo@sha256:….
// It is made with go-containerregistry, not the engine: no build needed.
func pushWorkload(t *testing.T, repo, version string) string {
	t.Helper()
	return pushWorkloadEnv(t, repo, version)
}

// pushWorkloadEnv is pushWorkload with more variables in the image's
// environment (e.g. HEALTH_STATUS=500).
func pushWorkloadEnv(t *testing.T, repo, version string, env ...string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	writeTar(t, tw, &tar.Header{Name: "app", Mode: 0o755, Typeflag: tar.TypeReg}, workloadBinary(t))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	return pushImage(t, repo+":"+version, img, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", runtime.GOARCH
		cf.Config = v1.Config{Entrypoint: []string{"/app"}, Env: append([]string{"VERSION=" + version}, env...),
			Labels: map[string]string{e2eLabel: strconv.FormatInt(time.Now().UnixNano(), 10)}}
	})
}

// pushImage sets img's config with edit, pushes it to ref (repo:tag) and
// returns it as repo@sha256:….
func pushImage(t *testing.T, ref string, img v1.Image, edit func(*v1.ConfigFile)) string {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	edit(cf)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("push %s: %v", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Name() + "@" + d.String()
}

// registryDigest returns repo:tag as the registry has it, repo@sha256:….
func registryDigest(t *testing.T, repo, tag string) string {
	t.Helper()
	ref, err := name.NewTag(repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatalf("registry: %s: %v", ref, err)
	}
	return repo + "@" + desc.Digest.String()
}

// repoFile is one file of a commit.
type repoFile struct {
	Path string
	Data []byte
	Exec bool // mode 0775 rather than 0664, as git archive writes them
}

// repoTarball is repo at sha as GitHub's tarball API serves it (git
// archive, gzip'd): a pax global header holding the commit, then the
// files under "owner-name-<7 hex>/", directories first. Give it to
// serveOptions.GitHub.Tarballs under "owner/name@sha".
func repoTarball(t *testing.T, repo, sha string, files []repoFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": sha}, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	top := strings.ReplaceAll(repo, "/", "-") + "-" + sha[:7] + "/"
	dirs := map[string]bool{}
	for _, f := range files {
		for i := range len(f.Path) {
			if d := f.Path[:i+1]; f.Path[i] == '/' && !dirs[d] {
				dirs[d] = true
			}
		}
	}
	writeTar(t, tw, &tar.Header{Name: top, Typeflag: tar.TypeDir, Mode: 0o775}, nil)
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		writeTar(t, tw, &tar.Header{Name: top + d, Typeflag: tar.TypeDir, Mode: 0o775}, nil)
	}
	for _, f := range files {
		mode := int64(0o664)
		if f.Exec {
			mode = 0o775
		}
		writeTar(t, tw, &tar.Header{Name: top + f.Path, Typeflag: tar.TypeReg, Mode: mode}, f.Data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// workloadRepo is a commit of a repository whose Dockerfile builds
// testdata/app FROM scratch with VERSION=version, labelled for cleanup
// (the image's label is the build time, for leftovers).
func workloadRepo(t *testing.T, repo, sha, version string) []byte {
	t.Helper()
	dockerfile := fmt.Sprintf("FROM scratch\nLABEL %s=%d\nCOPY app /app\nENV VERSION=%s\nENTRYPOINT [\"/app\"]\n",
		e2eLabel, time.Now().UnixNano(), version)
	return repoTarball(t, repo, sha, []repoFile{
		{Path: "Dockerfile", Data: []byte(dockerfile)},
		{Path: "app", Data: workloadBinary(t), Exec: true},
	})
}
