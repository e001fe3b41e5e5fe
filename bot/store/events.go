package store

import (
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// maxIndexed bounds the target, actor and request of a record, which are
// index keys (bbolt keys are at most 32 KiB; real ones are short).
const maxIndexed = 1024

// Append seals e after the chain's head (kept in meta, so no scan), stores
// the canonical line exactly as Seal produced it, indexes it by target,
// actor and request (by way of audit_unindexed: index.go), and moves the
// head. A zero e.Time becomes now. An event without a Kind, or whose
// Detail is not JSON, is refused before anything is written, as is one
// whose target, actor or request is longer than 1 KiB.
func (t *tx) Append(e cs.Event) (cs.Event, error) {
	if err := t.usable(); err != nil {
		return cs.Event{}, err
	}
	if e.Kind == "" {
		return cs.Event{}, errors.New("append audit event: empty kind")
	}
	for _, f := range [...]struct{ name, v string }{{"target", e.Target}, {"actor", string(e.Actor)}, {"request", string(e.Request)}} {
		if len(f.v) > maxIndexed {
			return cs.Event{}, fmt.Errorf("append audit event: %s is %d bytes, more than %d", f.name, len(f.v), maxIndexed)
		}
	}
	if e.Time.IsZero() {
		e.Time = t.db.now()
	}
	seq, head, err := decodeHead(t.get(bucketMeta, metaAuditHead))
	if err != nil {
		return cs.Event{}, fmt.Errorf("append audit event: %w", err)
	}
	if seq == 0 {
		head = cs.GenesisHash
	}
	line, err := e.Seal(seq+1, head)
	if err != nil {
		return cs.Event{}, fmt.Errorf("append audit event: %w", err)
	}
	if err := t.index(e, line); err != nil {
		return cs.Event{}, fmt.Errorf("append audit event %d: %w", e.Seq, err)
	}
	return e, nil
}

// index writes the sealed event's line, its names for the indexes and the
// new head.
func (t *tx) index(e cs.Event, line []byte) error {
	audit := t.bucket(bucketAudit)
	if audit == nil {
		return t.fail(fmt.Errorf("bucket %s missing", bucketAudit))
	}
	// Keys only ever grow: fill pages completely.
	audit.FillPercent = 1.0
	if err := audit.Put(u64Key(e.Seq), line); err != nil {
		return t.fail(fmt.Errorf("put record: %w", err))
	}
	if err := t.indexLater(e.Seq, names{target: e.Target, actor: string(e.Actor), request: string(e.Request)}); err != nil {
		return err
	}
	return t.put(bucketMeta, metaAuditHead, encodeHead(e.Seq, e.Hash))
}

// Events returns the records matching q, oldest first. With Request,
// Target or Actor set it walks that index (in that order of preference),
// after the records still waiting in audit_unindexed, which are newer, and
// reads only the records they name; otherwise it scans the whole trail.
// Either way it walks newest first, so a Limit stops it early.
func (t *tx) Events(q bot.EventQuery) ([]cs.Event, error) {
	out, _, err := t.events(q)
	return out, err
}

// events is Events, and says of each event whether its hash was checked
// on the way (cs.ParseSealed read it).
func (t *tx) events(q bot.EventQuery) (out []cs.Event, sealed []bool, err error) {
	if err := t.usable(); err != nil {
		return nil, nil, err
	}
	audit := t.bucket(bucketAudit)
	if audit == nil {
		return nil, nil, nil
	}
	keep := func(key, line []byte) (more bool, err error) {
		e, ok := cs.ParseSealed(line)
		if !ok {
			if e, err = parseRecord(key, line); err != nil {
				return false, err
			}
		}
		if matches(q, e) {
			out, sealed = append(out, e), append(sealed, ok)
		}
		return q.Limit <= 0 || len(out) < q.Limit, nil
	}

	walk := func(bucket []byte, field int, name string) {
		var more bool
		more, err = walkUnindexed(t.bucket(bucketAuditUnindexed), audit, field, name, keep)
		if more {
			err = walkIndex(t.bucket(bucket), audit, name, keep)
		}
	}
	switch {
	case q.Request != "":
		walk(bucketAuditRequest, fieldRequest, string(q.Request))
	case q.Target != "":
		walk(bucketAuditTarget, fieldTarget, q.Target)
	case q.Actor != "":
		walk(bucketAuditActor, fieldActor, string(q.Actor))
	default:
		c := audit.Cursor()
		k, v := c.Last()
		if q.Before != 0 {
			k, v = seekBefore(c, u64Key(q.Before))
		}
		for ; k != nil; k, v = c.Prev() {
			more, kerr := keep(k, v)
			if kerr != nil {
				err = kerr
				break
			}
			if !more {
				break
			}
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list audit events: %w", err)
	}
	slices.Reverse(out)
	slices.Reverse(sealed)
	return out, sealed, nil
}

// walkIndex feeds keep the records that idx lists under name, newest
// first, until keep says no more.
func walkIndex(idx, audit *bolt.Bucket, name string, keep func(key, line []byte) (bool, error)) error {
	if idx == nil {
		return nil
	}
	prefix, end := rangeOf(name)
	c := idx.Cursor()
	for k, _ := seekBefore(c, end); k != nil; k, _ = c.Prev() {
		seq, ok := prefixNumber(prefix, k)
		if !ok {
			if string(k) < string(prefix) {
				return nil
			}
			continue
		}
		key := u64Key(seq)
		line := audit.Get(key)
		if line == nil {
			return fmt.Errorf("index %q names record %d, which is missing", name, seq)
		}
		more, err := keep(key, line)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

// parseRecord decodes the line stored under key.
func parseRecord(key, line []byte) (cs.Event, error) {
	e, err := cs.ParseEvent(line)
	if err != nil {
		return cs.Event{}, fmt.Errorf("record %s cannot be decoded: %w", keyName(key), decodeCause(err))
	}
	return e, nil
}

// decodeCause is the JSON error under cs.ParseEvent's, whose own words
// ("decode audit record") the caller has already said.
func decodeCause(err error) error {
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}

// matches reports whether e passes every filter set in q.
func matches(q bot.EventQuery, e cs.Event) bool {
	switch {
	case q.Target != "" && e.Target != q.Target,
		q.Actor != "" && e.Actor != q.Actor,
		q.Kind != "" && e.Kind != q.Kind,
		q.Request != "" && e.Request != q.Request,
		!q.Since.IsZero() && e.Time.Before(q.Since),
		!q.Until.IsZero() && !e.Time.Before(q.Until),
		q.Before != 0 && e.Seq >= q.Before:
		return false
	}
	return true
}
