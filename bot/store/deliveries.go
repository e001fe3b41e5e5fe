package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// deliveryRetention is how long a GitHub delivery ID is remembered.
// GitHub redelivers within hours; a week is plenty.
const deliveryRetention = 7 * 24 * time.Hour

// SeenDelivery records id at time at (zero: now) and reports whether it
// had been recorded before. IDs older than a week before at are forgotten.
func (t *tx) SeenDelivery(id string, at time.Time) (bool, error) {
	if err := t.usable(); err != nil {
		return false, err
	}
	if id == "" {
		return false, errors.New("seen delivery: empty ID")
	}
	if t.get(bucketDeliveries, []byte(id)) != nil {
		return true, nil
	}
	if at.IsZero() {
		at = t.db.now()
	}
	ts := u64Key(uint64(at.UnixNano()))
	if err := t.put(bucketDeliveries, []byte(id), ts); err != nil {
		return false, fmt.Errorf("record delivery %s: %w", id, err)
	}
	if err := t.put(bucketDeliveryTimes, append(ts[:8:8], id...), nil); err != nil {
		return false, fmt.Errorf("record delivery %s: %w", id, err)
	}
	if err := t.pruneByTime(bucketDeliveryTimes, bucketDeliveries, at.Add(-deliveryRetention)); err != nil {
		return false, fmt.Errorf("prune deliveries: %w", err)
	}
	return false, nil
}

// pruneByTime forgets the keys of keyed recorded before cutoff in times
// (time 8 bytes, then the key), a bounded number per call so that one
// write never does much work.
func (t *tx) pruneByTime(times, keyed []byte, cutoff time.Time) error {
	const maxPrune = 100
	cut := uint64(cutoff.UnixNano())
	var old [][]byte
	c := t.bucket(times).Cursor()
	for k, _ := c.First(); k != nil && len(old) < maxPrune; k, _ = c.Next() {
		if len(k) < 8 || binary.BigEndian.Uint64(k) >= cut {
			break
		}
		old = append(old, append([]byte(nil), k...))
	}
	for _, k := range old {
		if err := t.del(times, k); err != nil {
			return err
		}
		if err := t.del(keyed, k[8:]); err != nil {
			return err
		}
	}
	return nil
}
