package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The audit indexes, written in bulk. An index is ordered by name, so the
// records of one commit land on as many of its leaf pages as they have
// distinct targets, actors and requests, and bbolt rewrites (and syncs)
// every page it touches: in a file of 20,000 records, a commit of 8
// records with an entry in each of the three indexes wrote 25 pages, 18
// of them index pages, and syncing them was most of what the commit cost.
// So Append writes a record's names to audit_unindexed instead, whose keys
// are seqs and only ever grow, so that a commit touches its last page
// only; once indexEvery records wait, the committer moves them into the
// indexes in one transaction of its own, where a page it touches takes
// the entries of many records. That is 10 pages a commit, the moves
// included. Events reads audit_unindexed before the indexes, so a query
// sees a record as soon as its commit does. Close moves what is left, so
// a closed file is fully indexed.

// indexEvery is how many records wait in audit_unindexed before they are
// moved. More makes a move cheaper per record, as a page takes the entries
// of more records (a move of 1024 records took about as long as one of
// 4096, 30-60ms), and makes queries by name slower: one reads every entry
// that waits, at most a few hundred microseconds for 4096
// (BenchmarkListTarget_Unindexed).
const indexEvery = 4096

// errCorruptUnindexed is wrapped when an entry of audit_unindexed cannot
// be decoded.
var errCorruptUnindexed = errors.New("unindexed audit entry is corrupt")

// names are what a record is indexed by; "" is not indexed.
type names struct {
	target, actor, request string
}

// indexes pairs each index bucket with the name it is keyed by.
func (n names) indexes() [3]struct {
	bucket []byte
	value  string
} {
	return [...]struct {
		bucket []byte
		value  string
	}{
		{bucketAuditTarget, n.target},
		{bucketAuditActor, n.actor},
		{bucketAuditRequest, n.request},
	}
}

// encodeNames is the audit_unindexed value for n: each name as a uvarint
// length and its bytes.
func encodeNames(n names) []byte {
	v := make([]byte, 0, 3*binary.MaxVarintLen16+len(n.target)+len(n.actor)+len(n.request))
	for _, s := range [...]string{n.target, n.actor, n.request} {
		v = binary.AppendUvarint(v, uint64(len(s)))
		v = append(v, s...)
	}
	return v
}

// decodeNames reverses encodeNames.
func decodeNames(v []byte) (names, error) {
	var out [3]string
	for i := range out {
		l, k := binary.Uvarint(v)
		if k <= 0 || l > uint64(len(v)-k) {
			return names{}, errCorruptUnindexed
		}
		out[i], v = string(v[k:k+int(l)]), v[k+int(l):]
	}
	if len(v) != 0 {
		return names{}, errCorruptUnindexed
	}
	return names{target: out[0], actor: out[1], request: out[2]}, nil
}

// Fields of an encodeNames value, for nameIn.
const (
	fieldTarget = iota
	fieldActor
	fieldRequest
)

// nameIn returns field i of an encodeNames value without copying it, so
// that a query can pass over the entries of other names cheaply.
func nameIn(v []byte, i int) ([]byte, error) {
	for f := 0; ; f++ {
		l, k := binary.Uvarint(v)
		if k <= 0 || l > uint64(len(v)-k) {
			return nil, errCorruptUnindexed
		}
		if f == i {
			return v[k : k+int(l)], nil
		}
		v = v[k+int(l):]
	}
}

// indexLater records the names of the record seq in audit_unindexed, and
// tells the committer when enough are waiting.
func (t *tx) indexLater(seq uint64, n names) error {
	b := t.bucket(bucketAuditUnindexed)
	if b == nil {
		return t.fail(fmt.Errorf("bucket %s missing", bucketAuditUnindexed))
	}
	// Keys only ever grow: fill pages completely.
	b.FillPercent = 1.0
	if err := b.Put(u64Key(seq), encodeNames(n)); err != nil {
		return t.fail(fmt.Errorf("put in %s: %w", bucketAuditUnindexed, err))
	}
	if first, _ := b.Cursor().First(); len(first) == 8 && seq-binary.BigEndian.Uint64(first)+1 >= t.db.indexAt {
		// Append runs on the committer's goroutine, which owns these.
		// A batch that is rolled back leaves it set; moveIndex finds
		// nothing to do, or less.
		t.db.indexDue = true
	}
	return nil
}

// walkUnindexed feeds keep the records waiting in audit_unindexed whose
// name in field is name, newest first, until keep says no more.
func walkUnindexed(b, audit *bolt.Bucket, field int, name string, keep func(key, line []byte) (bool, error)) (more bool, err error) {
	if b == nil {
		return true, nil
	}
	c := b.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		got, err := nameIn(v, field)
		if err != nil {
			return false, fmt.Errorf("record %s: %w", keyName(k), err)
		}
		if string(got) != name {
			continue
		}
		line := audit.Get(k)
		if line == nil {
			return false, fmt.Errorf("%s names record %s, which is missing", bucketAuditUnindexed, keyName(k))
		}
		if more, err := keep(k, line); err != nil || !more {
			return false, err
		}
	}
	return true, nil
}

// moveIndex moves every entry of audit_unindexed into the indexes in a
// transaction of its own, on the committer's goroutine (or after it has
// returned). A failure is logged: the entries stay where they are, where
// queries still find them, and the move is tried again once another
// indexEvery records wait.
func (db *DB) moveIndex() {
	db.indexDue = false
	db.indexAt += indexEvery // until it succeeds
	btx, err := db.bolt.Begin(true)
	if err != nil {
		db.log.Error("store: index audit records: begin transaction", "err", err)
		return
	}
	start := time.Now()
	var n int
	err = protect(db.log, func() error {
		var err error
		n, err = moveUnindexed(btx)
		return err
	})
	if err == nil && n > 0 {
		err = db.commit(btx)
		db.mu.Lock()
		db.commits++
		db.mu.Unlock()
	} else {
		db.rollback(btx)
	}
	if err != nil {
		db.log.Error("store: index audit records", "path", db.path, "err", err)
		return
	}
	db.indexAt = indexEvery
	if d := time.Since(start); d > slowCommit {
		db.log.Warn("store: slow commit", "indexed", n, "duration", d)
	}
}

// moveUnindexed writes the index entries of every record waiting in
// audit_unindexed and empties it, and returns how many there were.
func moveUnindexed(btx *bolt.Tx) (int, error) {
	b := btx.Bucket(bucketAuditUnindexed)
	if b == nil {
		return 0, nil
	}
	var idx [3]*bolt.Bucket
	for i, ix := range (names{}).indexes() {
		if idx[i] = btx.Bucket(ix.bucket); idx[i] == nil {
			return 0, fmt.Errorf("bucket %s missing", ix.bucket)
		}
	}
	var keys [3][][]byte
	n := 0
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return n, fmt.Errorf("%s: malformed key %x", bucketAuditUnindexed, k)
		}
		nm, err := decodeNames(v)
		if err != nil {
			return n, fmt.Errorf("record %s: %w", keyName(k), err)
		}
		seq := binary.BigEndian.Uint64(k)
		for i, ix := range nm.indexes() {
			if ix.value != "" {
				keys[i] = append(keys[i], prefixKey(ix.value, seq))
			}
		}
		n++
	}
	// In key order, each Put lands after the one before: bbolt grows a
	// node in memory until the commit splits it, and an insert in its
	// middle moves everything after it.
	for i, ix := range (names{}).indexes() {
		slices.SortFunc(keys[i], bytes.Compare)
		for _, k := range keys[i] {
			if err := idx[i].Put(k, nil); err != nil {
				return n, fmt.Errorf("put in %s: %w", ix.bucket, err)
			}
		}
	}
	if n == 0 {
		return 0, nil
	}
	// Dropping the bucket frees its pages at once; deleting the keys one
	// by one would rewrite them.
	if err := btx.DeleteBucket(bucketAuditUnindexed); err != nil {
		return n, fmt.Errorf("empty %s: %w", bucketAuditUnindexed, err)
	}
	if _, err := btx.CreateBucket(bucketAuditUnindexed); err != nil {
		return n, fmt.Errorf("empty %s: %w", bucketAuditUnindexed, err)
	}
	return n, nil
}
