//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package store

import (
	"os"
	"syscall"
)

// unlock drops the flock bbolt took on f. Closing f is not enough when
// bbolt panicked in Open: its memory map of the file, which nothing can
// unmap, holds the lock as long as it lives.
func unlock(f *os.File) {
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
