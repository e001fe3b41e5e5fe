package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack/slacktest"
	"github.com/countersign/countersign/bot/store"
	"github.com/countersign/countersign/cmd/countersign/config"
)

// damagedRecords is how many records the damaged files hold: the audit
// bucket then spans a branch page over a few dozen leaves.
const damagedRecords = 300

// auditFile writes a database of damagedRecords records with the store's
// own API and returns its path, closed.
func auditFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "countersign.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(context.Background(), func(tx bot.Tx) error {
		for i := range damagedRecords {
			if _, err := tx.Append(cs.Event{
				Time: time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
				Kind: cs.EventLockSet, Actor: cs.Actor(fmt.Sprint("U", i%7)), Target: fmt.Sprint("svc-", i%5),
				Request: cs.FormatRequestID(uint64(i + 1)), Detail: []byte(`{"reason":"incident"}`),
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// auditPages finds the audit bucket's pages the way bbolt lays them out
// (a 16-byte header: id, flags, count, overflow; then 16-byte elements, a
// branch element ending in its child's page id) and the freelist page.
func auditPages(t *testing.T, path string) (pageSize int, branch int, leaves []int, freelist int) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	b.View(func(btx *bolt.Tx) error {
		branch = int(btx.Bucket([]byte("audit")).Root())
		return nil
	})
	b.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize = int(binary.LittleEndian.Uint32(data[16+8:]))
	p := data[branch*pageSize:]
	if flags := binary.LittleEndian.Uint16(p[8:]); flags != 0x01 {
		t.Fatalf("audit root page %d has flags %#x, want a branch page", branch, flags)
	}
	for i := range int(binary.LittleEndian.Uint16(p[10:])) {
		leaves = append(leaves, int(binary.LittleEndian.Uint64(p[16+16*i+8:])))
	}
	meta := data[16:]
	if m1 := data[pageSize+16:]; binary.LittleEndian.Uint64(m1[48:]) > binary.LittleEndian.Uint64(meta[48:]) {
		meta = m1
	}
	return pageSize, branch, leaves, int(binary.LittleEndian.Uint64(meta[32:]))
}

// overwrite writes b at off, or with b nil inverts the 8 bytes there.
func overwrite(t *testing.T, path string, off int, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b == nil {
		b = make([]byte, 8)
		if _, err := f.ReadAt(b, int64(off)); err != nil {
			t.Fatal(err)
		}
		for i := range b {
			b[i] ^= 0xff
		}
	}
	if _, err := f.WriteAt(b, int64(off)); err != nil {
		t.Fatal(err)
	}
}

// recordPastTheFile is a record size (a leaf element's last 4 bytes) far
// past the end of an auditFile but inside its memory map.
var recordPastTheFile = binary.LittleEndian.AppendUint32(nil, 48<<20)

// TestAudit_DamagedFile damages the pages bbolt follows. Each made `audit
// verify|list|export --db` panic with a stack trace and exit 2 (bad usage)
// or crash; they must exit 1 and say the file is damaged.
func TestAudit_DamagedFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		off   func(ps, branch int, leaves []int, freelist int) int
		write []byte
	}{
		{"leaf page id", func(ps, _ int, leaves []int, _ int) int { return leaves[3] * ps }, nil},
		{"leaf element", func(ps, _ int, leaves []int, _ int) int { return leaves[5]*ps + 16 + 5*16 + 4 }, nil},
		{"last leaf", func(ps, _ int, leaves []int, _ int) int { return leaves[len(leaves)-1] * ps }, nil},
		{"branch child", func(ps, branch int, _ []int, _ int) int { return branch*ps + 16 + 7*16 + 8 }, nil},
		{"branch child past the map", func(ps, branch int, _ []int, _ int) int { return branch*ps + 16 + 2*16 + 8 },
			binary.LittleEndian.AppendUint64(nil, 1<<30)},
		{"freelist", func(ps, _ int, _ []int, freelist int) int { return freelist*ps + 8 }, nil},
		// A record's size reaching past the end of the file: the check's
		// read of it died with SIGBUS in hash/crc32.
		{"record past the file", func(ps, _ int, leaves []int, _ int) int { return leaves[5]*ps + 16 + 2*16 + 12 }, recordPastTheFile},
		{"several pages", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := auditFile(t)
			ps, branch, leaves, freelist := auditPages(t, db)
			if tc.off != nil {
				overwrite(t, db, tc.off(ps, branch, leaves, freelist), tc.write)
			} else {
				for _, leaf := range []int{leaves[2], leaves[4], leaves[6], leaves[8]} {
					overwrite(t, db, leaf*ps+ps/2, nil) // inside records
					overwrite(t, db, leaf*ps+16, nil)   // their first element
				}
			}
			for _, args := range [][]string{
				{"audit", "verify", "--db", db},
				{"audit", "verify", "--db", db, "--anchor", "1:" + strings.Repeat("0", 64)},
				{"audit", "list", "--db", db},
				{"audit", "list", "--db", db, "--target", "svc-1"},
				{"audit", "export", "--db", db},
			} {
				code, out, errOut := run(t, "", nil, args...)
				if code != exitFail {
					t.Errorf("%s: exit %d, want %d\n%s", strings.Join(args[:2], " "), code, exitFail, errOut)
				}
				for _, bad := range []string{"panic", "goroutine"} {
					if strings.Contains(errOut, bad) {
						t.Errorf("%s: stderr shows a %s:\n%s", strings.Join(args[:2], " "), bad, errOut)
					}
				}
				if !strings.Contains(errOut, "database file is damaged") || !strings.Contains(errOut, db) {
					t.Errorf("%s: stderr does not say which file is damaged:\n%s", strings.Join(args[:2], " "), errOut)
				}
				if args[1] == "verify" && !strings.Contains(errOut, "audit verify FAILED") {
					t.Errorf("verify: stderr does not say the verification failed:\n%s", errOut)
				}
				if out != "" {
					t.Errorf("%s: wrote %d bytes to stdout from a damaged file", strings.Join(args[:2], " "), len(out))
				}
			}
		})
	}
}

// TestAudit_DamagedRecord damages the bytes of record 12, which bbolt does
// not check: verify must call the record undecodable or say its hash does
// not match, not that records were moved or inserted; list must refuse
// it; export copies it as stored, for the verifier to judge.
func TestAudit_DamagedRecord(t *testing.T) {
	for _, tc := range []struct {
		name       string
		at         string // flip 8 bytes skip bytes after this
		skip       int
		verify     string
		list       string
		exportSays string
	}{
		{"seq", `seq":12,`, 0, "record 12 (seq 12): cannot be decoded", "record 12 cannot be decoded", "record 12 (seq 0): cannot be decoded"},
		{"field names", `","kind":"`, 0, "record 12 (seq 12): cannot be decoded", "record 12 cannot be decoded", "record 12 (seq 12): cannot be decoded"},
		{"prev", `"prev":"`, 8, "record 12 (seq 12): hash does not match the record's contents", "record 12 does not match its hash", "record 12 (seq 12): hash does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := auditFile(t)
			data, err := os.ReadFile(db)
			if err != nil {
				t.Fatal(err)
			}
			rec := bytes.Index(data, []byte(`{"seq":12,`))
			if rec < 0 || bytes.Contains(data[rec+1:], []byte(`{"seq":12,`)) {
				t.Fatal("want exactly one stored copy of record 12")
			}
			overwrite(t, db, rec+bytes.Index(data[rec:], []byte(tc.at))+tc.skip, nil)

			code, _, errOut := run(t, "", nil, "audit", "verify", "--db", db)
			if code != exitFail || !strings.Contains(errOut, "audit verify FAILED after 11 good records") || !strings.Contains(errOut, tc.verify) {
				t.Errorf("verify: exit %d, %q; want %d saying %q", code, errOut, exitFail, tc.verify)
			}
			for _, wrong := range []string{"moved", "inserted", "record before it", "panic"} {
				if strings.Contains(errOut, wrong) {
					t.Errorf("verify blames the damage on something else (%q): %s", wrong, errOut)
				}
			}
			code, _, errOut = run(t, "", nil, "audit", "list", "--db", db)
			if code != exitFail || !strings.Contains(errOut, tc.list) {
				t.Errorf("list: exit %d, %q; want %d saying %q", code, errOut, exitFail, tc.list)
			}
			code, out, errOut := run(t, "", nil, "audit", "export", "--db", db)
			if code != exitOK {
				t.Fatalf("export: exit %d, %s", code, errOut)
			}
			if n, _, err := store.VerifyLines(strings.NewReader(out)); n != 11 || err == nil || !strings.Contains(err.Error(), tc.exportSays) {
				t.Errorf("verifying the export: %d records, %v; want 11 and an error saying %q", n, err, tc.exportSays)
			}
		})
	}
}

// TestServe_RefusesDamagedDatabase: serve checks the file at start and
// refuses a damaged one, saying so, instead of serving it.
func TestServe_RefusesDamagedDatabase(t *testing.T) {
	t.Run("leaf page id", func(t *testing.T) {
		db := auditFile(t)
		ps, _, leaves, _ := auditPages(t, db)
		overwrite(t, db, leaves[3]*ps, nil)
		serveRefuses(t, db)
	})
	t.Run("record past the file", func(t *testing.T) {
		db := auditFile(t)
		ps, _, leaves, _ := auditPages(t, db)
		overwrite(t, db, leaves[5]*ps+16+2*16+12, recordPastTheFile)
		serveRefuses(t, db)
	})
}

// serveRefuses starts serve on the damaged file db and wants it refused.
func serveRefuses(t *testing.T, db string) {
	t.Helper()
	dir := t.TempDir()
	sl := slacktest.New(slacktest.Options{BotToken: "xoxb-test"})
	defer sl.Close()
	path := serveConfig(t, dir, sl.APIURL(), "")
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte("db: "+filepath.Join(dir, "serve.db")), []byte("db: "+db), 1), 0o600)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(context.Background(), cfg, true, slog.New(slog.DiscardHandler), serveDeps{SlackHTTP: sl.HTTPClient()})
	if err == nil {
		srv.Close()
		t.Fatal("serve started on a damaged database")
	}
	if !errors.Is(err, store.ErrDamaged) || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("error = %v, want it to say the file is damaged", err)
	}
}
