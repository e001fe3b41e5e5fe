package bot

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	cs "github.com/countersign/countersign"
)

// Op is what a queued entry does.
type Op string

const (
	OpPost      Op = "post"
	OpUpdate    Op = "update"
	OpEphemeral Op = "ephemeral"
	OpReport    Op = "report" // a commit status or deployment for the code host
)

// Lane is an outbox queue with a delivery loop of its own: chat, and the
// code host, so that a GitHub outage does not hold up Slack (or back).
type Lane string

const (
	LaneChat   Lane = ""
	LaneGitHub Lane = "github"
)

// Outgoing is one call waiting in the outbox. The workflow never calls
// the chat or the code host itself: it queues what it says in the store,
// and the outbox delivers it in order, retrying while the other side is
// down, so that an outage (or a restart during one) loses nothing.
type Outgoing struct {
	Seq  uint64 `json:"seq"`
	Lane Lane   `json:"lane,omitempty"`
	Op   Op     `json:"op"`
	// ID is the bot's name for what the entry creates (a message, a
	// deployment: LocalMessageID of Seq), or for an update the message it
	// replaces.
	ID string `json:"id,omitempty"`
	To Caller `json:"to,omitempty"` // ephemeral: who sees it
	// Notify, for a post, is told when the chat refuses it for good.
	Notify  *Caller   `json:"notify,omitempty"`
	Message Message   `json:"message,omitempty"`
	Report  *Report   `json:"report,omitempty"`
	Queued  time.Time `json:"queued"`
	// Failing is when its delivery first failed (zero while it has not):
	// the outbox gives up on it GiveUpAfter later.
	Failing time.Time `json:"failing,omitzero"`
}

// LocalMessageID is the bot's name for what outbox entry seq creates.
func LocalMessageID(seq uint64) string { return "M" + strconv.FormatUint(seq, 10) }

// Outbox retry delays while the other side is failing.
const (
	outboxFirstRetry = time.Second
	outboxMaxRetry   = 30 * time.Second
)

// lane is the delivery state of one Lane.
type lane struct {
	name Lane
	kick chan struct{} // wakes the delivery loop
	q    tracker       // queued entries, for Idle

	mu       sync.Mutex
	inflight uint64 // the entry being delivered, 0 for none
	stalled  bool   // the last delivery failed: coalesce updates
	// unrecorded is an entry delivered whose delivery the store could not
	// record yet: it is recorded, not delivered again (a second card).
	unrecorded *delivered
}

// delivered is an entry made, and what it created.
type delivered struct {
	seq uint64
	ref cs.MessageRef
}

func newLanes() map[Lane]*lane {
	return map[Lane]*lane{
		LaneChat:   {name: LaneChat, kick: make(chan struct{}, 1)},
		LaneGitHub: {name: LaneGitHub, kick: make(chan struct{}, 1)},
	}
}

func (l *lane) inFlight() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight
}

func (l *lane) isStalled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stalled
}

func (l *lane) set(inflight uint64, stalled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight, l.stalled = inflight, stalled
}

// post queues a new message and returns its reference at once; the chat
// gets it when the outbox reaches it. A message the store could not keep
// is logged and lost: the audit trail, not chat, is the record.
func (b *Bot) post(ctx context.Context, msg Message) cs.MessageRef {
	return b.postNotify(ctx, msg, nil)
}

// postNotify is post, telling notify (ephemerally, where they typed) if
// the chat refuses the message for good: a request must not wait for
// approvals in a message nobody can see without its requester knowing.
func (b *Bot) postNotify(ctx context.Context, msg Message, notify *Caller) cs.MessageRef {
	o, err := b.queue(ctx, Outgoing{Op: OpPost, Message: msg, Notify: notify})
	if err != nil {
		b.log.Error("queue chat post", "channel", msg.Channel, "err", err)
		return cs.MessageRef{}
	}
	return cs.MessageRef{ID: o.ID, Channel: msg.Channel}
}

// edit queues the replacement of message ref (see update.edit).
func (b *Bot) edit(ctx context.Context, ref cs.MessageRef, msg Message) {
	if ref.ID == "" {
		b.log.Warn("update of a message the bot did not post", "channel", ref.Channel, "ts", ref.TS)
		return
	}
	err := b.update(ctx, func(u *update) error { return u.edit(ref, msg) })
	if err != nil {
		b.log.Error("queue chat update", "message", ref.ID, "err", err)
	}
}

// coalesce folds msg into what is queued for message id, skipping the
// entry being delivered: it rewrites a queued post of it (merged), or
// deletes its queued updates (n of them) so that msg replaces them.
func (b *Bot) coalesce(tx Tx, id string, msg Message) (merged bool, n int, err error) {
	queued, err := tx.Outbox(0)
	if err != nil {
		return false, 0, err
	}
	inflight := b.lanes[LaneChat].inFlight()
	for _, o := range queued {
		if o.Lane != LaneChat || o.Seq == inflight || o.ID != id {
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

// report queues a report for the code host, if the bot has a reporter,
// and returns the bot's ID of it (for a deployment, what later statuses
// refer to).
func (b *Bot) report(ctx context.Context, r Report) string {
	if b.cfg.Reporter == nil || r.Repo == "" || r.SHA == "" {
		return ""
	}
	var id string
	err := b.update(ctx, func(u *update) error {
		var err error
		id, err = u.report("", r)
		return err
	})
	if err != nil {
		b.log.Error("queue report", "repo", r.Repo, "err", err)
		return ""
	}
	return id
}

// coalesceReport deletes the queued reports that r makes stale, skipping
// the one being delivered: earlier commit statuses of the same commit and
// context, earlier statuses of the same deployment. While the code host
// is unreachable only the newest state of each is worth sending; the
// deployment itself is always kept.
func (b *Bot) coalesceReport(tx Tx, r Report) (n int, err error) {
	queued, err := tx.Outbox(0)
	if err != nil {
		return 0, err
	}
	inflight := b.lanes[LaneGitHub].inFlight()
	for _, o := range queued {
		if o.Lane != LaneGitHub || o.Seq == inflight || o.Report == nil {
			continue
		}
		q := o.Report
		stale := false
		switch {
		case r.Status != nil && q.Status != nil:
			stale = q.Repo == r.Repo && q.SHA == r.SHA && q.Status.Context == r.Status.Context
		case r.DeploymentStatus != nil && q.DeploymentStatus != nil:
			stale = q.DeploymentStatus.Deployment == r.DeploymentStatus.Deployment
		}
		if stale {
			if err := tx.DeleteOutgoing(o.Seq); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// queue queues o in a transaction of its own.
func (b *Bot) queue(ctx context.Context, o Outgoing) (Outgoing, error) {
	var stored Outgoing
	err := b.update(ctx, func(u *update) error {
		var err error
		stored, err = u.queue(o)
		return err
	})
	return stored, err
}

// counted keeps the count of queued entries that Idle waits for, and
// wakes the lane's delivery loop.
func (l *lane) counted(added, removed int) {
	for range added {
		l.q.add()
	}
	for range removed {
		l.q.done()
	}
	if added > 0 {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// deliverLoop delivers a lane in order until the bot closes.
func (b *Bot) deliverLoop(l *lane) {
	for {
		b.drain(b.ctx, l)
		select {
		case <-b.ctx.Done():
			return
		case <-l.kick:
		}
	}
}

// drain delivers a lane's entries oldest first until none is left. A
// failed call is retried, with growing delays, until it succeeds; an
// entry the other side refuses for good (ErrChatRejected), or that has
// kept failing for longer than GiveUpAfter, is set aside (see Aside):
// one bad entry must not hold up every other. An entry delivered whose
// delivery the store cannot record yet is recorded later, never
// delivered again (a second card).
func (b *Bot) drain(ctx context.Context, l *lane) {
	delay := outboxFirstRetry
	for ctx.Err() == nil {
		head, ok := b.head(ctx, l)
		if !ok {
			return
		}
		var ref cs.MessageRef
		var err error
		l.mu.Lock()
		made := l.unrecorded
		l.mu.Unlock()
		if made != nil && made.seq == head.Seq {
			ref = made.ref // delivered already: only its record is missing
		} else {
			ref, err = b.deliver(ctx, head)
		}
		if err != nil && ctx.Err() != nil {
			return // shutting down: not the entry's fault
		}
		reason := ""
		if err != nil {
			reason = AsideRefused
			if !errors.Is(err, ErrChatRejected) {
				reason = b.retryOrGiveUp(ctx, l, head, delay, err)
			}
		}
		if reason == "" && err != nil {
			delay = min(2*delay, outboxMaxRetry)
			continue
		}
		var recErr error
		if reason != "" {
			recErr = b.setAside(ctx, l, head, reason, err)
		} else {
			recErr = b.store.Update(ctx, func(tx Tx) error {
				if ref.TS != "" {
					if err := tx.PutMessageRef(ref); err != nil {
						return err
					}
				}
				if err := b.auditDelivered(tx, head); err != nil {
					return err
				}
				return tx.DeleteOutgoing(head.Seq)
			})
		}
		if recErr != nil {
			b.log.Error("record outbox entry done; will retry", "lane", LaneName(l.name), "seq", head.Seq, "retry_in", delay, "err", recErr)
			if reason == "" {
				l.mu.Lock()
				l.unrecorded = &delivered{seq: head.Seq, ref: ref}
				l.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(delay):
			case <-l.kick: // something new was queued: the store writes again
			}
			delay = min(2*delay, outboxMaxRetry)
			continue
		}
		delay = outboxFirstRetry
		l.mu.Lock()
		l.inflight, l.unrecorded = 0, nil
		l.mu.Unlock()
		l.q.done()
	}
}

// retryOrGiveUp handles a failure that may heal: it returns AsideGaveUp
// once head has been failing for GiveUpAfter, and otherwise waits delay
// and returns "" for another try.
func (b *Bot) retryOrGiveUp(ctx context.Context, l *lane, head Outgoing, delay time.Duration, err error) string {
	l.set(head.Seq, true)
	since, serr := b.failingSince(ctx, head)
	if serr != nil {
		b.log.Error("record outbox failure", "seq", head.Seq, "err", serr)
	}
	if b.now().Sub(since) >= b.giveUpAfter() {
		return AsideGaveUp
	}
	b.log.Warn("outbox call failed; will retry", "lane", LaneName(l.name), "op", head.Op, "id", head.ID, "seq", head.Seq,
		"retry_in", delay, "failing_since", since, "err", err)
	select {
	case <-ctx.Done():
	case <-time.After(delay):
	}
	return ""
}

// head reads the lane's oldest entry and marks it in flight, so that
// coalescing leaves it alone.
func (b *Bot) head(ctx context.Context, l *lane) (Outgoing, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var q []Outgoing
	if err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		q, err = tx.Outbox(0)
		return err
	}); err != nil {
		b.log.Error("read outbox", "err", err)
		return Outgoing{}, false
	}
	for _, o := range q {
		if o.Lane == l.name {
			l.inflight = o.Seq
			return o, true
		}
	}
	l.inflight, l.stalled = 0, false
	return Outgoing{}, false
}

// deliver makes one call, resolving the bot's IDs to the other side's
// references. For what it creates it returns where that went (Slack's ts,
// GitHub's deployment ID).
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
	case OpReport:
		return b.deliverReport(ctx, o)
	}
	return cs.MessageRef{}, errors.Join(ErrChatRejected, errors.New("unknown outbox op "+string(o.Op)))
}

func (b *Bot) deliverReport(ctx context.Context, o Outgoing) (cs.MessageRef, error) {
	if b.cfg.Reporter == nil || o.Report == nil {
		return cs.MessageRef{}, errors.Join(ErrChatRejected, errors.New("no code host to report to"))
	}
	r := *o.Report
	if ds := r.DeploymentStatus; ds != nil {
		dep, err := b.resolve(ctx, cs.MessageRef{ID: ds.Deployment})
		if err != nil {
			return cs.MessageRef{}, err
		}
		s := *ds
		s.Deployment = dep.TS
		r.DeploymentStatus = &s
	}
	id, err := b.cfg.Reporter.Report(ctx, r)
	if err != nil || id == "" {
		return cs.MessageRef{}, err
	}
	return cs.MessageRef{ID: o.ID, TS: id}, nil
}

// tellRefused tells whoever asked for a post that the chat refused it.
func (b *Bot) tellRefused(ctx context.Context, o Outgoing, err error) {
	if o.Op != OpPost || o.Notify == nil {
		return
	}
	text := Textf("⚠️ the message could not be posted in %s (%v).", channelMention(o.Message.Channel), err)
	if r := o.Message.Request; r != nil {
		text = Textf("⚠️ %s could not be posted in %s (%v). It is recorded and %s: see `status`; approvers can still `approve %s` or `deny %s REASON`. Check that the bot is in that channel.",
			r.ID, channelMention(o.Message.Channel), err, r.Status, r.ID, r.ID)
	}
	b.ephemeral(ctx, *o.Notify, Message{Channel: o.Notify.Channel, Text: text})
}

// errNeverPosted is returned for an entry whose creation was dropped.
var errNeverPosted = errors.New("what it refers to was never created")

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
