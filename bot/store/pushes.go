package store

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/countersign/countersign/bot"
)

func pushKey(service, sha string) []byte {
	return append(append([]byte(service), 0), sha...)
}

// PutPush stores a push thread under (service, sha).
func (t *tx) PutPush(rec bot.PushRecord) error {
	if err := t.usable(); err != nil {
		return err
	}
	if rec.Service == "" || rec.Push.SHA == "" {
		return fmt.Errorf("put push: service and commit are required")
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode push %s@%s: %w", rec.Service, rec.Push.SHA, err)
	}
	return t.put(bucketPushes, pushKey(rec.Service, rec.Push.SHA), v)
}

// PushRecord returns the push thread of (service, sha).
func (t *tx) PushRecord(service, sha string) (bot.PushRecord, bool, error) {
	if err := t.usable(); err != nil {
		return bot.PushRecord{}, false, err
	}
	v := t.get(bucketPushes, pushKey(service, sha))
	if v == nil {
		return bot.PushRecord{}, false, nil
	}
	var rec bot.PushRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, false, fmt.Errorf("decode push %s@%s: %w", service, sha, err)
	}
	return rec, true, nil
}

// Pushes returns the push threads in state, oldest update first. It reads
// the whole bucket: push threads are few (one per service and commit),
// and old finished ones could be pruned if that ever changes.
func (t *tx) Pushes(state bot.PushState) ([]bot.PushRecord, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	b := t.bucket(bucketPushes)
	if b == nil {
		return nil, nil
	}
	var out []bot.PushRecord
	err := b.ForEach(func(k, v []byte) error {
		var rec bot.PushRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode push %q: %w", k, err)
		}
		if rec.State == state {
			out = append(out, rec)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Updated.Before(out[j].Updated) })
	return out, err
}
