package e2e

import (
	"archive/tar"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// healthSpec is what the stack's healthcheck needs of the binary.
const healthSpec = "`countersign health [--url URL] [--timeout 5s]`: GET URL (default http://127.0.0.1:8080/healthz), " +
	"exit 0 on 200, 1 otherwise, 2 on bad usage"

// The image's user, as the repository's Dockerfile makes it.
const imageUID = 65532

// imageChanges are the repository's Dockerfile's instructions after its
// files, for `docker import --change`.
var imageChanges = []string{
	"USER 65532:65532",
	"WORKDIR /var/lib/countersign",
	"EXPOSE 8080",
	`ENTRYPOINT ["/usr/local/bin/countersign"]`,
	`CMD ["serve", "--config", "/etc/countersign/countersign.yaml"]`,
}

// buildImage makes the image the repository's Dockerfile makes, FROM
// scratch (no base image can be pulled here), with ca as its CA bundle:
// a root file system written here and `docker import`ed with the
// Dockerfile's USER, WORKDIR, EXPOSE, ENTRYPOINT and CMD, which is several
// times quicker than `docker build` with the legacy builder. It is tagged
// countersign-e2e:RUN and removed at cleanup, with the -v2 tag the
// upgrade adds.
func buildImage(t *testing.T, dir, run, bin string, ca []byte) string {
	t.Helper()
	type file struct {
		name, from, text string
		mode             int64
		uid              int
	}
	files := []file{
		{name: "etc/passwd", text: "countersign:x:65532:65532:countersign:/var/lib/countersign:/sbin/nologin\n", mode: 0o644},
		{name: "etc/group", text: "countersign:x:65532:\n", mode: 0o644},
		{name: "etc/ssl/certs/ca-certificates.crt", text: string(ca), mode: 0o644},
		{name: "var/lib/countersign/", mode: 0o755, uid: imageUID},
		{name: "usr/local/bin/countersign", from: bin, mode: 0o755},
	}
	// The stack's healthcheck runs `countersign health`; without it the
	// task would never turn healthy, and the wait would say less than this.
	probe, _ := exec.Command(bin, "health", "--url", "http://127.0.0.1:1/healthz").CombinedOutput()
	if strings.Contains(string(probe), `unknown command "health"`) {
		t.Fatalf("countersign has no health subcommand, which the healthcheck of %s runs (the image is FROM scratch: no shell, no curl). Wanted: %s",
			stackPath, healthSpec)
	}

	rootfs := filepath.Join(dir, "rootfs.tar")
	f, err := os.Create(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	dirs := map[string]bool{}
	for _, fl := range files {
		// Parent directories first, root-owned, as COPY makes them.
		for i := range fl.name {
			if p := fl.name[:i+1]; fl.name[i] == '/' && p != fl.name && !dirs[p] {
				dirs[p] = true
				writeTar(t, tw, &tar.Header{Name: p, Typeflag: tar.TypeDir, Mode: 0o755}, nil)
			}
		}
		h := &tar.Header{Name: fl.name, Mode: fl.mode, Uid: fl.uid, Gid: fl.uid, Typeflag: tar.TypeReg}
		if strings.HasSuffix(fl.name, "/") {
			h.Typeflag = tar.TypeDir
			dirs[fl.name] = true
		}
		body := []byte(fl.text)
		if fl.from != "" {
			if body, err = os.ReadFile(fl.from); err != nil {
				t.Fatal(err)
			}
		}
		writeTar(t, tw, h, body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	image := imageRepo + ":" + run
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		docker(ctx, nil, nil, "image", "rm", "--force", image, image+"-v2")
	})
	args := []string{"import"}
	for _, c := range imageChanges {
		args = append(args, "--change", c)
	}
	mustDocker(t, append(args, rootfs, image)...)
	return image
}

// writeTar writes h and, for a file, its body.
func writeTar(t *testing.T, tw *tar.Writer, h *tar.Header, body []byte) {
	t.Helper()
	if h.Typeflag == tar.TypeReg {
		h.Size = int64(len(body))
	}
	h.ModTime = time.Unix(0, 0)
	if err := tw.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
}
