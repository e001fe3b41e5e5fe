package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// damageRecords is how many records a damaged file holds: enough for the
// audit bucket to need a branch page over a few dozen leaves.
const damageRecords = 300

// damageEvent is record i+1 of a damaged file; it fills the indexes too.
func damageEvent(i int) cs.Event {
	e := lockEvent(i)
	e.Actor = cs.Actor(fmt.Sprint("U", i%7))
	e.Target = fmt.Sprint("svc-", i%5)
	e.Request = cs.FormatRequestID(uint64(i + 1))
	return e
}

// damageFixture writes a database of damageRecords records, closes it and
// returns its path.
func damageFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "countersign.db")
	db, err := Open(path, Options{NoSync: true})
	must(t, err)
	appendN(t, db, damageRecords, damageEvent)
	must(t, db.Close())
	return path
}

// pageLayout is where a bucket's pages are in the file, read the way
// bbolt lays them out: a 16-byte header (id, flags, count, overflow),
// then 16-byte elements; a branch element ends with its child's page id.
type pageLayout struct {
	pageSize int
	branches []int // branch pages, root first
	leaves   []int // leaf pages, in key order
	freelist int
}

func layoutOf(t *testing.T, path string, bucket []byte) pageLayout {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	must(t, err)
	var root int
	must(t, b.View(func(btx *bolt.Tx) error {
		root = int(btx.Bucket(bucket).Root())
		return nil
	}))
	must(t, b.Close())
	data, err := os.ReadFile(path)
	must(t, err)
	l := pageLayout{pageSize: int(binary.LittleEndian.Uint32(data[16+8:]))}
	var walk func(id int)
	walk = func(id int) {
		p := data[id*l.pageSize:]
		flags, count := binary.LittleEndian.Uint16(p[8:]), int(binary.LittleEndian.Uint16(p[10:]))
		switch flags {
		case 0x01:
			l.branches = append(l.branches, id)
			for i := range count {
				walk(int(binary.LittleEndian.Uint64(p[16+16*i+8:])))
			}
		case 0x02:
			l.leaves = append(l.leaves, id)
		default:
			t.Fatalf("page %d of bucket %s has flags %#x", id, bucket, flags)
		}
	}
	walk(root)
	// The current meta page is the one with the higher txid.
	meta := func(i int) []byte { return data[i*l.pageSize+16:] }
	m := meta(0)
	if binary.LittleEndian.Uint64(meta(1)[48:]) > binary.LittleEndian.Uint64(m[48:]) {
		m = meta(1)
	}
	l.freelist = int(binary.LittleEndian.Uint64(m[32:]))
	if len(l.branches) == 0 || len(l.leaves) < 3 {
		t.Fatalf("bucket %s: %d branch and %d leaf pages; the test wants a bigger tree", bucket, len(l.branches), len(l.leaves))
	}
	return l
}

// flip inverts the 8 bytes at off: what a bad sector or a stray write does.
func flip(t *testing.T, path string, off int) { damage(t, path, off, nil) }

// damage writes b at off, or with b nil inverts the 8 bytes there.
func damage(t *testing.T, path string, off int, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	if b == nil {
		b = make([]byte, 8)
		_, err = f.ReadAt(b, int64(off))
		must(t, err)
		for i := range b {
			b[i] ^= 0xff
		}
	}
	_, err = f.WriteAt(b, int64(off))
	must(t, err)
}

// farPage is a page number inside bbolt's address range but far past the
// file and its memory map: following it faults.
var farPage = binary.LittleEndian.AppendUint64(nil, 1<<30)

// pastTheFile is a key or value size (a leaf element's 4 bytes) far past
// the end of a damageFixture file but inside its memory map.
var pastTheFile = binary.LittleEndian.AppendUint32(nil, 48<<20)

// structuralDamage are flips in the pages' own structure, which bbolt
// follows: each made `audit verify|list|export` panic or crash.
var structuralDamage = []struct {
	name   string
	bucket []byte
	off    func(l pageLayout) int
	write  []byte // written at off instead of flipping 8 bytes there
}{
	{"audit leaf page id", bucketAudit, func(l pageLayout) int { return l.leaves[3] * l.pageSize }, nil},
	{"audit leaf page flags", bucketAudit, func(l pageLayout) int { return l.leaves[4]*l.pageSize + 8 }, nil},
	{"audit leaf first element", bucketAudit, func(l pageLayout) int { return l.leaves[5]*l.pageSize + 16 }, nil},
	{"audit leaf later element", bucketAudit, func(l pageLayout) int { return l.leaves[6]*l.pageSize + 16 + 5*16 + 4 }, nil},
	{"audit last leaf", bucketAudit, func(l pageLayout) int { return l.leaves[len(l.leaves)-1] * l.pageSize }, nil},
	{"audit branch child", bucketAudit, func(l pageLayout) int { return l.branches[0]*l.pageSize + 16 + 8 }, nil},
	{"audit branch later child", bucketAudit, func(l pageLayout) int { return l.branches[0]*l.pageSize + 16 + 7*16 + 8 }, nil},
	{"audit branch header", bucketAudit, func(l pageLayout) int { return l.branches[0]*l.pageSize + 8 }, nil},
	{"audit branch child past the map", bucketAudit, func(l pageLayout) int { return l.branches[0]*l.pageSize + 16 + 2*16 + 8 }, farPage},
	{"target index leaf", bucketAuditTarget, func(l pageLayout) int { return l.leaves[2] * l.pageSize }, nil},
	// A size that makes a key or value run past the end of the file, into
	// the rest of the memory map: reading it faulted with SIGBUS in
	// hash/crc32 or encoding/json, outside bbolt, and crashed.
	{"audit record past the file", bucketAudit, func(l pageLayout) int { return l.leaves[5]*l.pageSize + 16 + 2*16 + 12 }, pastTheFile},
	{"target index key past the file", bucketAuditTarget, func(l pageLayout) int { return l.leaves[2]*l.pageSize + 16 + 5*16 + 8 }, pastTheFile},
	{"freelist", bucketAudit, func(l pageLayout) int { return l.freelist*l.pageSize + 8 }, nil},
	// Only bbolt's own check sees this one: a page neither used nor free.
	{"freelist entry", bucketAudit, func(l pageLayout) int { return l.freelist*l.pageSize + 16 }, nil},
}

func TestOpen_CheckOnOpenRefusesDamage(t *testing.T) {
	for _, tc := range structuralDamage {
		for _, opts := range []Options{{CheckOnOpen: true}, {CheckOnOpen: true, ReadOnly: true}} {
			t.Run(fmt.Sprintf("%s/readonly=%v", tc.name, opts.ReadOnly), func(t *testing.T) {
				path := damageFixture(t)
				damage(t, path, tc.off(layoutOf(t, path, tc.bucket)), tc.write)
				for range 2 { // a refused Open must let go of the file
					db, err := Open(path, opts)
					if err == nil {
						db.Close()
						t.Fatal("Open succeeded on a damaged file")
					}
					if !errors.Is(err, ErrDamaged) {
						t.Fatalf("Open: %v, want an error wrapping ErrDamaged", err)
					}
					for _, want := range []string{path, "damaged"} {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("error %q does not say %q", err, want)
						}
					}
					if !strings.Contains(err.Error(), "page") && !strings.Contains(err.Error(), "bucket") {
						t.Errorf("error %q names neither a page nor a bucket", err)
					}
				}
			})
		}
	}
}

func TestOpen_CheckOnOpenPassesSoundFile(t *testing.T) {
	path := damageFixture(t)
	for _, opts := range []Options{{CheckOnOpen: true}, {CheckOnOpen: true, ReadOnly: true}} {
		db, err := Open(path, opts)
		if err != nil {
			t.Fatalf("Open(%+v) of a sound file: %v", opts, err)
		}
		if n, _, err := db.VerifyAudit(context.Background()); n != damageRecords || err != nil {
			t.Errorf("VerifyAudit = %d, %v; want %d records", n, err, damageRecords)
		}
		must(t, db.Close())
	}
	// A new file passes too.
	db, err := Open(filepath.Join(t.TempDir(), "new.db"), Options{CheckOnOpen: true, NoSync: true})
	if err != nil {
		t.Fatalf("Open of a new file: %v", err)
	}
	must(t, db.Close())
}

// TestDB_ReadersReportDamage opens damaged files without the check, as a
// running serve has them when a page goes bad under it: the readers the
// HTTP handlers call must fail with ErrDamaged, not panic.
func TestDB_ReadersReportDamage(t *testing.T) {
	ctx := context.Background()
	for _, tc := range structuralDamage {
		if strings.HasPrefix(tc.name, "freelist") {
			continue // only Open and the check read it
		}
		if strings.HasSuffix(tc.name, "past the file") {
			// Only the check reads a whole key or value: a reader stops
			// at the end of the record's JSON, or uses the key's start.
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			path := damageFixture(t)
			damage(t, path, tc.off(layoutOf(t, path, tc.bucket)), tc.write)
			db := openAt(t, path, Options{ReadOnly: true})
			if bytes.Equal(tc.bucket, bucketAuditTarget) {
				// Only the queries for targets on the damaged page fail.
				failed := 0
				for i := range 5 {
					_, err := db.ListAudit(ctx, bot.EventQuery{Target: fmt.Sprint("svc-", i)})
					if err != nil && !errors.Is(err, ErrDamaged) {
						t.Errorf("ListAudit(svc-%d): %v, want an error wrapping ErrDamaged", i, err)
					}
					if err != nil {
						failed++
					}
				}
				if failed == 0 {
					t.Error("ListAudit by target: no query saw the damaged page")
				}
				return
			}
			for _, r := range []struct {
				name string
				call func() error
			}{
				{"ExportAudit", func() error { _, err := db.ExportAudit(ctx, io.Discard); return err }},
				{"ListAudit", func() error { _, err := db.ListAudit(ctx, bot.EventQuery{}); return err }},
				{"VerifyAudit", func() error { _, _, err := db.VerifyAudit(ctx); return err }},
			} {
				err := r.call()
				if !errors.Is(err, ErrDamaged) {
					t.Errorf("%s: %v, want an error wrapping ErrDamaged", r.name, err)
				}
			}
			// Backup copies the file as it is, damage and all.
			if _, err := db.Backup(ctx, io.Discard); err != nil && !errors.Is(err, ErrDamaged) {
				t.Errorf("Backup: %v", err)
			}
		})
	}
}

// TestView_PanicInFnIsNotDamage: only a panic inside bbolt means the file
// is damaged; a bug in the caller's function still panics.
func TestView_PanicInFnIsNotDamage(t *testing.T) {
	db := openTest(t)
	defer func() {
		if p := recover(); p != "bug" {
			t.Errorf("recovered %v, want the function's own panic", p)
		}
	}()
	db.View(context.Background(), func(bot.ReadTx) error { panic("bug") })
	t.Error("View returned after its function panicked")
}

// recordDamage are flips inside one stored record's bytes. bbolt cannot
// see them (it keeps no checksums of values); the chain must, and must
// blame the record itself, not say it was moved or that one before it
// changed.
var recordDamage = []struct {
	name   string
	at     string // the flip starts skip bytes after the first of this in the line
	skip   int
	reason string // VerifyAudit's and VerifyLines' reason
	list   string // ListAudit's error
	// lineSeq is the seq VerifyLines reports: 0 when the line's own is
	// unreadable (VerifyAudit has the key).
	lineSeq uint64
}{
	{"seq", `seq":12,`, 0, "cannot be decoded", "record 12 cannot be decoded", 0},
	{"field names", `","kind":"`, 0, "cannot be decoded", "record 12 cannot be decoded", 12},
	{"inside a string", `incident`, 0, "hash does not match the record's contents", "record 12 does not match its hash", 12},
	{"prev", `"prev":"`, 8, "hash does not match the record's contents", "record 12 does not match its hash", 12},
	{"hash", `"hash":"`, 8, "hash does not match the record's contents", "record 12 does not match its hash", 12},
}

// flipInRecord flips 8 bytes, skip bytes after the first at, in every
// stored copy of record seq's line.
func flipInRecord(t *testing.T, path string, seq int, at string, skip int) {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	start := fmt.Appendf(nil, `{"seq":%d,`, seq)
	found := 0
	for i := 0; ; {
		j := bytes.Index(data[i:], start)
		if j < 0 {
			break
		}
		rec := i + j
		end := rec + bytes.IndexByte(data[rec:], '}')
		end += bytes.Index(data[end:], []byte(`"}`)) // the line ends with "hash":"…"}
		k := bytes.Index(data[rec:end], []byte(at))
		if k < 0 {
			t.Fatalf("record %d has no %q", seq, at)
		}
		flip(t, path, rec+k+skip)
		found++
		i = end
	}
	if found == 0 {
		t.Fatalf("record %d not found in the file", seq)
	}
}

func TestVerifyAudit_DamagedRecord(t *testing.T) {
	ctx := context.Background()
	for _, tc := range recordDamage {
		t.Run(tc.name, func(t *testing.T) {
			path := damageFixture(t)
			flipInRecord(t, path, 12, tc.at, tc.skip)
			db := openAt(t, path, Options{ReadOnly: true, CheckOnOpen: true})

			_, _, err := db.VerifyAudit(ctx)
			checkChainError(t, err, 12, 12, tc.reason)
			for _, wrong := range []string{"moved", "inserted", "record before it"} {
				if err != nil && strings.Contains(err.Error(), wrong) {
					t.Errorf("VerifyAudit blames the damage on something else: %v", err)
				}
			}

			var buf bytes.Buffer
			if _, err := db.ExportAudit(ctx, &buf); err != nil {
				t.Fatalf("ExportAudit: %v (it copies records as they are)", err)
			}
			_, _, err = VerifyLines(&buf)
			checkChainError(t, err, 12, tc.lineSeq, tc.reason)

			if _, err := db.ListAudit(ctx, bot.EventQuery{}); err == nil || !strings.Contains(err.Error(), tc.list) {
				t.Errorf("ListAudit: %v, want an error saying %q", err, tc.list)
			}
			// A query that does not reach record 12 still answers.
			if evs, err := db.ListAudit(ctx, bot.EventQuery{Request: "R13"}); err != nil || len(evs) != 1 {
				t.Errorf("ListAudit(R13) = %d records, %v; want record 13", len(evs), err)
			}
		})
	}
}

// TestUpdate_DamageIsAnError: an update that runs into a damaged page
// fails with ErrDamaged; it does not panic in the caller, and the DB
// stays usable for reads and Close.
func TestUpdate_DamageIsAnError(t *testing.T) {
	ctx := context.Background()
	path := damageFixture(t)
	l := layoutOf(t, path, bucketAudit)
	flip(t, path, l.leaves[len(l.leaves)-1]*l.pageSize) // where the next record goes
	db := openAt(t, path, Options{NoSync: true})
	for range 2 {
		err := db.Update(ctx, func(tx bot.Tx) error {
			_, err := tx.Append(damageEvent(damageRecords))
			return err
		})
		if !errors.Is(err, ErrDamaged) {
			t.Fatalf("Update: %v, want an error wrapping ErrDamaged", err)
		}
	}
	if err := db.Update(ctx, func(tx bot.Tx) error { _, err := tx.NextRequestID(); return err }); err != nil {
		t.Errorf("Update away from the damage: %v", err)
	}
	must(t, db.Close())
}

// TestOpen_EmptyFileIsRefused: bbolt took an existing empty file for a
// new database, so the history was gone and IDs started at R1 again.
// Only a missing file means new.
func TestOpen_EmptyFileIsRefused(t *testing.T) {
	for _, opts := range []Options{{}, {CheckOnOpen: true}, {ReadOnly: true}} {
		path := filepath.Join(t.TempDir(), "countersign.db")
		must(t, os.WriteFile(path, nil, 0o600))
		db, err := Open(path, opts)
		if err == nil {
			db.Close()
			t.Fatalf("Open(%+v) of an empty file succeeded", opts)
		}
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "empty (0 bytes)") || !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%+v) = %v, want it to say the file %s is empty", opts, err, path)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
			t.Errorf("the empty file was changed: %v, %v", fi, err)
		}
	}
}
