package registry

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var demoImages = []DemoImage{
	{Repo: "mirage/www", Tag: "live-mirage-hvt-aaaa", Files: map[string][]byte{"unikernel.hvt": []byte("www v1")}},
	{Repo: "mirage/www", Tag: "live-mirage-hvt-bbbb", Files: map[string][]byte{"unikernel.hvt": []byte("www v2")}},
	{Repo: "ocurrent/ocaml-ci-web", Tag: "live", Files: map[string][]byte{"usr/bin/ocaml-ci-web": []byte("#!/bin/sh\n"), "etc/ocaml-ci.conf": []byte("x")}},
}

// startDemo starts the demo registry and resolves every image in it.
func startDemo(t *testing.T) (*Demo, []string) {
	t.Helper()
	d, err := StartDemo(context.Background(), demoImages)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	var refs []string
	for _, im := range demoImages {
		ref, err := newResolver(t).Resolve(context.Background(), d.Ref(im.Repo), im.Tag)
		if err != nil {
			t.Fatalf("Resolve demo image: %v", err)
		}
		refs = append(refs, ref)
	}
	return d, refs
}

func TestStartDemo(t *testing.T) {
	d1, refs1 := startDemo(t)
	d2, refs2 := startDemo(t)
	if d1.URL == d2.URL {
		t.Fatalf("two demo registries on %s", d1.URL)
	}
	seen := map[string]bool{}
	for i := range demoImages {
		_, dg1, err := SplitDigest(refs1[i])
		if err != nil {
			t.Fatal(err)
		}
		_, dg2, _ := SplitDigest(refs2[i])
		if dg1 != dg2 {
			t.Errorf("%s: digest %s on one start, %s on another", demoImages[i].Tag, dg1, dg2)
		}
		if seen[dg1] {
			t.Errorf("%s: digest %s shared with another image", demoImages[i].Tag, dg1)
		}
		seen[dg1] = true
		if err := newResolver(t).Check(context.Background(), refs1[i]); err != nil {
			t.Errorf("Check(%s): %v", refs1[i], err)
		}
	}
}

// TestStartDemo_Contents reads a demo image back as `crane export` would.
func TestStartDemo_Contents(t *testing.T) {
	d, refs := startDemo(t)
	ref, err := name.ParseReference(refs[2], name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	got := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			got[hdr.Name] = string(b)
		}
	}
	for p, want := range demoImages[2].Files {
		if got[p] != string(want) {
			t.Errorf("%s = %q, want %q", p, got[p], want)
		}
	}
	if len(got) != len(demoImages[2].Files) {
		t.Errorf("files %v, want those of %v", got, demoImages[2].Files)
	}

	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := newResolver(t).Resolve(context.Background(), d.Ref("mirage/www"), demoImages[0].Tag); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Resolve after Close: %v, want ErrUnreachable", err)
	}
}

func TestStartDemo_BadImages(t *testing.T) {
	tests := []struct {
		name string
		im   DemoImage
	}{
		{"bad tag", DemoImage{Repo: "x/y", Tag: "bad tag", Files: files}},
		{"bad repo", DemoImage{Repo: "X Y", Tag: "t", Files: files}},
		{"file above the root", DemoImage{Repo: "x/y", Tag: "t", Files: map[string][]byte{"../etc/passwd": nil}}},
		{"file is a directory", DemoImage{Repo: "x/y", Tag: "t", Files: map[string][]byte{"a": nil, "a/b": nil}}},
		{"file given twice", DemoImage{Repo: "x/y", Tag: "t", Files: map[string][]byte{"a": nil, "/a": nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := StartDemo(context.Background(), []DemoImage{tt.im})
			if err == nil {
				d.Close()
				t.Fatal("StartDemo succeeded")
			}
		})
	}
}
