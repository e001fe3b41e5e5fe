package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// demoTime is the modification time of every file in a demo image, so that
// a DemoImage always has the same digest.
var demoTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// DemoImage is an image for the demo registry.
type DemoImage struct {
	Repo  string            // path inside the registry, e.g. "mirage/www"
	Tag   string            // e.g. "live-mirage-hvt-<sha>"
	Files map[string][]byte // file path -> contents, e.g. "unikernel.hvt"
}

// Demo is an in-process OCI registry (go-containerregistry's pkg/registry
// on 127.0.0.1, port chosen by the system) holding small example images,
// so that the demo resolves pushes to real digests on a machine with
// nothing but Go. Being on loopback, it speaks plain HTTP, which a
// Resolver and the Docker Engine both accept for it.
type Demo struct {
	// URL is the registry's host:port, e.g. "127.0.0.1:41234".
	URL string

	srv       *http.Server
	done      chan struct{} // closed when the server goroutine returns
	closeOnce sync.Once
	closeErr  error
}

// StartDemo starts the demo registry and pushes images into it. ctx bounds
// the start-up only; the registry serves until Close. Each image has one
// layer holding its Files (mode 0644, a fixed time), so its digest is the
// same on every start.
func StartDemo(ctx context.Context, images []DemoImage) (*Demo, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start demo registry: %w", err)
	}
	d := &Demo{
		URL: ln.Addr().String(),
		srv: &http.Server{
			Handler:           ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))),
			ReadHeaderTimeout: 10 * time.Second,
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(d.done)
		_ = d.srv.Serve(ln) // always ErrServerClosed or a listener error after Close
	}()
	for _, im := range images {
		if err := d.push(ctx, im); err != nil {
			return nil, errors.Join(fmt.Errorf("start demo registry: %w", err), d.Close())
		}
	}
	return d, nil
}

// Ref returns "host:port/repo", the repository as a Resolver or the Docker
// Engine names it.
func (d *Demo) Ref(repo string) string { return d.URL + "/" + repo }

// Close stops the registry and waits for it. It is safe to call more than once.
func (d *Demo) Close() error {
	d.closeOnce.Do(func() {
		d.closeErr = d.srv.Close()
		<-d.done
	})
	return d.closeErr
}

// push writes im to the registry under its tag.
func (d *Demo) push(ctx context.Context, im DemoImage) error {
	ref, err := name.NewTag(d.Ref(im.Repo)+":"+im.Tag, name.Insecure)
	if err != nil {
		return fmt.Errorf("demo image %s:%s: %w", im.Repo, im.Tag, err)
	}
	img, err := im.Image()
	if err != nil {
		return fmt.Errorf("demo image %s:%s: %w", im.Repo, im.Tag, err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithUserAgent(userAgent)); err != nil {
		return fmt.Errorf("push demo image %s:%s: %w", im.Repo, im.Tag, err)
	}
	return nil
}

// Image builds the image: linux/amd64, one layer holding Files (paths
// relative to the root, mode 0644, a fixed time). The same Files always
// give the same digest.
func (im DemoImage) Image() (v1.Image, error) {
	layerTar, err := tarOf(im.Files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("make layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("make image: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("make image: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Created = v1.Time{Time: demoTime}
	return mutate.ConfigFile(img, cfg)
}

// tarOf writes files, and the directories above them, into a tar in name
// order with fixed modes and times.
func tarOf(files map[string][]byte) ([]byte, error) {
	clean := make(map[string][]byte, len(files))
	dirs := map[string]bool{}
	for p, body := range files {
		c := path.Clean(strings.TrimPrefix(p, "/"))
		if c == "." || c == ".." || strings.HasPrefix(c, "../") {
			return nil, fmt.Errorf("bad file path %q", p)
		}
		if _, dup := clean[c]; dup {
			return nil, fmt.Errorf("file path %q given twice", p)
		}
		clean[c] = body
		for dir := path.Dir(c); dir != "."; dir = path.Dir(dir) {
			dirs[dir] = true
		}
	}
	names := make([]string, 0, len(clean)+len(dirs))
	for dir := range dirs {
		if _, clash := clean[dir]; clash {
			return nil, fmt.Errorf("file path %q is also a directory", dir)
		}
		names = append(names, dir)
	}
	for p := range clean {
		names = append(names, p)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range names {
		hdr := &tar.Header{Name: p, Mode: 0o644, ModTime: demoTime, Typeflag: tar.TypeReg, Size: int64(len(clean[p]))}
		if dirs[p] {
			hdr.Name, hdr.Mode, hdr.Typeflag = p+"/", 0o755, tar.TypeDir
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("write layer: %w", err)
		}
		if _, err := tw.Write(clean[p]); err != nil {
			return nil, fmt.Errorf("write layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	return buf.Bytes(), nil
}
