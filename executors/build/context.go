package build

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
)

// errContextClosed ends the re-rooting when the build no longer reads.
var errContextClosed = errors.New("build context closed")

// buildContext is the build context the engine reads: the tree of a
// repository tarball without its top-level directory, as an uncompressed
// tar that a goroutine writes while the engine reads, so that a large
// repository is never held in memory. (Compressing it again would cost
// time for nothing on the local socket; the engine accepts plain tar.)
type buildContext struct {
	pr   *io.PipeReader
	body io.Closer
	done chan struct{} // closed when the goroutine returns

	mu       sync.Mutex
	stopping bool  // Close was called: later errors are its doing
	err      error // why the re-rooting failed, if it did before Close

	closeOnce sync.Once
}

// newBuildContext starts re-rooting body, a gzip'd tarball, and checks
// that it holds dockerfile (a clean path). Close must be called.
func newBuildContext(body io.ReadCloser, dockerfile string) *buildContext {
	pr, pw := io.Pipe()
	c := &buildContext{pr: pr, body: body, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		err := reroot(pw, body, dockerfile)
		c.mu.Lock()
		if !c.stopping {
			c.err = err
		}
		c.mu.Unlock()
		// The reader sees the error only after it is recorded, so the
		// build that fails because of it finds it in Close.
		pw.CloseWithError(err)
	}()
	return c
}

// Read implements io.Reader.
func (c *buildContext) Read(p []byte) (int, error) { return c.pr.Read(p) }

// Close stops the re-rooting, closes the tarball and waits for the
// goroutine. It returns why the re-rooting failed on its own (a bad
// tarball, no Dockerfile), nil otherwise. It is safe to call more than
// once.
func (c *buildContext) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.stopping = true
		c.mu.Unlock()
		c.pr.CloseWithError(errContextClosed) // unblocks a write
		c.body.Close()                        // unblocks a read
		<-c.done
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// reroot copies the gzip'd tarball in to w as a tar without the top-level
// directory every entry is in, as in GitHub's tarballs
// ("owner-repo-sha/"). It skips pax global headers (where GitHub puts the
// commit) and entries other than files, directories and links, refuses
// entries outside the top directory, and fails with ErrNoDockerfile,
// before ending the tar, when there is no file at dockerfile.
func reroot(w io.Writer, in io.Reader, dockerfile string) error {
	zr, err := gzip.NewReader(in)
	if err != nil {
		return fmt.Errorf("%w: read tarball: %w", ErrSource, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	tw := tar.NewWriter(w)
	var top string
	found := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: read tarball: %w", ErrSource, err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, err := stripTop(&top, hdr.Name, hdr.Typeflag == tar.TypeDir)
		if err != nil {
			return err
		}
		if name == "" {
			continue // the top directory itself
		}
		// A fresh header: only what a build context needs, so that no
		// PAX record of the original (its long path, for one) overrides
		// the new name.
		out := &tar.Header{Name: name, Mode: hdr.Mode, ModTime: hdr.ModTime, Typeflag: hdr.Typeflag}
		switch hdr.Typeflag {
		case tar.TypeDir:
			out.Name += "/"
		case tar.TypeReg:
			out.Size = hdr.Size
		case tar.TypeSymlink:
			out.Linkname = hdr.Linkname
		case tar.TypeLink:
			if out.Linkname, err = stripTop(&top, hdr.Linkname, false); err != nil {
				return err
			}
		default:
			continue // a git tree holds nothing else
		}
		if hdr.Typeflag != tar.TypeDir && isDockerfile(name, dockerfile) {
			found = true
		}
		if err := tw.WriteHeader(out); err != nil {
			return err
		}
		if out.Size > 0 {
			if _, err := io.Copy(tw, tr); err != nil {
				return fmt.Errorf("%w: read tarball: %w", ErrSource, err)
			}
		}
	}
	if !found {
		return fmt.Errorf("%w at %s in the commit", ErrNoDockerfile, dockerfile)
	}
	return tw.Close()
}

// stripTop returns p without its top-level directory, which must be the
// same as the one before (*top, set on first use); "" for the top
// directory itself.
func stripTop(top *string, p string, isDir bool) (string, error) {
	first, rest, _ := strings.Cut(p, "/")
	if *top == "" {
		*top = first
	}
	if first != *top {
		return "", fmt.Errorf("%w: tarball has more than one top-level entry (%q and %q)", ErrSource, *top, first)
	}
	if rest == "" || rest == "/" {
		if !isDir && !strings.Contains(p, "/") {
			return "", fmt.Errorf("%w: tarball entry %q is not inside a top-level directory", ErrSource, p)
		}
		return "", nil
	}
	c := path.Clean(rest)
	if path.IsAbs(rest) || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%w: tarball entry %q points outside the repository", ErrSource, p)
	}
	if c == "." {
		return "", nil
	}
	return c, nil
}

// isDockerfile reports whether name is the Dockerfile. Like the engine,
// it accepts "dockerfile" for the default "Dockerfile".
func isDockerfile(name, dockerfile string) bool {
	return name == dockerfile || dockerfile == DefaultDockerfile && name == "dockerfile"
}
