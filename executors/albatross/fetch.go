package albatross

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/countersign/countersign/executors/registry"
)

// Fetcher streams images.
type Fetcher interface {
	// Export returns the flattened filesystem of image ("repo@sha256:…")
	// as a tar stream, as `crane export` does. The stream must fail
	// (rather than end) if what was read does not match the image's
	// digests. The caller closes it.
	Export(ctx context.Context, image string) (io.ReadCloser, error)
}

// RegistryFetcher is the Fetcher that pulls from registries with
// go-containerregistry. The zero value uses the Docker config's
// credentials. Registries on loopback are spoken to over plain HTTP, as
// by registry.Resolver and Docker.
type RegistryFetcher struct {
	// Credentials for named registry hosts; a listed host only ever gets
	// these.
	Credentials []registry.Credential
	// Keychain supplies credentials for other hosts (nil: authn.DefaultKeychain).
	Keychain authn.Keychain
	// Insecure allows plain HTTP to every registry.
	Insecure bool
}

// Export resolves the image by digest (go-containerregistry checks the
// manifest against it) and streams its flattened filesystem with
// mutate.Extract, which reads every layer to its end so that a layer that
// does not match its digest makes the stream fail instead of ending. The
// caller must therefore read the stream to its end before trusting what
// it read.
func (f *RegistryFetcher) Export(ctx context.Context, image string) (io.ReadCloser, error) {
	repo, digest, err := registry.SplitDigest(image)
	if err != nil {
		return nil, fmt.Errorf("fetch image: %w", err)
	}
	var opts []name.Option
	if f.Insecure || loopback(repo) {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewDigest(repo+"@"+digest, opts...)
	if err != nil {
		return nil, fmt.Errorf("fetch image %s: %w", image, err)
	}
	fallback := f.Keychain
	if fallback == nil {
		fallback = authn.DefaultKeychain
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithUserAgent("countersign"),
		remote.WithAuthFromKeychain(authn.NewMultiKeychain(credentials(f.Credentials), fallback)))
	if err != nil {
		return nil, fmt.Errorf("fetch image %s: %w", image, err)
	}
	return mutate.Extract(buffered{img}), nil
}

// readBuffer is the read size under the gzip reader of a layer.
// go-containerregistry reads compressed layers through a 4 KiB buffer: a
// read system call and a hash call per 4 KiB; this one costs 1 MiB of
// memory per layer being read (one at a time) and saves about a tenth of
// the fetch's time.
const readBuffer = 1 << 20

// buffered wraps an image so that its gzip layers are read with
// readBuffer. Verification is unchanged: the compressed stream is still
// go-containerregistry's, which checks the digest at its end.
type buffered struct{ v1.Image }

// Layers wraps each layer.
func (b buffered) Layers() ([]v1.Layer, error) {
	ls, err := b.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = bufferedLayer{l}
	}
	return out, nil
}

type bufferedLayer struct{ v1.Layer }

// Uncompressed gunzips the compressed stream through readBuffer; a layer
// that is not gzip (zstd, uncompressed) is left to go-containerregistry.
func (l bufferedLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, readBuffer)
	if magic, err := br.Peek(2); err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		rc.Close()
		return l.Layer.Uncompressed()
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("read layer: %w", err)
	}
	return readCloser{Reader: zr, close: func() error { return errors.Join(zr.Close(), rc.Close()) }}, nil
}

// readCloser joins a reader and a close function.
type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// loopback reports whether the repository's registry is on loopback.
func loopback(repo string) bool {
	host, _, ok := strings.Cut(repo, "/")
	if !ok {
		return false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credentials is a keychain over the configured hosts.
type credentials []registry.Credential

// Resolve implements authn.Keychain.
func (c credentials) Resolve(res authn.Resource) (authn.Authenticator, error) {
	for _, cred := range c {
		reg, err := name.NewRegistry(cred.Host)
		if err == nil && strings.EqualFold(reg.RegistryStr(), res.RegistryStr()) {
			return authn.FromConfig(authn.AuthConfig{Username: cred.Username, Password: cred.Password.Reveal()}), nil
		}
	}
	return authn.Anonymous, nil
}

// findBinary advances tr to the regular file at name (a path relative to
// the image's root) and returns its header. The flattened stream holds
// each path once, the topmost layer's.
func findBinary(tr *tar.Reader, name string) (*tar.Header, error) {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: no %s in the image", ErrBinaryNotFound, name)
		}
		if err != nil {
			return nil, fmt.Errorf("read image: %w", err)
		}
		if strings.TrimPrefix(path.Clean("/"+h.Name), "/") != name {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: %s in the image is not a regular file (tar type %q)", ErrBinaryNotFound, name, h.Typeflag)
		}
		return h, nil
	}
}
