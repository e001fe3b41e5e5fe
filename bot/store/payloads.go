package store

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/countersign/countersign/bot"
)

// Payload returns what is kept of the webhook payload with digest.
func (t *tx) Payload(digest string) (bot.PayloadSeen, bool, error) {
	if err := t.usable(); err != nil {
		return bot.PayloadSeen{}, false, err
	}
	v := t.get(bucketPayloads, []byte(digest))
	if v == nil {
		return bot.PayloadSeen{}, false, nil
	}
	var p bot.PayloadSeen
	if err := json.Unmarshal(v, &p); err != nil {
		return p, false, fmt.Errorf("decode payload %s: %w", digest, err)
	}
	return p, true, nil
}

// PutPayload keeps p under digest, indexed by p.At (its first sight) so
// that it is forgotten after deliveryRetention, like delivery IDs.
func (t *tx) PutPayload(digest string, p bot.PayloadSeen) error {
	if err := t.usable(); err != nil {
		return err
	}
	if digest == "" || p.At.IsZero() {
		return errors.New("put payload: digest and time are required")
	}
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode payload %s: %w", digest, err)
	}
	if t.get(bucketPayloads, []byte(digest)) == nil {
		ts := u64Key(uint64(p.At.UnixNano()))
		if err := t.put(bucketPayloadTimes, append(ts, digest...), nil); err != nil {
			return fmt.Errorf("put payload %s: %w", digest, err)
		}
	}
	if err := t.put(bucketPayloads, []byte(digest), v); err != nil {
		return fmt.Errorf("put payload %s: %w", digest, err)
	}
	if err := t.pruneByTime(bucketPayloadTimes, bucketPayloads, p.At.Add(-deliveryRetention)); err != nil {
		return fmt.Errorf("prune payloads: %w", err)
	}
	return nil
}
