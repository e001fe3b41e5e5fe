package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// QueueOutgoing appends o to the outbox with the next sequence number,
// which is never reused, and returns it as stored.
func (t *tx) QueueOutgoing(o bot.Outgoing) (bot.Outgoing, error) {
	if err := t.usable(); err != nil {
		return o, err
	}
	b := t.bucket(bucketOutbox)
	if b == nil {
		return o, errors.New("queue message: outbox bucket missing")
	}
	seq, err := b.NextSequence()
	if err != nil {
		return o, t.fail(fmt.Errorf("queue message: %w", err))
	}
	o.Seq = seq
	if o.ID == "" { // an update carries the ID of what it updates
		o.ID = bot.LocalMessageID(seq)
	}
	return o, t.PutOutgoing(o)
}

// PutOutgoing replaces the queued message o.Seq.
func (t *tx) PutOutgoing(o bot.Outgoing) error {
	if err := t.usable(); err != nil {
		return err
	}
	v, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode queued message %d: %w", o.Seq, err)
	}
	if err := t.put(bucketOutbox, u64Key(o.Seq), v); err != nil {
		return fmt.Errorf("queue message %d: %w", o.Seq, err)
	}
	return nil
}

// DeleteOutgoing removes a delivered (or dropped) message; a missing one
// is not an error.
func (t *tx) DeleteOutgoing(seq uint64) error {
	if err := t.usable(); err != nil {
		return err
	}
	return t.del(bucketOutbox, u64Key(seq))
}

// Outbox returns queued messages, oldest first, at most limit (<= 0: all).
func (t *tx) Outbox(limit int) ([]bot.Outgoing, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	b := t.bucket(bucketOutbox)
	if b == nil {
		return nil, nil
	}
	var out []bot.Outgoing
	c := b.Cursor()
	for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
		var o bot.Outgoing
		if err := json.Unmarshal(v, &o); err != nil {
			return nil, fmt.Errorf("decode queued message %d: %w", binary.BigEndian.Uint64(k), err)
		}
		out = append(out, o)
	}
	return out, nil
}

// PutMessageRef records where the chat put the bot's message ref.ID.
func (t *tx) PutMessageRef(ref cs.MessageRef) error {
	if err := t.usable(); err != nil {
		return err
	}
	if ref.ID == "" {
		return errors.New("put message ref: no local ID")
	}
	v, err := json.Marshal(ref)
	if err != nil {
		return fmt.Errorf("encode message ref %s: %w", ref.ID, err)
	}
	return t.put(bucketMessages, []byte(ref.ID), v)
}

// MessageRef returns the chat's reference for the bot's message id; ok is
// false while it has not been delivered.
func (t *tx) MessageRef(id string) (cs.MessageRef, bool, error) {
	if err := t.usable(); err != nil {
		return cs.MessageRef{}, false, err
	}
	v := t.get(bucketMessages, []byte(id))
	if v == nil {
		return cs.MessageRef{}, false, nil
	}
	var ref cs.MessageRef
	if err := json.Unmarshal(v, &ref); err != nil {
		return cs.MessageRef{}, false, fmt.Errorf("decode message ref %s: %w", id, err)
	}
	return ref, true, nil
}

// maxAside bounds the aside list: beyond it the oldest entries go (the
// audit trail keeps an outbox.abandoned record of each).
const maxAside = 1000

// SetAside moves a.Entry from the outbox into the aside list, under the
// same sequence number.
func (t *tx) SetAside(a bot.Aside) error {
	if err := t.usable(); err != nil {
		return err
	}
	v, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode entry %d set aside: %w", a.Entry.Seq, err)
	}
	if err := t.del(bucketOutbox, u64Key(a.Entry.Seq)); err != nil {
		return err
	}
	if err := t.put(bucketAside, u64Key(a.Entry.Seq), v); err != nil {
		return fmt.Errorf("set entry %d aside: %w", a.Entry.Seq, err)
	}
	var keys [][]byte
	c := t.bucket(bucketAside).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		keys = append(keys, k)
	}
	for _, k := range keys[:max(0, len(keys)-maxAside)] {
		if err := t.del(bucketAside, bytes.Clone(k)); err != nil {
			return err
		}
	}
	return nil
}

// Aside returns the entries set aside, oldest first.
func (t *tx) Aside() ([]bot.Aside, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	b := t.bucket(bucketAside)
	if b == nil {
		return nil, nil
	}
	var out []bot.Aside
	err := b.ForEach(func(k, v []byte) error {
		var a bot.Aside
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("decode entry %d set aside: %w", binary.BigEndian.Uint64(k), err)
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// AsideSummary returns how many entries are set aside and when the newest
// was; it decodes only the newest.
func (t *tx) AsideSummary() (int, time.Time, error) {
	if err := t.usable(); err != nil {
		return 0, time.Time{}, err
	}
	b := t.bucket(bucketAside)
	if b == nil {
		return 0, time.Time{}, nil
	}
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	k, v := c.Last()
	if k == nil {
		return 0, time.Time{}, nil
	}
	var a bot.Aside
	if err := json.Unmarshal(v, &a); err != nil {
		return 0, time.Time{}, fmt.Errorf("decode entry %d set aside: %w", binary.BigEndian.Uint64(k), err)
	}
	return n, a.At, nil
}
