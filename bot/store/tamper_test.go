package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	cs "github.com/countersign/countersign"
)

// tamperRecords is how many records each tampering case starts from.
const tamperRecords = 10

// tamperEvent is record i+1 of a tampering case: distinct actor and target.
func tamperEvent(i int) cs.Event {
	e := lockEvent(i)
	e.Actor = cs.Actor(fmt.Sprint("U", i+1))
	e.Target = fmt.Sprint("svc-", i+1)
	return e
}

// reseal returns line with its target changed and a hash that matches the
// new contents: a careful forger's edit.
func reseal(t *testing.T, line []byte, seq uint64, prev string) []byte {
	t.Helper()
	e, err := cs.ParseEvent(line)
	if err != nil {
		t.Fatal(err)
	}
	e.Target = "forged"
	out, err := e.Seal(seq, prev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hashOf returns the hash field of a stored line.
func hashOf(t *testing.T, line []byte) string {
	t.Helper()
	e, err := cs.ParseEvent(line)
	if err != nil {
		t.Fatal(err)
	}
	return e.Hash
}

func TestVerifyAudit_Tampering(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tamper     func(t *testing.T, audit, meta *bolt.Bucket)
		index, seq uint64
		reason     string
	}{{
		name: "edited, hash kept",
		tamper: func(t *testing.T, audit, _ *bolt.Bucket) {
			line := bytes.Replace(audit.Get(u64Key(4)), []byte(`"actor":"U4"`), []byte(`"actor":"U9"`), 1)
			must(t, audit.Put(u64Key(4), line))
		},
		index: 4, seq: 4, reason: "edited",
	}, {
		name: "edited, hash recomputed",
		tamper: func(t *testing.T, audit, _ *bolt.Bucket) {
			must(t, audit.Put(u64Key(4), reseal(t, audit.Get(u64Key(4)), 4, hashOf(t, audit.Get(u64Key(3))))))
		},
		index: 5, seq: 5, reason: "does not match the hash of the record before it",
	}, {
		name: "last record edited, hash recomputed",
		tamper: func(t *testing.T, audit, _ *bolt.Bucket) {
			must(t, audit.Put(u64Key(10), reseal(t, audit.Get(u64Key(10)), 10, hashOf(t, audit.Get(u64Key(9))))))
		},
		index: 10, seq: 10, reason: "last record was replaced",
	}, {
		name:   "middle record deleted",
		tamper: func(t *testing.T, audit, _ *bolt.Bucket) { must(t, audit.Delete(u64Key(5))) },
		index:  5, seq: 6, reason: "missing",
	}, {
		name:   "last record deleted",
		tamper: func(t *testing.T, audit, _ *bolt.Bucket) { must(t, audit.Delete(u64Key(10))) },
		index:  10, seq: 10, reason: "records 10..10 were deleted",
	}, {
		name: "tail truncated",
		tamper: func(t *testing.T, audit, _ *bolt.Bucket) {
			must(t, audit.Delete(u64Key(9)))
			must(t, audit.Delete(u64Key(10)))
		},
		index: 9, seq: 9, reason: "records 9..10 were deleted",
	}, {
		name: "record inserted in the middle",
		tamper: func(t *testing.T, audit, _ *bolt.Bucket) {
			key := append(u64Key(5), 0) // sorts between 5 and 6
			must(t, audit.Put(key, reseal(t, audit.Get(u64Key(6)), 6, hashOf(t, audit.Get(u64Key(5))))))
		},
		index: 6, seq: 6, reason: "inserted",
	}, {
		name: "record appended behind meta's back",
		tamper: func(t *testing.T, audit, _ *bolt.Bucket) {
			must(t, audit.Put(u64Key(11), reseal(t, audit.Get(u64Key(10)), 11, hashOf(t, audit.Get(u64Key(10))))))
		},
		index: 11, seq: 11, reason: "inserted",
	}, {
		name: "two records swapped",
		tamper: func(t *testing.T, audit, _ *bolt.Bucket) {
			r4, r5 := bytes.Clone(audit.Get(u64Key(4))), bytes.Clone(audit.Get(u64Key(5)))
			must(t, audit.Put(u64Key(4), r5))
			must(t, audit.Put(u64Key(5), r4))
		},
		index: 4, seq: 5, reason: "swapped",
	}, {
		name: "record cut short",
		tamper: func(t *testing.T, audit, _ *bolt.Bucket) {
			line := audit.Get(u64Key(7))
			must(t, audit.Put(u64Key(7), bytes.Clone(line[:len(line)/2])))
		},
		index: 7, seq: 7, reason: "cannot be decoded",
	}, {
		name:   "head removed from meta",
		tamper: func(t *testing.T, _, meta *bolt.Bucket) { must(t, meta.Delete(metaAuditHead)) },
		index:  1, seq: 1, reason: "no head is recorded",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "countersign.db")
			db := openAt(t, path, Options{NoSync: true})
			appendN(t, db, tamperRecords, tamperEvent)
			if n, _, err := db.VerifyAudit(context.Background()); n != tamperRecords || err != nil {
				t.Fatalf("before tampering: VerifyAudit = %d, %v", n, err)
			}
			must(t, db.Close())

			b, err := bolt.Open(path, 0o600, nil)
			must(t, err)
			must(t, b.Update(func(btx *bolt.Tx) error {
				tc.tamper(t, btx.Bucket(bucketAudit), btx.Bucket(bucketMeta))
				return nil
			}))
			must(t, b.Close())

			db = openAt(t, path, Options{ReadOnly: true})
			_, _, err = db.VerifyAudit(context.Background())
			checkChainError(t, err, tc.index, tc.seq, tc.reason)
		})
	}
}

// checkChainError fails unless err wraps a ChainError for that record.
func checkChainError(t *testing.T, err error, index, seq uint64, reason string) {
	t.Helper()
	var ce *cs.ChainError
	if !errors.As(err, &ce) || !errors.Is(err, cs.ErrChainBroken) {
		t.Fatalf("got %v, want a *cs.ChainError", err)
	}
	if ce.Index != index || ce.Seq != seq || !strings.Contains(ce.Reason, reason) {
		t.Errorf("got record %d (seq %d): %q\nwant record %d (seq %d): …%s…", ce.Index, ce.Seq, ce.Reason, index, seq, reason)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestVerifyLines_Tampering(t *testing.T) {
	db := openTest(t)
	appendN(t, db, tamperRecords, tamperEvent)
	var buf bytes.Buffer
	if _, err := db.ExportAudit(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(buf.Bytes(), []byte("\n"))[:tamperRecords]
	join := func(ls ...[]byte) []byte { return bytes.Join(ls, nil) }
	for _, tc := range []struct {
		name       string
		stream     []byte
		index, seq uint64
		reason     string
	}{
		{"line removed", join(join(lines[:3]...), join(lines[4:]...)), 4, 5, "missing"},
		{"line edited", join(join(lines[:5]...), bytes.Replace(lines[5], []byte("svc-6"), []byte("svc-X"), 1), join(lines[6:]...)), 6, 6, "edited"},
		{"lines swapped", join(join(lines[:2]...), lines[3], lines[2], join(lines[4:]...)), 3, 4, "expected seq 3"},
		{"blank line inserted", join(join(lines[:2]...), []byte("\n"), join(lines[2:]...)), 3, 0, "cannot be decoded"},
		{"first line removed", join(lines[1:]...), 1, 2, "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := VerifyLines(bytes.NewReader(tc.stream))
			checkChainError(t, err, tc.index, tc.seq, tc.reason)
		})
	}

	// A cut tail leaves a valid chain: only the count and head show it.
	wantN, wantHead, err := db.VerifyAudit(context.Background())
	must(t, err)
	n, head, err := VerifyLines(bytes.NewReader(join(lines[:tamperRecords-1]...)))
	if err != nil || n != wantN-1 || head == wantHead {
		t.Errorf("truncated stream: %d, %.12s, %v; want %d records and a head other than %.12s", n, head, err, wantN-1, wantHead)
	}
}

// TestVerifyAudit_TamperingAcrossChunks tampers with a trail of more
// records than one chunk of verifyRecords holds, around the chunks'
// bounds, where the cursor and the hashing goroutines hand over: the
// first bad record is blamed as in one chunk.
func TestVerifyAudit_TamperingAcrossChunks(t *testing.T) {
	const records = 2*verifyChunk + 300
	template := filepath.Join(t.TempDir(), "template.db")
	db := openAt(t, template, Options{NoSync: true})
	appendN(t, db, records, tamperEvent)
	must(t, db.Close())
	data, err := os.ReadFile(template)
	must(t, err)

	type tampering struct {
		name       string
		tamper     func(t *testing.T, audit *bolt.Bucket, s uint64)
		index, seq func(s uint64) uint64
		reason     string
	}
	same := func(s uint64) uint64 { return s }
	after := func(s uint64) uint64 { return s + 1 }
	for _, tc := range []tampering{{
		name: "edited, hash kept",
		tamper: func(t *testing.T, audit *bolt.Bucket, s uint64) {
			line := bytes.Replace(audit.Get(u64Key(s)), fmt.Appendf(nil, `"actor":"U%d"`, s), []byte(`"actor":"U0"`), 1)
			must(t, audit.Put(u64Key(s), line))
		},
		index: same, seq: same, reason: "edited",
	}, {
		name: "edited, hash recomputed",
		tamper: func(t *testing.T, audit *bolt.Bucket, s uint64) {
			must(t, audit.Put(u64Key(s), reseal(t, audit.Get(u64Key(s)), s, hashOf(t, audit.Get(u64Key(s-1))))))
		},
		index: after, seq: after, reason: "does not match the hash of the record before it",
	}, {
		name:   "deleted",
		tamper: func(t *testing.T, audit *bolt.Bucket, s uint64) { must(t, audit.Delete(u64Key(s))) },
		index:  same, seq: after, reason: "missing",
	}, {
		name: "swapped with the next",
		tamper: func(t *testing.T, audit *bolt.Bucket, s uint64) {
			r, next := bytes.Clone(audit.Get(u64Key(s))), bytes.Clone(audit.Get(u64Key(s+1)))
			must(t, audit.Put(u64Key(s), next))
			must(t, audit.Put(u64Key(s+1), r))
		},
		index: same, seq: after, reason: "swapped",
	}, {
		name: "inserted after it",
		tamper: func(t *testing.T, audit *bolt.Bucket, s uint64) {
			key := append(u64Key(s), 0) // sorts between s and s+1
			must(t, audit.Put(key, reseal(t, audit.Get(u64Key(s+1)), s+1, hashOf(t, audit.Get(u64Key(s))))))
		},
		index: after, seq: after, reason: "inserted",
	}, {
		name: "cut short",
		tamper: func(t *testing.T, audit *bolt.Bucket, s uint64) {
			line := audit.Get(u64Key(s))
			must(t, audit.Put(u64Key(s), bytes.Clone(line[:len(line)/2])))
		},
		index: same, seq: same, reason: "cannot be decoded",
	}} {
		// The last record of the first chunk, the first of the second, one
		// in the second's share of a hashing goroutine, one in the last.
		for _, s := range []uint64{verifyChunk, verifyChunk + 1, verifyChunk + 9000, 2*verifyChunk + 150} {
			t.Run(fmt.Sprintf("%s at %d", tc.name, s), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "countersign.db")
				must(t, os.WriteFile(path, data, 0o600))
				b, err := bolt.Open(path, 0o600, nil)
				must(t, err)
				must(t, b.Update(func(btx *bolt.Tx) error {
					tc.tamper(t, btx.Bucket(bucketAudit), s)
					return nil
				}))
				must(t, b.Close())
				db := openAt(t, path, Options{ReadOnly: true})
				n, _, err := db.VerifyAudit(context.Background())
				checkChainError(t, err, tc.index(s), tc.seq(s), tc.reason)
				if want := tc.index(s) - 1; n != want {
					t.Errorf("VerifyAudit counted %d records, want %d", n, want)
				}
			})
		}
	}
}
