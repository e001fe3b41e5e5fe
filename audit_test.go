package countersign_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

// chain seals n events in order and returns their lines.
func chain(t *testing.T, n int) [][]byte {
	t.Helper()
	prev := cs.GenesisHash
	var lines [][]byte
	for i := 1; i <= n; i++ {
		e := cs.Event{Time: time.Date(2026, 11, 22, 10, 0, i, 123456789, time.UTC), Kind: cs.EventApprovalGranted,
			Actor: "U1", Request: "R1", Action: cs.ActionDeploy, Target: "www",
			Detail: json.RawMessage(`{"b": 1, "a": "x"}`)}
		line, err := e.Seal(uint64(i), prev)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
		prev = e.Hash
	}
	return lines
}

func TestEvent_Seal(t *testing.T) {
	lines := chain(t, 2)
	got := string(lines[0])
	for _, want := range []string{
		`{"seq":1,"time":"2026-11-22T10:00:01.123456Z","kind":"approval.granted","actor":"U1","request":"R1","action":"deploy","target":"www","detail":{"a":"x","b":1},"prev":"` + cs.GenesisHash + `","hash":"`,
	} {
		if !strings.HasPrefix(got, want) {
			t.Errorf("line = %s\nwant prefix %s", got, want)
		}
	}
	e, err := cs.ParseEvent(lines[1])
	if err != nil {
		t.Fatal(err)
	}
	first, _ := cs.ParseEvent(lines[0])
	if e.Prev != first.Hash {
		t.Errorf("record 2 prev = %s, want record 1 hash %s", e.Prev, first.Hash)
	}
	// Re-sealing a parsed record gives the same bytes: the encoding is canonical.
	again, err := e.Seal(e.Seq, e.Prev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, lines[1]) {
		t.Errorf("re-sealed\n%s\nwant\n%s", again, lines[1])
	}
}

func TestVerifier(t *testing.T) {
	verify := func(lines [][]byte) (*cs.Verifier, error) {
		var v cs.Verifier
		for _, l := range lines {
			if err := v.Next(l); err != nil {
				return &v, err
			}
		}
		return &v, nil
	}
	good := chain(t, 5)
	v, err := verify(good)
	if err != nil {
		t.Fatalf("good chain: %v", err)
	}
	if v.Count() != 5 {
		t.Errorf("count = %d, want 5", v.Count())
	}
	last, _ := cs.ParseEvent(good[4])
	if v.Head() != last.Hash {
		t.Errorf("head = %s, want %s", v.Head(), last.Hash)
	}

	clone := func() [][]byte {
		out := make([][]byte, len(good))
		for i, l := range good {
			out[i] = append([]byte(nil), l...)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		mutate  func([][]byte) [][]byte
		wantIdx uint64
		want    string
	}{
		{"edited", func(l [][]byte) [][]byte {
			l[2] = bytes.Replace(l[2], []byte(`"actor":"U1"`), []byte(`"actor":"U9"`), 1)
			return l
		}, 3, "edited"},
		{"edited and rehashed", func(l [][]byte) [][]byte {
			e, _ := cs.ParseEvent(l[2])
			e.Actor = "U9"
			l[2], _ = e.Seal(e.Seq, e.Prev)
			return l
		}, 4, "does not match the hash of the record before"},
		{"deleted", func(l [][]byte) [][]byte { return append(l[:1], l[2:]...) }, 2, "missing (deleted) or out of order"},
		{"reordered", func(l [][]byte) [][]byte { l[1], l[2] = l[2], l[1]; return l }, 2, "missing"},
		{"inserted", func(l [][]byte) [][]byte {
			return append(l[:2], append([][]byte{l[1]}, l[2:]...)...)
		}, 3, "out of order or inserted"},
		{"not canonical", func(l [][]byte) [][]byte { l[0] = []byte(`{"kind":"x"}`); return l }, 1, "not a canonical"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify(tc.mutate(clone()))
			var ce *cs.ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ChainError", err)
			}
			if !errors.Is(err, cs.ErrChainBroken) {
				t.Errorf("err does not wrap ErrChainBroken")
			}
			if ce.Index != tc.wantIdx || !strings.Contains(ce.Reason, tc.want) {
				t.Errorf("err = %v, want record %d: …%s…", err, tc.wantIdx, tc.want)
			}
		})
	}
}

func TestDetailJSON_RedactsSecrets(t *testing.T) {
	d, err := cs.DetailJSON(map[string]any{"token": cs.NewSecret("xoxb-very-secret"), "n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(d), `{"n":1,"token":"[redacted]"}`; got != want {
		t.Errorf("detail = %s, want %s", got, want)
	}
}
