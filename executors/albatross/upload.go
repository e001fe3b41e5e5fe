package albatross

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// upload streams the binary out of image into the host, checks the
// host's SHA-256 against the one computed on the way, and renames the
// upload to its final name. It returns the binary's SHA-256. Nothing of
// the image is held in memory beyond copy buffers and the read-ahead (4
// MiB), nothing is written to local disk. On any failure the temporary
// file is removed.
func (e *Executor) upload(ctx context.Context, c *conn, image string, progress func(string) error) (string, error) {
	tool, err := e.hasherFor(ctx, c)
	if err != nil {
		return "", fmt.Errorf("upload %s of %s: %w", e.uk.Binary, image, err)
	}
	// Cancelled when upload returns, or when the upload fails: a read of
	// the image in progress then ends, and with it the read-ahead.
	fetchCtx, abort := context.WithCancel(ctx)
	defer abort()
	rc, err := e.images.Export(fetchCtx, image)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := findBinary(tr, e.uk.Binary)
	if err != nil {
		return "", fmt.Errorf("fetch %s from %s: %w", e.uk.Binary, image, err)
	}
	return e.send(ctx, c, tool, image, tr, rc, hdr.Size, abort, progress)
}

// send is the upload proper: data is the binary (size bytes) and rest
// the image stream it is read from, drained afterwards; tool hashes it
// on the host; abort cuts short a read of the image in progress.
func (e *Executor) send(ctx context.Context, c *conn, tool hasher, image string, data, rest io.Reader, size int64, abort func(), progress func(string) error) (string, error) {
	tmp := e.tmpName("upload", randomHex())
	body := &countedReader{r: io.LimitReader(data, size)}
	h := sha256.New()
	ahead := newReadAhead(body, readAheadBlock, readAheadBlocks, h)
	out, err := c.run(ctx, e.cmdUpload(tmp, tool), ahead, false)
	if err != nil {
		abort()
	}
	ahead.Close() // from here on, nothing else reads body or data
	e.forgetHasher(tool, err)
	if err == nil && body.n != size {
		err = fmt.Errorf("%s in %s is %d bytes, but %d were read", e.uk.Binary, image, size, body.n)
	}
	if err == nil {
		// Read the rest of the image, so that every layer is checked
		// against its digest before the upload is kept. A tar.Reader
		// reads no further than it must, so the rest is still in rest.
		if _, derr := io.Copy(io.Discard, rest); derr != nil {
			err = fmt.Errorf("verify image %s: %w", image, derr)
		}
	}
	if err != nil {
		e.cleanup(c, tmp)
		return "", fmt.Errorf("upload %s of %s to %s: %w", e.uk.Binary, image, c.host, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := progress(fmt.Sprintf("fetched %s from %s: %s, sha256 %s", e.uk.Binary, image, mib(body.n), sum)); err != nil {
		e.cleanup(c, tmp)
		return "", err
	}
	if err := progress(fmt.Sprintf("uploaded to %s as %s", c.host, tmp)); err != nil {
		e.cleanup(c, tmp)
		return "", err
	}
	hostSum, err := tool.parse(out)
	if err == nil && hostSum != sum {
		err = fmt.Errorf("%w: sent sha256 %s, but %s on the host gives %s", ErrChecksum, sum, tool.name, hostSum)
	}
	if err != nil {
		e.cleanup(c, tmp)
		return "", fmt.Errorf("verify upload of %s on %s: %w", image, c.host, err)
	}
	final := e.file(sum)
	if _, err := c.run(ctx, cmdRename(tmp, final), nil, false); err != nil {
		e.cleanup(c, tmp)
		return "", fmt.Errorf("store upload on %s: %w", c.host, err)
	}
	if err := progress(fmt.Sprintf("verified: %s on the host gives %s; stored as %s", tool.name, sum, final)); err != nil {
		return "", err
	}
	return sum, nil
}

// verifyKept checks that the host still has the binary sha, intact, and
// returns the tool that said so.
func (e *Executor) verifyKept(ctx context.Context, c *conn, sha string) (hasher, error) {
	tool, err := e.hasherFor(ctx, c)
	if err != nil {
		return hasher{}, fmt.Errorf("check %s: %w", e.file(sha), err)
	}
	out, err := c.run(ctx, cmdSum(e.file(sha), tool), nil, false)
	e.forgetHasher(tool, err)
	if err != nil {
		return tool, fmt.Errorf("check %s on %s: %w", e.file(sha), c.host, err)
	}
	got, err := tool.parse(out)
	if err != nil {
		return tool, fmt.Errorf("check %s on %s: %w", e.file(sha), c.host, err)
	}
	if got != sha {
		return tool, fmt.Errorf("check %s on %s: %w: %s gives %s", e.file(sha), c.host, ErrChecksum, tool.name, got)
	}
	return tool, nil
}

// cleanup removes a temporary file on the host, best effort: a
// leftover is harmless (never referenced) and the error is only logged.
func (e *Executor) cleanup(c *conn, files ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), e.readTimeout())
	defer cancel()
	if _, err := c.run(ctx, cmdRemove(files...), nil, false); err != nil {
		e.log.Warn("remove files on host", "unikernel", e.uk.Name, "files", files, "err", err)
	}
}

// countedReader counts what is read through it.
type countedReader struct {
	r io.Reader
	n int64
}

func (r *countedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	return n, err
}

// randomHex is 16 random hex digits for temporary names.
func randomHex() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("albatross: crypto/rand failed: " + err.Error()) // cannot happen (Go 1.24+ never fails)
	}
	return hex.EncodeToString(b[:])
}
