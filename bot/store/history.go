package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"

	cs "github.com/countersign/countersign"
)

// Locks and deployment history.

// Lock returns the lock on target; ok is false when there is none.
func (t *tx) Lock(target string) (cs.Lock, bool, error) {
	if err := t.usable(); err != nil {
		return cs.Lock{}, false, err
	}
	v := t.get(bucketLocks, []byte(target))
	if v == nil {
		return cs.Lock{}, false, nil
	}
	var l cs.Lock
	if err := json.Unmarshal(v, &l); err != nil {
		return cs.Lock{}, false, fmt.Errorf("decode lock on %s: %w", target, err)
	}
	return l, true, nil
}

// Locks returns every lock, ordered by target.
func (t *tx) Locks() ([]cs.Lock, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	b := t.bucket(bucketLocks)
	if b == nil {
		return nil, nil
	}
	var out []cs.Lock
	err := b.ForEach(func(k, v []byte) error {
		var l cs.Lock
		if err := json.Unmarshal(v, &l); err != nil {
			return fmt.Errorf("decode lock on %s: %w", k, err)
		}
		out = append(out, l)
		return nil
	})
	return out, err
}

// PutLock sets (or replaces) the lock on l.Target.
func (t *tx) PutLock(l cs.Lock) error {
	if err := t.usable(); err != nil {
		return err
	}
	if l.Target == "" {
		return errors.New("put lock: empty target")
	}
	v, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("encode lock on %s: %w", l.Target, err)
	}
	if err := t.put(bucketLocks, []byte(l.Target), v); err != nil {
		return fmt.Errorf("put lock on %s: %w", l.Target, err)
	}
	return nil
}

// DeleteLock removes the lock on target; no lock is not an error.
func (t *tx) DeleteLock(target string) error {
	if err := t.usable(); err != nil {
		return err
	}
	if target == "" {
		return nil
	}
	if err := t.del(bucketLocks, []byte(target)); err != nil {
		return fmt.Errorf("delete lock on %s: %w", target, err)
	}
	return nil
}

// PutDeployment stores d under its target and request number; storing the
// same ID again replaces it (started, then finished).
func (t *tx) PutDeployment(d cs.Deployment) error {
	if err := t.usable(); err != nil {
		return err
	}
	if d.Target == "" {
		return fmt.Errorf("put deployment %s: empty target", d.ID)
	}
	n, err := storedNumber(d.ID)
	if err != nil {
		return fmt.Errorf("put deployment: %w", err)
	}
	v, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode deployment %s: %w", d.ID, err)
	}
	if err := t.put(bucketDeployments, prefixKey(d.Target, n), v); err != nil {
		return fmt.Errorf("put deployment %s: %w", d.ID, err)
	}
	return nil
}

// Deployments returns target's deployments by request number, newest
// first, at most limit (limit <= 0: all).
func (t *tx) Deployments(target string, limit int) ([]cs.Deployment, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	b := t.bucket(bucketDeployments)
	if b == nil {
		return nil, nil
	}
	var out []cs.Deployment
	prefix, end := rangeOf(target)
	c := b.Cursor()
	for k, v := seekBefore(c, end); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
		if _, ok := prefixNumber(prefix, k); !ok {
			if string(k) < string(prefix) {
				break
			}
			continue
		}
		d, err := t.db.decoded.decode(k, v, limit > 0)
		if err != nil {
			return nil, fmt.Errorf("decode deployment %x: %w", k, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// seekBefore positions c on the last key before end.
func seekBefore(c *bolt.Cursor, end []byte) (k, v []byte) {
	if k, _ := c.Seek(end); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// maxMemoDeployments bounds deploymentMemo: enough for the newest few
// deployments of a large estate's every service.
const maxMemoDeployments = 4096

// deploymentMemo keeps decoded deployment records beside their stored
// bytes. The overview and the drift sweeps read every service's newest
// deployments again and again, and decoding the JSON was most of that
// time. A decoded record is reused only for the very same bytes, so it is
// a memo of the decoding, never a stale copy of the store.
type deploymentMemo struct {
	mu    sync.Mutex
	byKey map[string]memoDeployment
}

type memoDeployment struct {
	raw []byte
	d   cs.Deployment
}

// decode decodes the record v stored under k, from the memo if it holds
// the same bytes; keep says to add it (short reads of the newest do,
// whole histories do not, as they would only churn the memo).
func (m *deploymentMemo) decode(k, v []byte, keep bool) (cs.Deployment, error) {
	m.mu.Lock()
	e, ok := m.byKey[string(k)]
	m.mu.Unlock()
	if ok && bytes.Equal(e.raw, v) {
		d := e.d
		d.Approvers = slices.Clone(d.Approvers) // the caller may change its copy
		return d, nil
	}
	var d cs.Deployment
	if err := json.Unmarshal(v, &d); err != nil {
		return d, err
	}
	if keep {
		e := memoDeployment{raw: bytes.Clone(v), d: d} // v lives only as long as the transaction
		e.d.Approvers = slices.Clone(d.Approvers)
		m.mu.Lock()
		if m.byKey == nil || len(m.byKey) >= maxMemoDeployments {
			m.byKey = make(map[string]memoDeployment, maxMemoDeployments)
		}
		m.byKey[string(k)] = e
		m.mu.Unlock()
	}
	return d, nil
}
