package storetest

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of size (e.g. "4m") for the test and returns
// its directory, unmounted when the test ends. Mounting needs root:
// without it the test is skipped, unless CI is set, where it must run.
func SmallDisk(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "" && os.Geteuid() != 0 {
			t.Skipf("a full disk needs a tmpfs, and mounting one needs root: %v: %s", err, out)
		}
		t.Fatalf("mount a tmpfs of %s: %v: %s", size, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// Fill writes path until its disk is full and returns what frees it.
func Fill(t testing.TB, path string) (free func()) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			break
		}
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}
