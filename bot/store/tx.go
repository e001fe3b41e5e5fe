package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// tx implements bot.Tx over one bbolt transaction (read-only for View).
// It is valid only while the function it was given to runs.
type tx struct {
	db     *DB
	btx    *bolt.Tx
	done   bool
	failed error // first write that failed part way; fails the Update
}

var _ bot.Tx = (*tx)(nil)

// errTxDone is returned when a tx is used after its function returned.
var errTxDone = errors.New("store transaction used after its function returned")

func (t *tx) finish() { t.done = true }

// usable reports errTxDone after the function returned.
func (t *tx) usable() error {
	if t.done {
		return errTxDone
	}
	return nil
}

// bucket returns the named bucket; nil when a read-only DB lacks it.
func (t *tx) bucket(name []byte) *bolt.Bucket { return t.btx.Bucket(name) }

// put writes key → value and makes a failure stick to the transaction.
func (t *tx) put(bucket, key, value []byte) error {
	b := t.bucket(bucket)
	if b == nil {
		return t.fail(fmt.Errorf("bucket %s missing", bucket))
	}
	if err := b.Put(key, value); err != nil {
		return t.fail(fmt.Errorf("put in %s: %w", bucket, err))
	}
	return nil
}

// del deletes key and makes a failure stick to the transaction.
func (t *tx) del(bucket, key []byte) error {
	b := t.bucket(bucket)
	if b == nil {
		return t.fail(fmt.Errorf("bucket %s missing", bucket))
	}
	if err := b.Delete(key); err != nil {
		return t.fail(fmt.Errorf("delete in %s: %w", bucket, err))
	}
	return nil
}

func (t *tx) fail(err error) error {
	if t.failed == nil {
		t.failed = err
	}
	return err
}

func (t *tx) get(bucket, key []byte) []byte {
	b := t.bucket(bucket)
	if b == nil {
		return nil
	}
	return b.Get(key)
}

// requestNumber returns n of "Rn" (or "rn"), or an error wrapping
// cs.ErrBadRequestID.
func requestNumber(id cs.RequestID) (uint64, error) {
	id, err := cs.ParseRequestID(string(id))
	if err != nil {
		return 0, err
	}
	return id.Number(), nil
}

// storedNumber is requestNumber for an ID about to be stored, which must
// be written exactly as FormatRequestID writes it.
func storedNumber(id cs.RequestID) (uint64, error) {
	n, err := requestNumber(id)
	if err == nil && cs.FormatRequestID(n) != id {
		err = fmt.Errorf("%w: %q (want %s)", cs.ErrBadRequestID, id, cs.FormatRequestID(n))
	}
	return n, err
}

// Request returns the request, or an error wrapping cs.ErrNotFound (also
// for a malformed ID, which cannot exist).
func (t *tx) Request(id cs.RequestID) (cs.Request, error) {
	if err := t.usable(); err != nil {
		return cs.Request{}, err
	}
	n, err := requestNumber(id)
	if err != nil {
		return cs.Request{}, fmt.Errorf("request %q: %w", id, cs.ErrNotFound)
	}
	v := t.get(bucketRequests, u64Key(n))
	if v == nil {
		return cs.Request{}, fmt.Errorf("request %s: %w", id, cs.ErrNotFound)
	}
	var r cs.Request
	if err := json.Unmarshal(v, &r); err != nil {
		return cs.Request{}, fmt.Errorf("decode request %s: %w", id, err)
	}
	return r, nil
}

// OpenRequests reads only the open-requests index, never closed requests.
func (t *tx) OpenRequests(target string) ([]cs.Request, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	idx := t.bucket(bucketOpenRequests)
	if idx == nil {
		return nil, nil
	}
	var out []cs.Request
	c := idx.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if target != "" && string(v) != target {
			continue
		}
		id := cs.FormatRequestID(binary.BigEndian.Uint64(k))
		r, err := t.Request(id)
		if err != nil {
			return nil, fmt.Errorf("open request index: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// NextRequestID hands out R1, R2, … in order; the number is used up even
// if the request is never stored.
func (t *tx) NextRequestID() (cs.RequestID, error) {
	if err := t.usable(); err != nil {
		return "", err
	}
	last, err := t.lastRequestNumber()
	if err != nil {
		return "", err
	}
	if err := t.put(bucketMeta, metaRequestLast, u64Key(last+1)); err != nil {
		return "", fmt.Errorf("allocate request ID: %w", err)
	}
	return cs.FormatRequestID(last + 1), nil
}

func (t *tx) lastRequestNumber() (uint64, error) {
	v := t.get(bucketMeta, metaRequestLast)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	default:
		return 0, fmt.Errorf("request counter in meta is corrupt (%d bytes)", len(v))
	}
}

// PutRequest stores r and keeps the open-requests index in step with its
// state. r.ID must have come from NextRequestID: storing a number not yet
// handed out is an error, as a later NextRequestID would overwrite it.
func (t *tx) PutRequest(r cs.Request) error {
	if err := t.usable(); err != nil {
		return err
	}
	n, err := storedNumber(r.ID)
	if err != nil {
		return fmt.Errorf("put request: %w", err)
	}
	last, err := t.lastRequestNumber()
	if err != nil {
		return err
	}
	if n > last {
		return fmt.Errorf("put request %s: not allocated by NextRequestID (last is R%d)", r.ID, last)
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode request %s: %w", r.ID, err)
	}
	if err := t.put(bucketRequests, u64Key(n), v); err != nil {
		return fmt.Errorf("put request %s: %w", r.ID, err)
	}
	if r.State.Open() {
		err = t.put(bucketOpenRequests, u64Key(n), []byte(r.Action.Target))
	} else {
		err = t.del(bucketOpenRequests, u64Key(n))
	}
	if err != nil {
		return fmt.Errorf("put request %s: %w", r.ID, err)
	}
	return nil
}
