package albatross

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// registryDirEnv makes the test binary a registry process (see TestMain):
// the benchmark's registry runs apart, with blobs on disk, so that its
// memory is not counted as the bot's.
const registryDirEnv = "ALBATROSS_TEST_REGISTRY_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(registryDirEnv); dir != "" {
		serveRegistry(dir)
		return
	}
	os.Exit(m.Run())
}

// serveRegistry serves a go-containerregistry registry on loopback with
// blobs in dir, prints its address, and exits when stdin closes.
func serveRegistry(dir string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr())
	h := ggcr.New(ggcr.WithBlobHandler(ggcr.NewDiskBlobHandler(dir)), ggcr.Logger(log.New(io.Discard, "", 0)))
	go http.Serve(ln, h)
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// startRegistryProcess runs serveRegistry in a child process.
func startRegistryProcess(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), registryDirEnv+"="+b.TempDir())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		b.Fatalf("registry process: %v", err)
	}
	return strings.TrimSpace(addr)
}

// pushBig writes a file of size random bytes, pushes an image holding it
// as unikernel.hvt (one gzip layer, streamed from disk), and returns the
// file and the image reference.
func pushBig(b *testing.B, registryAddr string, size int64) (file, ref string) {
	dir := b.TempDir()
	file = filepath.Join(dir, "unikernel.hvt")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	if _, err := io.CopyN(f, rng, size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	layerPath := filepath.Join(dir, "layer.tar.gz")
	lf, err := os.Create(layerPath)
	if err != nil {
		b.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(lf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "unikernel.hvt", Mode: 0o644, Size: size, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)})
	src, _ := os.Open(file)
	if _, err := io.Copy(tw, src); err != nil {
		b.Fatal(err)
	}
	src.Close()
	if err := errorsJoin(tw.Close(), zw.Close(), lf.Close()); err != nil {
		b.Fatal(err)
	}
	layer, err := tarball.LayerFromFile(layerPath)
	if err != nil {
		b.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		b.Fatal(err)
	}
	tag, err := name.NewTag(registryAddr+"/mirage/big:v1", name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		b.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		b.Fatal(err)
	}
	return file, registryAddr + "/mirage/big@" + d.String()
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// procKiB reads a "VmXXX:  N kB" line of /proc/self/status.
func procKiB(b *testing.B, field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// BenchmarkUpload256MiB streams a 256 MiB unikernel from a registry (in
// another process) to the host over SSH, verified on the host, and in the
// same run copies the same file to the same sshd with scp. It reports
// both throughputs, their ratio (target ≥ 0.8) and the peak RSS above
// idle during the upload (target < 64 MiB). To show where the time goes
// it also reports the same stream into a plain `cat > FILE` on the host,
// without the host-side sha256sum (nohash-MiB/s). Run it with
//
//	go test -run '^$' -bench Upload256MiB -benchtime 5x ./executors/albatross/
func BenchmarkUpload256MiB(b *testing.B) {
	const size = 256 << 20
	scp, err := exec.LookPath("scp")
	if err != nil {
		b.Skip("scp not installed: apt-get install -y --no-install-recommends openssh-client")
	}
	h := startHost(b, nil)
	file, ref := pushBig(b, startRegistryProcess(b), size)
	e := newExecutor(b, h.host(), Unikernel{Name: "big"}, Options{})
	host, port, _ := net.SplitHostPort(h.Addr)
	scpTarget := h.User + "@" + host + ":" + filepath.Join(h.Dir, "scp-copy.hvt")
	ctx := context.Background()
	noProgress := func(string) error { return nil }

	var ours, theirs, nohash time.Duration
	var peak int64
	b.ResetTimer()
	for range b.N {
		runtime.GC()
		debug.FreeOSMemory()
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Fatalf("reset peak RSS: %v", err)
		}
		idle := procKiB(b, "VmRSS")
		start := time.Now()
		c, err := e.dial(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.upload(ctx, c, ref, noProgress); err != nil {
			b.Fatal(err)
		}
		c.Close()
		ours += time.Since(start)
		peak = max(peak, procKiB(b, "VmHWM")-idle)

		start = time.Now()
		out, err := exec.Command(scp, "-q", "-P", port, "-i", h.ClientKeyFile, "-o", "BatchMode=yes",
			"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile="+h.KnownHosts, file, scpTarget).CombinedOutput()
		if err != nil {
			b.Fatalf("scp: %v\n%s", err, out)
		}
		theirs += time.Since(start)

		start = time.Now()
		streamWithoutHostHash(b, e, ref, filepath.Join(h.Dir, "nohash-copy.hvt"))
		nohash += time.Since(start)
	}
	b.StopTimer()
	mbs := func(d time.Duration) float64 { return float64(size) * float64(b.N) / (1 << 20) / d.Seconds() }
	b.ReportMetric(mbs(ours), "MiB/s")
	b.ReportMetric(mbs(theirs), "scp-MiB/s")
	b.ReportMetric(mbs(ours)/mbs(theirs), "x-scp")
	b.ReportMetric(mbs(nohash), "nohash-MiB/s")
	b.ReportMetric(float64(peak)/1024, "peak-MiB-above-idle")
}

// streamWithoutHostHash is upload's stream (registry, flattening, our
// SHA-256, SSH) into a plain `cat > dst`: what the transfer costs
// without the host's sha256sum.
func streamWithoutHostHash(b *testing.B, e *Executor, ref, dst string) {
	ctx := context.Background()
	c, err := e.dial(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	rc, err := e.images.Export(ctx, ref)
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := findBinary(tr, e.uk.Binary)
	if err != nil {
		b.Fatal(err)
	}
	body := &hashingReader{r: io.LimitReader(tr, hdr.Size), h: sha256.New()}
	if _, err := c.run(ctx, "cat > "+shellQuote(dst), body, false); err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		b.Fatal(err)
	}
}
