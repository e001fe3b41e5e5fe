package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// FileError is a file the config names (or the config itself) that is
// not something to read: not a regular file, or too large. Its message
// completes a sentence that starts with the file's name.
type FileError struct{ msg string }

func (e *FileError) Error() string { return e.msg }

// readRegular reads the regular file at path, at most limit bytes, and
// returns its contents and mode. Symbolic links are followed (Docker and
// Kubernetes secrets are often links). It opens with O_NONBLOCK, so a
// FIFO cannot stall start-up waiting for a writer, and refuses anything
// but a regular file (FIFO, socket, device, directory) with a
// *FileError, as it does a file over limit. Other errors are the
// *fs.PathError of open or read.
func readRegular(path string, limit int64) ([]byte, fs.FileMode, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		// A socket cannot be opened at all (ENXIO): say what it is.
		if st, serr := os.Stat(path); serr == nil && !st.Mode().IsRegular() {
			return nil, st.Mode(), notRegular(st.Mode())
		}
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	mode := st.Mode()
	if !mode.IsRegular() {
		return nil, mode, notRegular(mode)
	}
	if st.Size() > limit {
		return nil, mode, tooLarge(st.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, mode, err
	}
	if int64(len(b)) > limit { // grew since the stat
		return nil, mode, tooLarge(int64(len(b)), limit)
	}
	return b, mode, nil
}

func notRegular(m fs.FileMode) error {
	return &FileError{fmt.Sprintf("is %s, not a regular file", fileKind(m))}
}

func tooLarge(size, limit int64) error {
	return &FileError{fmt.Sprintf("is %d bytes; the limit is %s", size, sizeName(limit))}
}

// sizeName writes a limit of whole KiB or MiB as such.
func sizeName(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// fileKind names what a file that is not regular is.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a file of type " + m.Type().String()
}

// readFile reads the local file (resolved) named at path, reporting there
// why it cannot be; ok is false then.
func (d *decoder) readFile(path, file string, limit int64) (data []byte, mode fs.FileMode, ok bool) {
	data, mode, err := readRegular(file, limit)
	var fe *FileError
	switch {
	case errors.As(err, &fe):
		d.AddAt(path, "%s %v", quotePath(file), fe)
		return nil, mode, false
	case err != nil:
		d.AddAt(path, "cannot read %s: %v", quotePath(file), pathErrorCause(err))
		return nil, mode, false
	}
	return data, mode, true
}
