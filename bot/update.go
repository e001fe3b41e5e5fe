package bot

import (
	"context"

	cs "github.com/countersign/countersign"
)

// update is one store transaction of the bot: the state it changes and
// the outbox entries it queues commit together, and the delivery lanes
// learn of those entries only once it commits. It is the only way the
// bot queues: nothing outside it counts entries for Idle or wakes a lane.
type update struct {
	Tx
	b *Bot
	// added and removed are the entries queued and coalesced away, per
	// lane, in this run of the transaction.
	added, removed map[Lane]int
}

// update runs fn in one store transaction. A store may run fn more than
// once (a retry): each run starts from a fresh tally, and only the run
// that commits is passed to the lanes.
func (b *Bot) update(ctx context.Context, fn func(u *update) error) error {
	var u *update
	err := b.store.Update(ctx, func(tx Tx) error {
		u = &update{Tx: tx, b: b, added: map[Lane]int{}, removed: map[Lane]int{}}
		return fn(u)
	})
	if err != nil {
		return err
	}
	for name, l := range b.lanes {
		l.counted(u.added[name], u.removed[name])
	}
	return nil
}

// queue appends o to the outbox, stamped now unless it is already, and returns it as stored
// (with its Seq, and for a post or a deployment its ID).
func (u *update) queue(o Outgoing) (Outgoing, error) {
	if o.Queued.IsZero() {
		o.Queued = u.b.now()
	}
	stored, err := u.Tx.QueueOutgoing(o)
	if err != nil {
		return stored, err
	}
	u.added[o.Lane]++
	return stored, nil
}

// QueueOutgoing is queue: an update passed on as a Tx still counts what
// is queued through it.
func (u *update) QueueOutgoing(o Outgoing) (Outgoing, error) { return u.queue(o) }

// post queues msg as a new chat message and returns the bot's reference
// to it.
func (u *update) post(msg Message) (cs.MessageRef, error) {
	o, err := u.queue(Outgoing{Op: OpPost, Message: msg})
	if err != nil {
		return cs.MessageRef{}, err
	}
	return cs.MessageRef{ID: o.ID, Channel: msg.Channel}, nil
}

// reply queues text as a reply in thread.
func (u *update) reply(thread cs.MessageRef, text Markup) error {
	_, err := u.queue(Outgoing{Op: OpPost, Message: Message{Channel: thread.Channel, Thread: thread, Text: text}})
	return err
}

// edit queues the replacement of message ref by msg. While the chat is
// failing, it replaces the queued updates of the same message (and the
// queued post itself), so that a long outage ends in one call per message.
func (u *update) edit(ref cs.MessageRef, msg Message) error {
	if u.b.lanes[LaneChat].isStalled() {
		merged, n, err := u.b.coalesce(u.Tx, ref.ID, msg)
		u.removed[LaneChat] += n
		if err != nil || merged {
			return err
		}
	}
	_, err := u.queue(Outgoing{Op: OpUpdate, ID: ref.ID, Message: msg})
	return err
}

// report queues r for the code host under the bot's ID id ("" for one of
// its own) and returns that ID. While the code host is failing, it drops
// the queued reports r makes stale.
func (u *update) report(id string, r Report) (string, error) {
	if id == "" && u.b.lanes[LaneGitHub].isStalled() {
		n, err := u.b.coalesceReport(u.Tx, r)
		u.removed[LaneGitHub] += n
		if err != nil {
			return "", err
		}
	}
	o, err := u.queue(Outgoing{Lane: LaneGitHub, Op: OpReport, ID: id, Report: &r})
	return o.ID, err
}
