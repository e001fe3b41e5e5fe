package countersign_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

// sealedSamples are lines ParseSealed must read itself, and lines it
// must leave to ParseEvent.
func sealedSamples(t testing.TB) (plain, escaped [][]byte) {
	t.Helper()
	seal := func(e cs.Event, seq uint64) []byte {
		if e.Time.IsZero() {
			e.Time = time.Date(2026, 11, 22, 10, 0, 1, 123456789, time.UTC)
		}
		line, err := e.Seal(seq, strings.Repeat("ab", 32))
		if err != nil {
			t.Fatal(err)
		}
		return line
	}
	plain = append(plain, chain(t.(*testing.T), 3)...)
	for i, d := range []string{
		`{}`, `[]`, `null`, `true`, `"x"`, `-0.5e+10`, `12345678901234567890123`,
		`{"z": [1, 2.0, {"b": null, "a": false}], "a": "é ✓ 🙂 <&>", "m": {}}`,
		`[[[]]]`, `{"a": [], "b": {"c": "d"}}`,
	} {
		plain = append(plain, seal(cs.Event{Kind: "k", Actor: "U1", Detail: json.RawMessage(d)}, uint64(i+1)))
	}
	plain = append(plain,
		seal(cs.Event{Kind: "k", Actor: "", Target: "svc é"}, 7),
		seal(cs.Event{Kind: "k", Actor: "slack:U1", Action: cs.ActionDeploy}, 1<<62),
		seal(cs.Event{Kind: "k", Actor: "U1", Request: "R9", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))}, 3),
	)
	for _, e := range []cs.Event{
		{Kind: "k", Actor: `quote " in`},
		{Kind: "k", Actor: "U1", Target: "tab\there"},
		{Kind: "k", Actor: "U1", Detail: json.RawMessage(`{"a": "back\\slash"}`)},
		{Kind: "k", Actor: "U1", Detail: json.RawMessage(`{"a": "line\u2028sep"}`)},
		{Kind: "k", Actor: "U1", Detail: json.RawMessage(`{"a": "\u0001"}`)},
		{Kind: "k", Actor: "U1", Detail: json.RawMessage(strings.Repeat("[", 40) + strings.Repeat("]", 40))},
	} {
		escaped = append(escaped, seal(e, 1))
	}
	return plain, escaped
}

// sealedAgrees checks ParseSealed against ParseEvent and Seal: what it
// reads must be what ParseEvent reads, and a line whose event Seal
// writes again, byte for byte.
func sealedAgrees(t *testing.T, line []byte) (ok bool) {
	t.Helper()
	got, ok := cs.ParseSealed(line)
	if !ok {
		return false
	}
	want, err := cs.ParseEvent(line)
	if err != nil {
		t.Fatalf("ParseSealed read %s, ParseEvent refuses it: %v", line, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseSealed(%s)\n = %#v\nParseEvent gives\n   %#v", line, got, want)
	}
	again := want
	resealed, err := again.Seal(want.Seq, want.Prev)
	if err != nil || !bytes.Equal(resealed, line) || again.Hash != want.Hash {
		t.Fatalf("ParseSealed read %s, which Seal writes as %s (%v): not canonical or not its hash", line, resealed, err)
	}
	return true
}

func TestParseSealed(t *testing.T) {
	plain, escaped := sealedSamples(t)
	for _, line := range plain {
		if !sealedAgrees(t, line) {
			t.Errorf("ParseSealed refuses the canonical line %s", line)
		}
	}
	for _, line := range escaped {
		if _, ok := cs.ParseSealed(line); ok {
			t.Errorf("ParseSealed read %s, which has escapes or deep nesting", line)
		}
	}
	line := plain[0]
	edited := bytes.Replace(line, []byte(`"actor":"U1"`), []byte(`"actor":"U9"`), 1)
	if _, ok := cs.ParseSealed(edited); ok {
		t.Errorf("ParseSealed read an edited line: %s", edited)
	}
	if !sealedAgrees(t, rehash(edited)) {
		t.Errorf("ParseSealed refuses an edited line with its hash made again: %s", rehash(edited))
	}
	// The rest have hashes that match, as a forger would make them: only
	// their form gives them away.
	for name, bad := range map[string][]byte{
		"space":               bytes.Replace(line, []byte(`"seq":1`), []byte(`"seq": 1`), 1),
		"keys out of order":   bytes.Replace(line, []byte(`{"a":"x","b":1}`), []byte(`{"b":1,"a":"x"}`), 1),
		"duplicate key":       bytes.Replace(line, []byte(`{"a":"x","b":1}`), []byte(`{"a":"x","a":1}`), 1),
		"leading zero":        bytes.Replace(line, []byte(`"seq":1`), []byte(`"seq":01`), 1),
		"time not canonical":  bytes.Replace(line, []byte(`.123456Z`), []byte(`.1234560Z`), 1),
		"time zone":           bytes.Replace(line, []byte(`.123456Z`), []byte(`.123456+00:00`), 1),
		"empty request":       bytes.Replace(line, []byte(`"request":"R1"`), []byte(`"request":""`), 1),
		"fields out of order": bytes.Replace(line, []byte(`"action":"deploy","target":"www"`), []byte(`"target":"www","action":"deploy"`), 1),
		"bad number":          bytes.Replace(line, []byte(`"b":1`), []byte(`"b":1.`), 1),
		"trailing bytes":      append(append([]byte(nil), line...), ' '),
		"cut":                 line[:len(line)-1],
	} {
		if _, ok := cs.ParseSealed(rehash(bad)); ok {
			t.Errorf("%s: ParseSealed read %s", name, rehash(bad))
		}
	}
}

// rehash sets the hash field of a line that ends like a canonical one to
// the hash of the rest, as Seal computes it.
func rehash(line []byte) []byte {
	const field = len(`,"hash":"`) + 64 + len(`"}`)
	cut := len(line) - field
	if cut < 0 || !bytes.HasPrefix(line[cut:], []byte(`,"hash":"`)) || !bytes.HasSuffix(line, []byte(`"}`)) {
		return line
	}
	sum := sha256.Sum256(append(append([]byte(nil), line[:cut]...), '}'))
	out := append([]byte(nil), line[:cut+len(`,"hash":"`)]...)
	out = hex.AppendEncode(out, sum[:])
	return append(out, '"', '}')
}

func FuzzParseSealed(f *testing.F) {
	plain, escaped := sealedSamples(&testing.T{})
	for _, l := range append(plain, escaped...) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		// With a hash that matches, so that the checks of form are what
		// decides.
		sealedAgrees(t, rehash(line))
	})
}

// TestVerifier_NextLines checks NextLines against Next: the same error,
// count and head for every kind of break, wherever it is in the batch,
// and whatever the number of workers.
func TestVerifier_NextLines(t *testing.T) {
	good := chain(t, 1500)
	clone := func() [][]byte {
		out := make([][]byte, len(good))
		for i, l := range good {
			out[i] = append([]byte(nil), l...)
		}
		return out
	}
	type mutation func(l [][]byte, at int) [][]byte
	mutations := map[string]mutation{
		"none": func(l [][]byte, _ int) [][]byte { return l },
		"edited": func(l [][]byte, at int) [][]byte {
			l[at] = bytes.Replace(l[at], []byte(`"actor":"U1"`), []byte(`"actor":"U9"`), 1)
			return l
		},
		"edited and rehashed": func(l [][]byte, at int) [][]byte {
			e, _ := cs.ParseEvent(l[at])
			e.Actor = "U9"
			l[at], _ = e.Seal(e.Seq, e.Prev)
			return l
		},
		"renumbered and rehashed": func(l [][]byte, at int) [][]byte {
			e, _ := cs.ParseEvent(l[at])
			l[at], _ = e.Seal(e.Seq+1, e.Prev)
			return l
		},
		"deleted":   func(l [][]byte, at int) [][]byte { return append(l[:at], l[at+1:]...) },
		"reordered": func(l [][]byte, at int) [][]byte { l[at], l[at+1] = l[at+1], l[at]; return l },
		"inserted":  func(l [][]byte, at int) [][]byte { return append(l[:at+1], append([][]byte{l[at]}, l[at+1:]...)...) },
		"not JSON":  func(l [][]byte, at int) [][]byte { l[at] = []byte(`{"kind":"x"}`); return l },
		"bad seq": func(l [][]byte, at int) [][]byte {
			l[at] = bytes.Replace(l[at], []byte(`{"seq":`), []byte(`{"seq":x`), 1)
			return l
		},
		"prev cut": func(l [][]byte, at int) [][]byte {
			l[at] = bytes.Replace(l[at], []byte(`"prev":"`), []byte(`"prev":`), 1)
			return l
		},
		"two broken":  func(l [][]byte, at int) [][]byte { l[at+1] = []byte("x"); l[at] = []byte("y"); return l },
		"empty line":  func(l [][]byte, at int) [][]byte { l[at] = nil; return l },
		"hash edited": func(l [][]byte, at int) [][]byte { l[at][len(l[at])-3] ^= 1; return l },
	}
	for name, mutate := range mutations {
		for _, at := range []int{0, 1, 374, 375, 749, 750, 1100, 1498} {
			for _, workers := range []int{1, 2, 4, 0} {
				lines := mutate(clone(), at)
				var want cs.Verifier
				var wantErr error
				for _, l := range lines {
					if wantErr = want.Next(l); wantErr != nil {
						break
					}
				}
				var got cs.Verifier
				// Two calls, split before the break, so that the second
				// starts mid-chain.
				split := min(at/2, len(lines))
				gotErr := got.NextLines(lines[:split], workers)
				if gotErr == nil {
					gotErr = got.NextLines(lines[split:], workers)
				}
				where := fmt.Sprintf("%s at %d, %d workers", name, at, workers)
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Errorf("%s: NextLines = %v, Next gives %v", where, gotErr, wantErr)
				}
				if got.Count() != want.Count() || got.Head() != want.Head() {
					t.Errorf("%s: count %d head %.12s, Next leaves %d %.12s", where, got.Count(), got.Head(), want.Count(), want.Head())
				}
			}
		}
	}
}
