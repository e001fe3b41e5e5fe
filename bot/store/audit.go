package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Audit access for `countersign audit …` and the HTTP handlers; not part
// of bot.Store.

// exportChunk is how many records one read transaction of ExportAudit
// copies, so that a slow reader never holds a transaction open.
const exportChunk = 4096

// ctxCheckEvery is how many records a long walk handles between looks at ctx.
const ctxCheckEvery = 1 << 14

// ExportAudit writes every record's canonical line and "\n" to w, in seq
// order, exactly as stored, and returns how many it wrote. It reads in
// chunks of short read transactions and writes to w outside them, so a
// slow w does not hold up writers; records appended meanwhile may be
// included. The output verifies with VerifyLines, unless records were
// damaged or edited: ExportAudit copies them as they are, and it is for
// the verifier to say what is wrong with them.
//
// A damaged page gives an error wrapping ErrDamaged. When ExportAudit
// fails with n == 0 and not for a write to w, it has written nothing to
// w, so an HTTP handler can still answer with an error status.
func (db *DB) ExportAudit(ctx context.Context, w io.Writer) (n uint64, err error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var after []byte // key of the last record written
	var chunk bytes.Buffer
	for {
		chunk.Reset()
		var count int
		err := db.View(ctx, func(rt bot.ReadTx) error {
			b := rt.(*tx).bucket(bucketAudit)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && count < exportChunk; k, v = c.Next() {
				chunk.Write(v)
				chunk.WriteByte('\n')
				count++
				after = append(after[:0], k...)
			}
			return nil
		})
		if err != nil {
			err = damagedAt(err, position{bucket: string(bucketAudit), key: after})
			return n, fmt.Errorf("export audit: %w", err)
		}
		if _, err := bw.Write(chunk.Bytes()); err != nil {
			return n, fmt.Errorf("export audit: write: %w", err)
		}
		n += uint64(count)
		if count < exportChunk {
			break
		}
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("export audit: write: %w", err)
	}
	return n, nil
}

// VerifyAudit checks the whole trail in one read transaction: every
// record's hash and its link to the one before (cs.Verifier), that each
// is stored under its own seq, and that the chain ends where meta says
// the head is, so a deleted or truncated tail is caught too. It returns
// the record count and the head hash; a broken chain gives an error
// wrapping a *cs.ChainError (and cs.ErrChainBroken) naming the first bad
// record; a record that cannot be decoded, or whose hash does not match
// its contents, is reported as such. A damaged page gives an error
// wrapping ErrDamaged.
func (db *DB) VerifyAudit(ctx context.Context) (count uint64, head string, err error) {
	var v cs.Verifier
	err = db.View(ctx, func(rt bot.ReadTx) error {
		btx := rt.(*tx).btx
		if err := verifyRecords(ctx, db.log, btx.Bucket(bucketAudit), &v); err != nil {
			return err
		}
		var meta []byte
		if b := btx.Bucket(bucketMeta); b != nil {
			meta = b.Get(metaAuditHead)
		}
		return verifyHead(meta, &v)
	})
	if err != nil {
		at := position{bucket: string(bucketAudit)}
		if v.Count() > 0 {
			at.key = u64Key(v.Count())
		}
		err = damagedAt(err, at)
		return v.Count(), v.Head(), fmt.Errorf("verify audit %s: %w", db.path, err)
	}
	return v.Count(), v.Head(), nil
}

// verifyChunk is how many records verifyRecords hands the Verifier at
// once, to hash on every core: enough to keep them busy, few enough that
// a cancelled verify stops soon.
const verifyChunk = 1 << 14

// verifyRecords feeds the bucket to v in key order, checking each key.
// The records are read in chunks, whose lines (bbolt's memory, valid
// while the transaction lasts) v hashes on every core: the cursor reads
// the next chunk on this goroutine while the others start on the chunk
// before, which this one then helps to finish. A record stored under a
// key other than its seq is blamed once every record before it has
// passed, as reading one by one would. A damaged page, met reading or
// hashing, gives the error protect gives, logged, in the order reading
// one by one would meet it.
func verifyRecords(ctx context.Context, log *slog.Logger, b *bolt.Bucket, v *cs.Verifier) error {
	if b == nil {
		return nil
	}
	c := b.Cursor()
	k, line := c.First()
	// collect reads the next chunk from the cursor into ch, and returns
	// the damage reading met, if it did. It leaves the keys to the
	// hashing goroutines, which read the records next to them anyway.
	collect := func(ch *recordChunk) (damage error) {
		defer func() { damage = recoverDamage(log, recover()) }()
		ch.lines, ch.keys = ch.lines[:0], ch.keys[:0]
		for ; k != nil && len(ch.lines) < verifyChunk; k, line = c.Next() {
			ch.lines, ch.keys = append(ch.lines, line), append(ch.keys, k)
		}
		return nil
	}
	cur, next := newRecordChunk(), newRecordChunk()
	damage := collect(&cur)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var readNext func()
		var nextDamage error
		if damage == nil && k != nil {
			readNext = func() { nextDamage = collect(&next) }
		}
		if err := cur.verify(log, v, readNext); err != nil {
			return err
		}
		switch {
		case damage != nil:
			return damage
		case len(next.lines) == 0 && nextDamage == nil:
			return nil
		}
		cur, next, damage = next, cur, nextDamage
		next.lines = next.lines[:0]
	}
}

// recoverDamage turns p, just recovered, into the error protect gives
// when it is damage, and raises it again when it is not. Call it from
// the deferred function that recovered.
func recoverDamage(log *slog.Logger, p any) error {
	if p == nil {
		return nil
	}
	if !isDamage(p) {
		panic(p)
	}
	err := damaged(p)
	log.Error("store: bbolt panicked: the database file is damaged", "err", err, "stack", string(debug.Stack()))
	return err
}

// recordChunk is a chunk of records for verifyRecords: their lines and
// keys.
type recordChunk struct {
	lines, keys [][]byte
}

// newRecordChunk makes a chunk with room for verifyChunk records, so that
// reading never grows it.
func newRecordChunk() recordChunk {
	return recordChunk{lines: make([][]byte, 0, verifyChunk), keys: make([][]byte, 0, verifyChunk)}
}

// verify feeds the chunk's lines to v, hashing them on every core, and
// runs meanwhile (if not nil) on this goroutine while the others start.
// Here a fault on the memory map becomes a panic, and damage an error.
func (ch *recordChunk) verify(log *slog.Logger, v *cs.Verifier, meanwhile func()) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = recoverDamage(log, p)
		}
	}()
	first := v.Count() + 1
	err = v.NextBatch(cs.LineBatch{Lines: ch.lines, Meanwhile: meanwhile, Admit: func(i int) bool {
		return ch.inPlace(i, first+uint64(i))
	}})
	i := v.Count() + 1 - first
	switch {
	case err != nil:
		k := ch.keys[i] // 8 bytes: inPlace let it through
		if isMisplaced(k, ch.lines[i]) {
			return misplacedRecord(v.Count()+1, k, ch.lines[i])
		}
		// The Verifier gives up on a mangled line before it reads the
		// seq; the key has it.
		return blame(err, binary.BigEndian.Uint64(k), ch.lines[i])
	case i < uint64(len(ch.lines)):
		return misplacedRecord(v.Count()+1, ch.keys[i], ch.lines[i])
	}
	return nil
}

// inPlace reports whether record i of the chunk, which must have seq
// seq, is stored where it belongs: under seq, or at least not under a
// key other than its own seq (if its seq is wrong, the Verifier says so).
func (ch *recordChunk) inPlace(i int, seq uint64) bool {
	k := ch.keys[i]
	return len(k) == 8 && binary.BigEndian.Uint64(k) == seq || !isMisplaced(k, ch.lines[i])
}

// isMisplaced reports whether a record is stored under a key that is not
// 8 bytes, or not the seq its line begins with.
func isMisplaced(k, line []byte) bool {
	seq, ok := lineSeq(line)
	return len(k) != 8 || ok && binary.BigEndian.Uint64(k) != seq
}

// misplacedRecord is the error for record idx of the chain, stored under
// key k, which is not 8 bytes or not the line's own seq.
func misplacedRecord(idx uint64, k, line []byte) error {
	seq, _ := lineSeq(line)
	if len(k) != 8 {
		return &cs.ChainError{Index: idx, Seq: seq, Reason: fmt.Sprintf("stored under malformed key %x: inserted", k)}
	}
	key := binary.BigEndian.Uint64(k)
	// A damaged record is not a moved one, even if the damage is in its
	// seq.
	if why := recordProblem(line); why != "" {
		return &cs.ChainError{Index: idx, Seq: key, Reason: why}
	}
	return &cs.ChainError{Index: idx, Seq: seq, Reason: fmt.Sprintf("stored under key %d: records were moved, swapped or inserted", key)}
}

// verifyHead checks that the verified chain ends at the head meta records.
func verifyHead(meta []byte, v *cs.Verifier) error {
	seq, hash, err := decodeHead(meta)
	if err != nil {
		return &cs.ChainError{Index: v.Count(), Seq: v.Count(), Reason: err.Error()}
	}
	n := v.Count()
	switch {
	case meta == nil && n == 0:
		return nil
	case meta == nil:
		return &cs.ChainError{Index: 1, Seq: 1, Reason: "records are present but no head is recorded in meta: inserted"}
	case seq > n:
		return &cs.ChainError{Index: n + 1, Seq: n + 1, Reason: fmt.Sprintf(
			"missing: the chain ends at seq %d but meta records the head at seq %d (%.12s…): records %d..%d were deleted",
			n, seq, hash, n+1, seq)}
	case seq < n:
		return &cs.ChainError{Index: seq + 1, Seq: seq + 1, Reason: fmt.Sprintf(
			"after the head recorded in meta (seq %d): records %d..%d were inserted", seq, seq+1, n)}
	case hash != v.Head():
		return &cs.ChainError{Index: n, Seq: n, Reason: fmt.Sprintf(
			"hash %.12s… is not the head recorded in meta (%.12s…): the last record was replaced", v.Head(), hash)}
	}
	return nil
}

// maxLine bounds one line of VerifyLines.
const maxLine = 16 << 20

// VerifyLines verifies a JSON Lines audit stream (from ExportAudit or
// GET /audit/export) like VerifyAudit, and returns the record count and
// head hash; compare them with the source's to detect a truncated tail,
// which the stream alone cannot show. A broken chain gives an error
// wrapping a *cs.ChainError naming the first bad line, and saying so when
// the line cannot be decoded or does not match its own hash.
func VerifyLines(r io.Reader) (count uint64, head string, err error) {
	var v cs.Verifier
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		if err := v.Next(sc.Bytes()); err != nil {
			return v.Count(), v.Head(), fmt.Errorf("verify audit lines: %w", blame(err, 0, sc.Bytes()))
		}
	}
	if err := sc.Err(); err != nil {
		return v.Count(), v.Head(), fmt.Errorf("verify audit lines: read line %d: %w", v.Count()+1, err)
	}
	return v.Count(), v.Head(), nil
}

// ListAudit returns the records matching q, oldest first, like
// bot.ReadTx.Events, and fails on one that cannot be decoded or does not
// match its own hash rather than show it as sound. A damaged page gives
// an error wrapping ErrDamaged.
func (db *DB) ListAudit(ctx context.Context, q bot.EventQuery) ([]cs.Event, error) {
	var out []cs.Event
	var sealed []bool
	err := db.View(ctx, func(rt bot.ReadTx) error {
		var err error
		out, sealed, err = rt.(*tx).events(q)
		return err
	})
	if errors.Is(err, ErrDamaged) {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	if err != nil {
		return nil, err
	}
	for i, e := range out {
		if sealed[i] {
			continue // its hash was checked as it was read
		}
		again := e
		if _, err := again.Seal(e.Seq, e.Prev); err != nil || again.Hash != e.Hash {
			return nil, fmt.Errorf("list audit events: record %d does not match its hash: the record is damaged or was edited", e.Seq)
		}
	}
	return out, nil
}
