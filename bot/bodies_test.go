package bot_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/countersign/countersign/bot"
)

func TestBodyBudget_Read(t *testing.T) {
	const max = 1 << 20
	long := strings.Repeat("x", 600<<10)
	for _, tc := range []struct {
		name    string
		held    int64 // taken from the budget before, by another body
		body    io.Reader
		size    int64
		want    string
		wantErr error
	}{
		{name: "declared length", body: strings.NewReader("hello"), size: 5, want: "hello"},
		{name: "unknown length", body: strings.NewReader(long), size: -1, want: long},
		{name: "longer than declared", body: strings.NewReader(long), size: 10, want: long},
		{name: "one byte at a time", body: iotest.OneByteReader(strings.NewReader(long)), size: -1, want: long},
		{name: "empty", body: strings.NewReader(""), size: 0, want: ""},
		{name: "declared over the budget", body: strings.NewReader("x"), size: max + 1, wantErr: bot.ErrBodyBudget},
		{name: "declared over what is left", held: max - 4, body: strings.NewReader("hello"), size: 5, wantErr: bot.ErrBodyBudget},
		{name: "grows over the budget", body: strings.NewReader(strings.Repeat("x", max+1)), size: -1, wantErr: bot.ErrBodyBudget},
		{name: "reader error", body: iotest.ErrReader(io.ErrUnexpectedEOF), size: -1, wantErr: io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &bot.BodyBudget{Max: max}
			var other *bot.Body
			if tc.held > 0 {
				var err error
				if other, err = b.Read(strings.NewReader(""), tc.held, io.Discard); err != nil {
					t.Fatal(err)
				}
			}
			sum := sha256.New()
			body, err := b.Read(tc.body, tc.size, sum)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Read: %v, want %v", err, tc.wantErr)
			}
			if err == nil {
				if string(body.Bytes) != tc.want {
					t.Errorf("read %d bytes, want %d", len(body.Bytes), len(tc.want))
				}
				if want := sha256.Sum256([]byte(tc.want)); !bytes.Equal(sum.Sum(nil), want[:]) {
					t.Error("the hash written as it read is not the body's")
				}
				body.Release()
				body.Release() // twice is harmless
			}
			other.Release()
			// Everything given back: the whole budget can be taken again.
			whole, err := b.Read(strings.NewReader(""), max, io.Discard)
			if err != nil {
				t.Fatalf("the budget was not given back whole: %v", err)
			}
			whole.Release()
		})
	}
}

func TestBodyBudget_Default(t *testing.T) {
	var b bot.BodyBudget
	if got := b.Size(); got != bot.DefaultBodyBudget {
		t.Errorf("Size() = %d, want %d", got, bot.DefaultBodyBudget)
	}
	if _, err := b.Read(strings.NewReader(""), bot.DefaultBodyBudget+1, io.Discard); !errors.Is(err, bot.ErrBodyBudget) {
		t.Errorf("a body over the default budget: %v, want ErrBodyBudget", err)
	}
}

// TestBodyBudget_ShortBodies: however short, a body holds 32 KiB of the
// budget, so that the number read at once is bounded too.
func TestBodyBudget_ShortBodies(t *testing.T) {
	b := &bot.BodyBudget{Max: 64 << 10}
	var held []*bot.Body
	for i := range 2 {
		body, err := b.Read(strings.NewReader("x"), 1, io.Discard)
		if err != nil {
			t.Fatalf("short body %d: %v", i, err)
		}
		held = append(held, body)
	}
	if _, err := b.Read(strings.NewReader("x"), 1, io.Discard); !errors.Is(err, bot.ErrBodyBudget) {
		t.Errorf("a third short body in a 64 KiB budget: %v, want ErrBodyBudget", err)
	}
	held[0].Release()
	body, err := b.Read(strings.NewReader("x"), 1, io.Discard)
	if err != nil || string(body.Bytes) != "x" {
		t.Errorf("a short body once one is given back: %q, %v", body.Bytes, err)
	}
}

// TestBodyBudget_ReusedBuffers reads short bodies one after another and
// side by side: a released body's buffer may serve the next one, but a
// body held must never share its bytes with another.
func TestBodyBudget_ReusedBuffers(t *testing.T) {
	b := &bot.BodyBudget{}
	first, err := b.Read(strings.NewReader("first body"), 10, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	first.Release()
	for i, text := range []string{"second", "a third, longer body", "4th", ""} {
		held, err := b.Read(strings.NewReader("held "+text), int64(len(text)+5), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		other, err := b.Read(strings.NewReader(text), int64(len(text)), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if string(other.Bytes) != text || string(held.Bytes) != "held "+text {
			t.Errorf("%d: read %q and %q, want %q and %q", i, other.Bytes, held.Bytes, text, "held "+text)
		}
		other.Release()
		held.Release()
	}
}
