package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// listing describes a tar's entries: "name type mode [content or link]".
func listing(t *testing.T, r io.Reader) []string {
	t.Helper()
	tr := tar.NewReader(r)
	var out []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read the re-rooted tar: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		s := fmt.Sprintf("%s %c %o", hdr.Name, hdr.Typeflag, hdr.Mode)
		switch hdr.Typeflag {
		case tar.TypeReg:
			s += " " + string(body)
		case tar.TypeSymlink, tar.TypeLink:
			s += " -> " + hdr.Linkname
		}
		out = append(out, s)
	}
}

func TestReroot_GitHubTarball(t *testing.T) {
	longDir := strings.Repeat("d", 90) + "/" + strings.Repeat("e", 90) // over ustar's 100 bytes
	tb, err := githubTarball("acme-app-abcdef1", "abcdef1234567890abcdef1234567890abcdef12", tree{
		"Dockerfile":          {data: []byte("FROM scratch\n")},
		"hello":               {data: []byte("#!bin"), exec: true},
		"src/main.ml":         {data: []byte("let () = ()")},
		"latest":              {link: "src/main.ml"},
		longDir + "/file.txt": {data: []byte("long")},
		"docs/empty-file.md":  {},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := reroot(&out, bytes.NewReader(tb), "Dockerfile"); err != nil {
		t.Fatalf("reroot: %v", err)
	}
	got := listing(t, &out)
	want := []string{
		"Dockerfile 0 664 FROM scratch\n",
		longDir[:90] + "/ 5 775",
		longDir + "/ 5 775",
		longDir + "/file.txt 0 664 long",
		"docs/ 5 775",
		"docs/empty-file.md 0 664 ",
		"hello 0 775 #!bin",
		"latest 2 777 -> src/main.ml",
		"src/ 5 775",
		"src/main.ml 0 664 let () = ()",
	}
	if !slices.Equal(got, want) {
		t.Errorf("re-rooted tar:\n got %q\nwant %q", got, want)
	}
}

// rawTarball writes headers (and a body of Size bytes for each file)
// into a gzip'd tar, for shapes githubTarball does not make.
func rawTarball(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range hdrs {
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReroot_HardLinkAndLowerCaseDockerfile(t *testing.T) {
	tb := rawTarball(t,
		&tar.Header{Name: "top/", Typeflag: tar.TypeDir},
		&tar.Header{Name: "top/dockerfile", Size: 3},
		&tar.Header{Name: "top/b", Typeflag: tar.TypeLink, Linkname: "top/dockerfile"},
	)
	var out bytes.Buffer
	if err := reroot(&out, bytes.NewReader(tb), DefaultDockerfile); err != nil {
		t.Fatalf("reroot: %v (the engine accepts dockerfile for the default Dockerfile)", err)
	}
	want := []string{"dockerfile 0 644 xxx", "b 1 644 -> dockerfile"}
	if got := listing(t, &out); !slices.Equal(got, want) {
		t.Errorf("re-rooted tar = %q, want %q", got, want)
	}
}

func TestReroot_Refuses(t *testing.T) {
	good := rawTarball(t, &tar.Header{Name: "top/Dockerfile", Size: 5})
	for _, tc := range []struct {
		name       string
		tarball    []byte
		dockerfile string
		want       error
		text       string
	}{
		{"not gzip", []byte("<html>Not Found</html>"), "Dockerfile", ErrSource, "read tarball"},
		{"cut short", good[:len(good)/2], "Dockerfile", ErrSource, "read tarball"},
		{"two top directories", rawTarball(t, &tar.Header{Name: "a/Dockerfile", Size: 1}, &tar.Header{Name: "b/x", Size: 1}), "Dockerfile", ErrSource, `more than one top-level entry ("a" and "b")`},
		{"file at the top", rawTarball(t, &tar.Header{Name: "README", Size: 1}), "Dockerfile", ErrSource, "not inside a top-level directory"},
		{"escape", rawTarball(t, &tar.Header{Name: "top/Dockerfile", Size: 1}, &tar.Header{Name: "top/../../etc/passwd", Size: 1}), "Dockerfile", ErrSource, "points outside the repository"},
		{"link escape", rawTarball(t, &tar.Header{Name: "top/Dockerfile", Size: 1}, &tar.Header{Name: "top/x", Typeflag: tar.TypeLink, Linkname: "top/../../etc/passwd"}), "Dockerfile", ErrSource, "points outside the repository"},
		{"no Dockerfile", rawTarball(t, &tar.Header{Name: "top/Makefile", Size: 1}), "Dockerfile", ErrNoDockerfile, "no Dockerfile at Dockerfile in the commit"},
		{"Dockerfile elsewhere", good, "docker/Dockerfile.hvt", ErrNoDockerfile, "no Dockerfile at docker/Dockerfile.hvt"},
		{"a directory is no Dockerfile", rawTarball(t, &tar.Header{Name: "top/Dockerfile/", Typeflag: tar.TypeDir}), "Dockerfile", ErrNoDockerfile, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := reroot(io.Discard, bytes.NewReader(tc.tarball), tc.dockerfile)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("reroot = %v, want %v containing %q", err, tc.want, tc.text)
			}
		})
	}
}

func TestBuildContext_CloseStopsAStuckSource(t *testing.T) {
	pr, pw := io.Pipe() // a tarball whose server never sends more
	defer pw.Close()
	go func() {
		zw := gzip.NewWriter(pw)
		zw.Write([]byte("partial"))
		zw.Flush()
	}()
	bc := newBuildContext(pr, "Dockerfile")
	done := make(chan error, 1)
	go func() { done <- bc.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close = %v, want nil: the failure was Close's doing", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return: the goroutine is stuck reading")
	}
}

func TestBuildContext_FailureReachesBothEnds(t *testing.T) {
	bc := newBuildContext(io.NopCloser(strings.NewReader("not a tarball")), "Dockerfile")
	if _, err := io.ReadAll(bc); !errors.Is(err, ErrSource) {
		t.Errorf("reading the context: %v, want ErrSource", err)
	}
	if err := bc.Close(); !errors.Is(err, ErrSource) {
		t.Errorf("Close = %v, want ErrSource", err)
	}
}

// TestBuildContext_Streams checks that a large repository passes through
// without being held in memory: what is allocated while 64 MiB pass is
// a small fraction of it.
func TestBuildContext_Streams(t *testing.T) {
	const size = 64 << 20
	pr, pw := io.Pipe()
	go func() {
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		tw := tar.NewWriter(zw)
		tw.WriteHeader(&tar.Header{Name: "top/Dockerfile", Size: 1, Mode: 0o644})
		tw.Write([]byte("x"))
		tw.WriteHeader(&tar.Header{Name: "top/big.img", Size: size, Mode: 0o644})
		zero := make([]byte, 1<<20)
		for range size / len(zero) {
			tw.Write(zero)
		}
		tw.Close()
		pw.CloseWithError(zw.Close())
	}()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	bc := newBuildContext(pr, "Dockerfile")
	tr := tar.NewReader(bc)
	var n int64
	for {
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		m, err := io.Copy(io.Discard, tr)
		if err != nil {
			t.Fatal(err)
		}
		n += m
	}
	if err := bc.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n != size+1 {
		t.Errorf("passed %d bytes, want %d", n, size+1)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Errorf("allocated %d MiB to pass %d MiB: the context is buffered", alloc>>20, size>>20)
	}
}
