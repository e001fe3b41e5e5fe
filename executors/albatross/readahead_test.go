package albatross

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
	"time"
)

func TestReadAhead_ReadsEverythingInOrder(t *testing.T) {
	data := make([]byte, 1<<20+123)
	rand.NewChaCha8([32]byte{7}).Read(data)
	for _, tc := range []struct {
		name        string
		size, count int
		src         func() io.Reader
	}{
		{"large reads", 64 << 10, 4, func() io.Reader { return bytes.NewReader(data) }},
		{"one byte at a time", 1000, 2, func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }},
		{"data with EOF", 4096, 3, func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }},
		{"one block", len(data) * 2, 1, func() io.Reader { return bytes.NewReader(data) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newReadAhead(tc.src(), tc.size, tc.count, nil)
			defer a.Close()
			if err := iotest.TestReader(a, data); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReadAhead_KeepsTheSourcesError(t *testing.T) {
	boom := errors.New("layer digest mismatch")
	a := newReadAhead(io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(boom)), 2, 2, sha256.New())
	defer a.Close()
	got, err := io.ReadAll(a)
	if string(got) != "abc" || !errors.Is(err, boom) {
		t.Errorf("ReadAll = %q, %v; want abc, %v", got, err, boom)
	}
	for range 2 {
		if n, err := a.Read(make([]byte, 8)); n != 0 || !errors.Is(err, boom) {
			t.Errorf("Read after the error = %d, %v", n, err)
		}
	}
}

// TestReadAhead_CloseStopsReading closes a read-ahead whose reader has
// stopped reading: the goroutine ends, the source is read no further
// than the buffer, and Read says it was closed.
func TestReadAhead_CloseStopsReading(t *testing.T) {
	for _, h := range []hash.Hash{nil, sha256.New()} {
		closeStopsReading(t, h)
	}
}

func closeStopsReading(t *testing.T, h hash.Hash) {
	src := &countingReader{}
	a := newReadAhead(src, 10, 3, h)
	if _, err := io.ReadFull(a, make([]byte, 15)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.Close(); a.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if src.n > 50 {
		t.Errorf("the source was read %d bytes ahead, want at most the buffer and one block", src.n)
	}
	buf := make([]byte, 100)
	var err error
	for err == nil {
		_, err = a.Read(buf)
	}
	if !errors.Is(err, errReadAheadClosed) {
		t.Errorf("Read after Close: %v, want errReadAheadClosed", err)
	}
}

// countingReader is an endless source that counts what it gave.
type countingReader struct{ n int }

func (r *countingReader) Read(p []byte) (int, error) {
	clear(p)
	r.n += len(p)
	return len(p), nil
}

// TestReadAhead_HashesWhatItGives: the hash stage sees every byte, in
// order, whether the reader reads or has it written (WriteTo).
func TestReadAhead_HashesWhatItGives(t *testing.T) {
	data := make([]byte, 1<<20+77)
	rand.NewChaCha8([32]byte{9}).Read(data)
	want := sha256.Sum256(data)
	for _, viaWriteTo := range []bool{false, true} {
		h := sha256.New()
		a := newReadAhead(iotest.HalfReader(bytes.NewReader(data)), 4096, 4, h)
		var got bytes.Buffer
		var err error
		if viaWriteTo {
			_, err = a.WriteTo(&got)
		} else {
			_, err = io.Copy(&got, struct{ io.Reader }{a})
		}
		a.Close()
		if err != nil || !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("WriteTo %v: %d bytes, %v; want the %d bytes", viaWriteTo, got.Len(), err, len(data))
		}
		if sum := h.Sum(nil); !bytes.Equal(sum, want[:]) {
			t.Errorf("WriteTo %v: hash %s, want %s", viaWriteTo, hex.EncodeToString(sum), hex.EncodeToString(want[:]))
		}
	}
}

// TestReadAhead_WriteToStopsAtAFailedWrite: a write error ends WriteTo
// with that error, and a source's error other than EOF comes through.
func TestReadAhead_WriteToStopsAtAFailedWrite(t *testing.T) {
	a := newReadAhead(bytes.NewReader(make([]byte, 100)), 10, 2, nil)
	defer a.Close()
	full := errors.New("disk full")
	if _, err := a.WriteTo(failingWriter{full}); !errors.Is(err, full) {
		t.Errorf("WriteTo into a failing writer: %v, want %v", err, full)
	}
	boom := errors.New("layer digest mismatch")
	b := newReadAhead(io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(boom)), 2, 2, sha256.New())
	defer b.Close()
	var got bytes.Buffer
	if n, err := b.WriteTo(&got); n != 3 || !errors.Is(err, boom) {
		t.Errorf("WriteTo of a failing source = %d, %v; want 3, %v", n, err, boom)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }
