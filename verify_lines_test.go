package countersign_test

import (
	"bytes"
	"fmt"
	"testing"

	cs "github.com/countersign/countersign"
)

// TestVerifier_NextBatch checks what NextBatch adds to NextLines: the
// batch ends before the first line Admit refuses, unless a line before it
// breaks the chain, and Meanwhile runs once, whatever the batch.
func TestVerifier_NextBatch(t *testing.T) {
	good := chain(t, 1500)
	edited := func(at int) [][]byte {
		lines := append([][]byte(nil), good...)
		lines[at] = bytes.Replace(lines[at], []byte(`"actor":"U1"`), []byte(`"actor":"U9"`), 1)
		return lines
	}
	for _, tc := range []struct {
		name      string
		lines     [][]byte
		refuse    int // the first line Admit refuses; -1: none
		wantCount uint64
		wantErr   bool
	}{
		{"all admitted", good, -1, 1500, false},
		{"refused first", good, 0, 0, false},
		{"refused in the middle", good, 700, 700, false},
		{"refused last", good, 1499, 1499, false},
		{"broken before the refused", edited(300), 700, 300, true},
		{"broken at the refused", edited(700), 700, 700, false},
		{"broken after the refused", edited(900), 700, 700, false},
		{"empty", nil, -1, 0, false},
	} {
		for _, workers := range []int{1, 2, 4, 0} {
			t.Run(fmt.Sprintf("%s, %d workers", tc.name, workers), func(t *testing.T) {
				var v cs.Verifier
				meanwhile := 0
				err := v.NextBatch(cs.LineBatch{
					Lines:     tc.lines,
					Workers:   workers,
					Meanwhile: func() { meanwhile++ },
					Admit:     func(i int) bool { return tc.refuse < 0 || i < tc.refuse },
				})
				if (err != nil) != tc.wantErr || v.Count() != tc.wantCount {
					t.Errorf("NextBatch = %v, count %d; want error %v, count %d", err, v.Count(), tc.wantErr, tc.wantCount)
				}
				if meanwhile != 1 {
					t.Errorf("Meanwhile ran %d times, want once", meanwhile)
				}
				var want cs.Verifier
				for _, l := range tc.lines[:tc.wantCount] {
					if err := want.Next(l); err != nil {
						t.Fatal(err)
					}
				}
				if v.Head() != want.Head() {
					t.Errorf("head %.12s, want %.12s", v.Head(), want.Head())
				}
			})
		}
	}
}

// TestVerifier_NextLinesSeqs checks that NextLines's fast reading of the
// seq agrees with Next's on the seqs it reads differently: leading zeros,
// the most digits, and past them (2^64+300 wraps to 300).
func TestVerifier_NextLinesSeqs(t *testing.T) {
	good := chain(t, 600)
	for _, seq := range []string{"0300", "00000000000000000000300", "300x", "3 00", "", "18446744073709551916", "10000000000000000000"} {
		lines := append([][]byte(nil), good...)
		lines[299] = rehash(bytes.Replace(lines[299], []byte(`{"seq":300,`), []byte(`{"seq":`+seq+`,`), 1))
		var want cs.Verifier
		var wantErr error
		for _, l := range lines {
			if wantErr = want.Next(l); wantErr != nil {
				break
			}
		}
		for _, workers := range []int{1, 2} {
			var got cs.Verifier
			gotErr := got.NextLines(lines, workers)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || got.Count() != want.Count() || got.Head() != want.Head() {
				t.Errorf("seq %q, %d workers: NextLines = %v, count %d; Next gives %v, count %d", seq, workers, gotErr, got.Count(), wantErr, want.Count())
			}
		}
	}
}
