package bot

import (
	"context"
	"errors"
	"strconv"
	"time"

	cs "github.com/countersign/countersign"
)

// Op is what a queued chat message does.
type Op string

const (
	OpPost      Op = "post"
	OpUpdate    Op = "update"
	OpEphemeral Op = "ephemeral"
)

// Outgoing is one chat call waiting in the outbox. The workflow never
// calls the chat itself: it queues what it says in the store, and the
// outbox delivers it in order, retrying while the chat is down, so that a
// Slack outage (or a restart during one) loses nothing.
type Outgoing struct {
	Seq uint64 `json:"seq"`
	Op  Op     `json:"op"`
	// ID is the bot's message: the one a post creates (LocalMessageID of
	// Seq) or the one an update replaces.
	ID      string    `json:"id,omitempty"`
	To      Caller    `json:"to,omitempty"` // ephemeral: who sees it
	Message Message   `json:"message"`
	Queued  time.Time `json:"queued"`
}

// LocalMessageID is the bot's name for the message posted by outbox entry seq.
func LocalMessageID(seq uint64) string { return "M" + strconv.FormatUint(seq, 10) }

// Outbox retry delays while the chat is failing.
const (
	outboxFirstRetry = time.Second
	outboxMaxRetry   = 30 * time.Second
)

// post queues a new message and returns its reference at once; the chat
// gets it when the outbox reaches it. A message the store could not keep
// is logged and lost: the audit trail, not chat, is the record.
func (b *Bot) post(ctx context.Context, msg Message) cs.MessageRef {
	o, err := b.queue(ctx, Outgoing{Op: OpPost, Message: msg})
	if err != nil {
		b.log.Error("queue chat post", "channel", msg.Channel, "err", err)
		return cs.MessageRef{}
	}
	return cs.MessageRef{ID: o.ID, Channel: msg.Channel}
}

// update queues the replacement of message ref. While the chat is failing,
// it replaces the queued updates of the same message (and the queued post
// itself), so that a long outage ends in one call per message.
func (b *Bot) update(ctx context.Context, ref cs.MessageRef, msg Message) {
	if ref.ID == "" {
		b.log.Warn("update of a message the bot did not post", "channel", ref.Channel, "ts", ref.TS)
		return
	}
	var added, removed int
	err := b.store.Update(ctx, func(tx Tx) error {
		added, removed = 0, 0
		if b.outboxStalled() {
			merged, n, err := b.coalesce(tx, ref.ID, msg)
			if err != nil || merged {
				removed = n
				return err
			}
			removed = n
		}
		_, err := tx.QueueOutgoing(Outgoing{Op: OpUpdate, ID: ref.ID, Message: msg, Queued: b.now()})
		added = 1
		return err
	})
	if err != nil {
		b.log.Error("queue chat update", "message", ref.ID, "err", err)
		return
	}
	b.counted(added, removed)
}

// coalesce folds msg into what is queued for message id, skipping the
// entry being delivered: it rewrites a queued post of it (merged), or
// deletes its queued updates (n of them) so that msg replaces them.
func (b *Bot) coalesce(tx Tx, id string, msg Message) (merged bool, n int, err error) {
	queued, err := tx.Outbox(0)
	if err != nil {
		return false, 0, err
	}
	inflight := b.inflight()
	for _, o := range queued {
		if o.Seq == inflight || o.ID != id {
			continue
		}
		switch o.Op {
		case OpPost:
			msg.Channel, msg.Thread = o.Message.Channel, o.Message.Thread
			o.Message = msg
			return true, n, tx.PutOutgoing(o)
		case OpUpdate:
			if err := tx.DeleteOutgoing(o.Seq); err != nil {
				return false, n, err
			}
			n++
		}
	}
	return false, n, nil
}

// ephemeral queues a reply only the caller sees.
func (b *Bot) ephemeral(ctx context.Context, to Caller, msg Message) {
	if _, err := b.queue(ctx, Outgoing{Op: OpEphemeral, To: to, Message: msg}); err != nil {
		b.log.Error("queue ephemeral reply", "user", to.User, "err", err)
	}
}

func (b *Bot) queue(ctx context.Context, o Outgoing) (Outgoing, error) {
	o.Queued = b.now()
	var stored Outgoing
	err := b.store.Update(ctx, func(tx Tx) error {
		var err error
		stored, err = tx.QueueOutgoing(o)
		return err
	})
	if err != nil {
		return o, err
	}
	b.counted(1, 0)
	return stored, nil
}

// counted keeps the count of queued messages that Idle waits for, and
// wakes the delivery loop.
func (b *Bot) counted(added, removed int) {
	for range added {
		b.outq.add()
	}
	for range removed {
		b.outq.done()
	}
	if added > 0 {
		select {
		case b.outboxKick <- struct{}{}:
		default:
		}
	}
}

func (b *Bot) inflight() uint64 {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	return b.outInflight
}

func (b *Bot) outboxStalled() bool {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	return b.outStalled
}

// deliverLoop delivers the outbox in order until the bot closes.
func (b *Bot) deliverLoop() {
	for {
		b.drain(b.ctx)
		select {
		case <-b.ctx.Done():
			return
		case <-b.outboxKick:
		}
	}
}

// drain delivers queued messages oldest first until none is left. A
// failed call is retried, with growing delays, until it succeeds or the
// chat rejects it for good (ErrChatRejected), in which case it is logged
// and dropped: one bad message must not hold up every other.
func (b *Bot) drain(ctx context.Context) {
	delay := outboxFirstRetry
	for ctx.Err() == nil {
		head, ok := b.head(ctx)
		if !ok {
			return
		}
		ref, err := b.deliver(ctx, head)
		if err != nil && !errors.Is(err, ErrChatRejected) {
			b.log.Warn("chat call failed; will retry", "op", head.Op, "message", head.ID, "seq", head.Seq, "retry_in", delay, "err", err)
			b.setStalled(true)
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			}
			delay = min(2*delay, outboxMaxRetry)
			continue
		}
		if err != nil {
			b.log.Error("chat refused a message; dropped", "op", head.Op, "message", head.ID, "channel", head.Message.Channel, "err", err)
		}
		delay = outboxFirstRetry
		if err := b.store.Update(ctx, func(tx Tx) error {
			if ref.TS != "" {
				if err := tx.PutMessageRef(ref); err != nil {
					return err
				}
			}
			return tx.DeleteOutgoing(head.Seq)
		}); err != nil {
			b.log.Error("record delivered message", "seq", head.Seq, "err", err)
			return
		}
		b.outMu.Lock()
		b.outInflight = 0
		b.outMu.Unlock()
		b.outq.done()
	}
}

func (b *Bot) setStalled(v bool) {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	b.outStalled = v
}

// head reads the oldest queued message and marks it in flight, so that
// coalescing leaves it alone.
func (b *Bot) head(ctx context.Context) (Outgoing, bool) {
	b.outMu.Lock()
	defer b.outMu.Unlock()
	var q []Outgoing
	if err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		q, err = tx.Outbox(1)
		return err
	}); err != nil {
		b.log.Error("read outbox", "err", err)
		return Outgoing{}, false
	}
	if len(q) == 0 {
		b.outInflight, b.outStalled = 0, false
		return Outgoing{}, false
	}
	b.outInflight = q[0].Seq
	return q[0], true
}

// deliver makes one chat call, resolving the bot's message IDs to the
// chat's references. For a post it returns where the message went.
func (b *Bot) deliver(ctx context.Context, o Outgoing) (cs.MessageRef, error) {
	switch o.Op {
	case OpPost:
		msg := o.Message
		if msg.Thread.ID != "" {
			parent, err := b.resolve(ctx, msg.Thread)
			if err != nil {
				return cs.MessageRef{}, err
			}
			msg.Thread = parent
		}
		ref, err := b.chat.Post(ctx, msg)
		if err != nil {
			return cs.MessageRef{}, err
		}
		ref.ID = o.ID
		return ref, nil
	case OpUpdate:
		ref, err := b.resolve(ctx, cs.MessageRef{ID: o.ID})
		if err != nil {
			return cs.MessageRef{}, err
		}
		return cs.MessageRef{}, b.chat.Update(ctx, ref, o.Message)
	case OpEphemeral:
		return cs.MessageRef{}, b.chat.Ephemeral(ctx, o.To, o.Message)
	}
	return cs.MessageRef{}, errors.Join(ErrChatRejected, errors.New("unknown outbox op "+string(o.Op)))
}

// errNeverPosted is returned for a message whose post was dropped.
var errNeverPosted = errors.New("the message it refers to was never posted")

func (b *Bot) resolve(ctx context.Context, ref cs.MessageRef) (cs.MessageRef, error) {
	if ref.TS != "" {
		return ref, nil
	}
	var got cs.MessageRef
	var ok bool
	err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		got, ok, err = tx.MessageRef(ref.ID)
		return err
	})
	if err != nil {
		return cs.MessageRef{}, err
	}
	if !ok {
		return cs.MessageRef{}, errors.Join(ErrChatRejected, errNeverPosted)
	}
	return got, nil
}

// MessageLink returns where the chat put the bot's message ref (ok false
// while it is still queued), e.g. to link a Slack thread from a web page.
func (b *Bot) MessageLink(ctx context.Context, ref cs.MessageRef) (cs.MessageRef, bool) {
	got, err := b.resolve(ctx, ref)
	return got, err == nil
}
