package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"unsafe"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	cs "github.com/countersign/countersign"
)

// A damaged file: a bad sector, a stray write, a copy cut short. bbolt
// trusts its pages: it follows whatever page numbers and offsets it finds
// and panics (an assertion, an index out of range) or faults on the
// memory map when they are wrong, in Open, in a read and in its own
// consistency check; a key or value whose size runs past the file faults
// wherever it is read. This file draws the line at the store's boundary:
// a panic raised inside bbolt, or a fault, becomes an error wrapping
// ErrDamaged, and Options.CheckOnOpen finds damaged pages (pagewalk.go)
// before anything relies on them.
//
// bbolt keeps no checksum of keys and values, so damage inside a record
// passes every check here; the audit chain catches it (recordProblem).

// ErrDamaged is wrapped by the errors about a damaged database file. The
// error names the damaged page, bucket or record when it is known. Restore
// the file from a backup.
var ErrDamaged = errors.New("database file is damaged")

// maxProblems bounds how many of bbolt's findings an error lists.
const maxProblems = 5

// protect runs fn and turns a panic raised inside bbolt, or a fault on
// its memory map, into an error wrapping ErrDamaged, logged with its
// stack. Another panic — a bug in a caller's function — goes on as it
// was. Faults become panics while fn runs: a page number pointing past
// the file, or a key or value running past it, which faults wherever the
// bytes are read (in hash/crc32 or encoding/json as well as in bbolt).
func protect(log *slog.Logger, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if !isDamage(p) {
				panic(p)
			}
			err = damaged(p)
			log.Error("store: bbolt panicked: the database file is damaged", "err", err, "stack", string(debug.Stack()))
		}
	}()
	return fn()
}

// damageError is what bbolt panicked with, and where the store was
// reading when it is known.
type damageError struct {
	where string // "bucket audit, after record 37"
	what  string
}

func (e *damageError) Error() string {
	if e.where == "" {
		return ErrDamaged.Error() + ": " + e.what
	}
	return ErrDamaged.Error() + ": " + e.where + ": " + e.what
}

func (e *damageError) Unwrap() error { return ErrDamaged }

// damaged is the error for what bbolt panicked with.
func damaged(p any) error {
	var what string
	switch p := p.(type) {
	case interface{ Addr() uintptr }: // a fault on the memory map
		what = "a page number points past the end of the file"
	case error:
		what = p.Error()
	case string:
		what = p
	default:
		what = fmt.Sprint(p)
	}
	return &damageError{what: strings.TrimPrefix(what, "assertion failed: ")}
}

// damagedAt says where in the file err, if it is a damageError without a
// place yet, was found.
func damagedAt(err error, at position) error {
	if de, ok := errors.AsType[*damageError](err); ok && de.where == "" && at.bucket != "" {
		de.where = at.String()
	}
	return err
}

// isDamage reports whether the panic p being recovered is the damaged
// file's doing: raised inside bbolt, or a fault on memory (SetPanicOnFault
// turns only faults at an address, never a nil dereference, into a panic
// with an address, and only the memory map can fault so in this package).
// Call it from the deferred function that recovered.
func isDamage(p any) bool {
	if _, fault := p.(interface{ Addr() uintptr }); fault {
		return true
	}
	return fromBolt()
}

// fromBolt reports whether the panic being recovered was raised inside
// bbolt: whether the first frame below runtime.gopanic that is not the
// runtime's own (a bounds check, a fault) is bbolt's. Call it from the
// deferred function that recovered.
func fromBolt() bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case !panicking:
			panicking = f.Function == "runtime.gopanic"
		case strings.HasPrefix(f.Function, "runtime."):
		default:
			return strings.HasPrefix(f.Function, "go.etcd.io/bbolt")
		}
		if !more {
			return false
		}
	}
}

// openBolt is bolt.Open that fails with ErrDamaged on a file it cannot
// read. bbolt panics in Open on a damaged freelist page after it has
// locked and mapped the file; then the file is unlocked and closed. (The
// memory map is not reachable to unmap; it lasts until the process exits.)
func openBolt(path string, o *bolt.Options, log *slog.Logger) (*bolt.DB, error) {
	// bbolt makes a new database of an empty file: the history gone and
	// request IDs from R1 again. Only a missing file means new.
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return nil, &damageError{what: "the file is empty (0 bytes); restore it from a backup, or remove it to start a new database"}
	}
	var file *os.File
	openFile := o.OpenFile
	if openFile == nil {
		openFile = os.OpenFile
	}
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := openFile(name, flag, perm)
		if file == nil {
			file = f
		}
		return f, err
	}
	var b *bolt.DB
	err := protect(log, func() error {
		var err error
		b, err = bolt.Open(path, 0o600, o)
		return err
	})
	switch {
	case errors.Is(err, ErrDamaged):
		if file != nil {
			unlock(file)
			file.Close()
		}
	case errors.Is(err, bolterrors.ErrInvalid):
		err = &damageError{what: err.Error() + " (or not a countersign database)"}
	case errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrInvalidMapping), errors.Is(err, bolterrors.ErrVersionMismatch):
		err = &damageError{what: err.Error()}
	}
	return b, err
}

// check looks for damage in the whole file. First it reads every bucket,
// key and value here, where a panic or fault is caught and named by bucket
// and key; then, once every page bbolt can reach has been read safely, it
// runs bbolt's consistency check (tx.Check, which reads pages on a
// goroutine of its own), which finds what reading alone does not: pages
// lost, referenced twice or freed while in use, and keys out of order.
// There must be no writer meanwhile.
func check(b *bolt.DB, log *slog.Logger) error {
	fi, err := os.Stat(b.Path())
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	start := b.Info().Data
	at := position{start: start, end: start + uintptr(fi.Size())}
	err = protect(log, func() error {
		return b.View(func(btx *bolt.Tx) error {
			c := btx.Cursor()
			for name, _ := c.First(); name != nil; name, _ = c.Next() {
				at.bucket, at.key = string(name), nil
				bk := btx.Bucket(name)
				if bk == nil {
					return &damageError{what: "top-level key " + keyName(name) + " is not a bucket"}
				}
				if err := at.read(bk, string(name)); err != nil {
					return err
				}
				at.bucket = ""
			}
			return nil
		})
	})
	if err != nil {
		return damagedAt(err, at)
	}
	return b.View(func(btx *bolt.Tx) error {
		root, err := rootPage(b.Path(), b.Info().PageSize, btx.ID())
		if err != nil {
			return err
		}
		if err := walkPages(b.Path(), b.Info().PageSize, root); err != nil {
			return err
		}
		var problems []string
		n := 0
		for err := range btx.Check() {
			if n++; n <= maxProblems {
				problems = append(problems, err.Error())
			}
		}
		if n > maxProblems {
			problems = append(problems, fmt.Sprintf("and %d more", n-maxProblems))
		}
		if n > 0 {
			return &damageError{what: strings.Join(problems, "; ")}
		}
		return nil
	})
}

// position is how far check's read got: the bucket and the last key read.
type position struct {
	bucket string
	key    []byte
	sum    uint32 // of every byte read, so that reading them is not optimised away

	// Where the file is mapped. A damaged size in a page makes a key or
	// value reach past the file: into the rest of the memory map, where
	// reading it faults, or beyond, where it reads whatever is there.
	start, end uintptr
}

// reach is how far past the file a damaged page can point a key or value:
// an element's offset and sizes are 32 bits each.
const reach = 3 << 32

// inFile reports whether b, if it points into the memory map or past it
// within reach, lies in the file. A slice elsewhere is a copy bbolt made
// (of an inline bucket that is not aligned) and safe to read.
func (at *position) inFile(b []byte) bool {
	p := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	start, end := uint64(at.start), uint64(at.end)
	if len(b) == 0 || p < start || p >= end+reach {
		return true
	}
	return p < end && uint64(len(b)) <= end-p
}

// read reads every key and value of b, and its nested buckets.
func (at *position) read(b *bolt.Bucket, name string) error {
	at.bucket, at.key = name, nil
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if !at.inFile(k) || !at.inFile(v) {
			return &damageError{what: "a key or value runs past the end of the file"}
		}
		at.sum = crc32.Update(at.sum, crc32.IEEETable, k)
		at.key = k
		if v != nil {
			at.sum = crc32.Update(at.sum, crc32.IEEETable, v)
			continue
		}
		child := b.Bucket(k)
		if child == nil {
			return &damageError{what: "the key holds neither a value nor a bucket"}
		}
		if err := at.read(child, name+"/"+keyName(k)); err != nil {
			return err
		}
		at.bucket, at.key = name, k
	}
	return nil
}

func (at position) String() string {
	if at.key == nil {
		return "bucket " + at.bucket + ", at its first key"
	}
	what := "key"
	if at.bucket == string(bucketAudit) {
		what = "record"
	}
	return fmt.Sprintf("bucket %s, after %s %s", at.bucket, what, keyName(at.key))
}

// keyName shows a key of layout.go: a number, a name and a number, or a
// name; anything else in hex.
func keyName(k []byte) string {
	if len(k) == 8 {
		return strconv.FormatUint(binary.BigEndian.Uint64(k), 10)
	}
	if i := len(k) - 9; i >= 0 && k[i] == 0 && printable(k[:i]) {
		return strconv.Quote(string(k[:i])) + "/" + strconv.FormatUint(binary.BigEndian.Uint64(k[i+1:]), 10)
	}
	if printable(k) {
		return strconv.Quote(string(k))
	}
	return fmt.Sprintf("%x", k)
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return len(b) > 0
}

// recordProblem says what is wrong with a record in itself, or "" when
// it is sound and only its place in the chain is wrong. A record that
// cannot be decoded, or whose hash is not the hash of its contents, is
// damaged (or was edited) wherever it sits: that, not "moved" or "a
// record before it changed", is what the chain must report for it.
func recordProblem(line []byte) string {
	e, err := cs.ParseEvent(line)
	if err != nil {
		return "cannot be decoded: " + decodeCause(err).Error()
	}
	hash := e.Hash
	if _, err := e.Seal(e.Seq, e.Prev); err != nil {
		return "cannot be decoded: " + err.Error()
	}
	if e.Hash != hash {
		return "hash does not match the record's contents: the record is damaged or was edited"
	}
	return ""
}

// blame puts the fault of a chain error on the record itself when
// recordProblem finds one, and fills in the seq (0: unknown) when the
// Verifier could not read it.
func blame(err error, seq uint64, line []byte) error {
	ce, ok := errors.AsType[*cs.ChainError](err)
	if !ok {
		return err
	}
	if ce.Seq == 0 {
		ce.Seq = seq
	}
	if why := recordProblem(line); why != "" {
		ce.Reason = why
	}
	return err
}
