//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package store

import "os"

// unlock is a no-op where bbolt does not lock with flock: a damaged file
// that made bbolt panic in Open stays locked until the process exits.
func unlock(*os.File) {}
