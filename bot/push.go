package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
)

// Push is a GitHub push, as the intake (or the shell) hands it over.
type Push struct {
	Repo   string // repository.full_name, owner/name
	Branch string
	SHA    string // head_commit.id
	// Before is the branch's commit before the push ("before"; zeros for
	// a new branch), "" when unknown (the shell). With SHA it names the
	// ref update, which GitHub sends once: the same update again under
	// another delivery ID is a replay (or a second webhook) and is not
	// acted on, while a force-push back to an older commit, whose Before
	// differs, still deploys.
	Before string
	// Pusher is who pushed (pusher.name, sender.login): the requester.
	Pusher string
	// Author is the head commit's author's GitHub login
	// (head_commit.author.username), "" when GitHub does not know it.
	// Neither the pusher nor the author may approve the deploy.
	Author   string
	Title    string // first line of the head commit's message, at most MaxCommitTitle characters
	URL      string // head_commit.url
	Delivery string // X-GitHub-Delivery, if any
	// Payload is a digest of the verified delivery ("" when there is
	// none: the shell): the same payload again under another delivery ID
	// is counted, not acted on.
	Payload string `json:"-"`
	// Reconciled: no webhook delivered this push; a read of the branch
	// found it (reconcile.go).
	Reconciled bool
}

// MaxCommitTitle is how many characters of a commit's title are kept:
// enough to recognise it, while a message can be megabytes.
const MaxCommitTitle = 200

// PushResult says what HandlePush did with a push.
type PushResult struct {
	// Duplicate: the delivery ID was seen before (a redelivery); nothing
	// was done.
	Duplicate bool
	// Services are those that follow the pushed branch, each now with a
	// thread.
	Services []string
	// Ignored says why nothing was started (no service follows the
	// branch, or the push repeats one already received); the
	// webhook.received record says so too.
	Ignored string
	// Repeat: every service had already taken this very ref update
	// (same Before and SHA), or the very payload, under another delivery
	// ID; nothing was done.
	Repeat bool
}

// Delivery identifies a webhook delivery for the audit trail.
type Delivery struct {
	ID     string // X-GitHub-Delivery
	Event  string // X-GitHub-Event
	Repo   string // repository.full_name, if known
	Sender string // sender.login, if known
	Remote string // the caller's address
	// Payload is a digest of the verified body, as in Push.
	Payload string
}

// PushState is where a push stands for one service.
type PushState string

const (
	PushWaiting    PushState = "waiting"    // getting the image (waiting or building)
	PushRequested  PushState = "requested"  // the deploy was requested (see Request)
	PushFailed     PushState = "failed"     // no image, or the request could not be made
	PushSuperseded PushState = "superseded" // a newer push to the branch came first
)

// PushRecord is one (service, commit) thread, kept from the moment the
// delivery is accepted: its parent message exists in the outbox at once,
// a second delivery of the commit reuses it, and after a restart a push
// that was still getting its image is taken up again.
type PushRecord struct {
	Service string        `json:"service"`
	Push    Push          `json:"push"`
	State   PushState     `json:"state"`
	Thread  cs.MessageRef `json:"thread"`
	Request cs.RequestID  `json:"request,omitempty"`
	// Status is the parent message's status line, in chat markup.
	Status  Markup    `json:"status"`
	Updated time.Time `json:"updated"`
	// Befores are the Before of every push of this commit taken so far
	// (the newest maxBefores): a push repeating one is a replay.
	Befores []string `json:"befores,omitempty"`
}

// maxBefores bounds PushRecord.Befores; a commit is rarely pushed over
// more than a few different heads.
const maxBefores = 32

// HandlePush starts a deploy thread for every service that follows the
// pushed repository and branch: the parent message, the commit's image,
// then the deploy request. It returns once the push is recorded, with
// its parent messages queued, in one transaction; the rest runs after
// (Idle waits for it). A delivery ID seen before is a redelivery: nothing
// is done. A newer push to a branch supersedes the older one still
// getting its image, and cancels its build.
func (b *Bot) HandlePush(ctx context.Context, p Push) (PushResult, error) {
	p.SHA, p.Before = strings.ToLower(p.SHA), strings.ToLower(p.Before)
	p.Title = cs.Clip(p.Title, MaxCommitTitle)
	var res PushResult
	if b.stopping() {
		return res, errShuttingDown // the intake answers 503: GitHub delivers it again later
	}
	var matched []Service
	for _, s := range b.rules().Services {
		if strings.EqualFold(s.Repo, p.Repo) && s.Branch == p.Branch {
			matched = append(matched, s)
			res.Services = append(res.Services, s.Name)
		}
	}
	unfollowed := ""
	if len(matched) == 0 {
		unfollowed = fmt.Sprintf("no service follows %s of %s", p.Branch, p.Repo)
	}
	var recs, older []PushRecord
	err := b.update(ctx, func(tx *update) error {
		res.Duplicate, res.Repeat, res.Ignored, recs, older = false, false, unfollowed, nil, nil
		dup, rep, err := b.seen(tx, p.Delivery, p.Payload)
		if err != nil || dup {
			res.Duplicate = dup
			return err
		}
		if rep.Repeats > 0 {
			res.Repeat, res.Ignored = true, repeatReason(rep)
			return b.auditRepeat(tx, Delivery{ID: p.Delivery, Event: "push", Repo: p.Repo, Sender: p.Pusher}, rep)
		}
		fresh, err := b.pushReceived(tx, p, matched, &res)
		if err != nil {
			return err
		}
		for _, s := range fresh {
			rec, superseded, err := b.acceptPush(tx, s, p)
			if err != nil {
				return err
			}
			if err := b.noteTaken(tx, s, p.SHA); err != nil {
				return err
			}
			recs, older = append(recs, rec), append(older, superseded...)
		}
		return nil
	})
	if err != nil {
		return res, b.storeFailure(err)
	}
	if res.Duplicate || res.Repeat {
		return res, nil
	}
	for _, o := range older {
		b.cancelPush(o)
	}
	for _, rec := range recs {
		b.startPush(rec)
	}
	return res, nil
}

// receivedDetail is the detail of a push's webhook.received record, the
// same JSON as a map of these keys would be: the fields are in the keys'
// order and ignored is left out when empty. A struct is encoded without
// building and sorting a map, once for every delivery.
type receivedDetail struct {
	Author   string   `json:"author"`
	Branch   string   `json:"branch"`
	Delivery string   `json:"delivery"`
	Event    string   `json:"event"`
	Ignored  string   `json:"ignored,omitempty"`
	Pusher   string   `json:"pusher"`
	Repo     string   `json:"repo"`
	Services []string `json:"services"`
	SHA      string   `json:"sha"`
}

// pushReceived audits push p (webhook.received) and returns the services
// of matched that have not taken it yet; res says why nothing is done
// when none has.
func (b *Bot) pushReceived(tx Tx, p Push, matched []Service, res *PushResult) ([]Service, error) {
	detail := receivedDetail{
		Event: "push", Repo: p.Repo, Branch: p.Branch, SHA: p.SHA, Delivery: p.Delivery,
		Pusher: p.Pusher, Author: p.Author, Services: res.Services,
	}
	fresh, late, err := b.unseenBy(tx, matched, p)
	if err != nil {
		return nil, err
	}
	if len(matched) > 0 && len(fresh) == 0 {
		res.Repeat = true
		res.Ignored = fmt.Sprintf("a repeat of the push of %s over %s already received under another delivery ID (a replay, or a second webhook): nothing done", cs.ShortSHA(p.SHA), cs.ShortSHA(p.Before))
		if late {
			res.Ignored = fmt.Sprintf("the push of %s was taken already from a read of the branch (push.reconciled): nothing done", cs.ShortSHA(p.SHA))
		}
	}
	detail.Ignored = res.Ignored
	if _, err := tx.Append(b.event(cs.EventWebhookReceived, cs.GitHubActor(p.Pusher), nil, detail)); err != nil {
		return nil, err
	}
	return fresh, nil
}

// unseenBy returns the services of matched that have not taken this ref
// update (p.Before → p.SHA) yet; late says whether a service had taken
// it from a read of the branch.
func (b *Bot) unseenBy(tx Tx, matched []Service, p Push) (out []Service, late bool, err error) {
	if p.Before == "" {
		return matched, false, nil
	}
	for _, s := range matched {
		rec, ok, err := tx.PushRecord(s.Name, p.SHA)
		if err != nil {
			return nil, false, err
		}
		if ok && slices.Contains(rec.Befores, p.Before) {
			continue
		}
		took, err := b.lateDelivery(tx, s, rec, ok, p)
		if err != nil {
			return nil, false, err
		}
		if took {
			late = true
			continue
		}
		out = append(out, s)
	}
	return out, late, nil
}

// acceptPush records the push for service s in u: its thread (the one
// of an earlier push of the same commit, or a new parent message queued
// now) and its state, and supersedes older pushes of s still getting
// their image.
func (b *Bot) acceptPush(u *update, s Service, p Push) (PushRecord, []PushRecord, error) {
	rec, ok, err := u.PushRecord(s.Name, p.SHA)
	if err != nil {
		return rec, nil, err
	}
	status := Markup("getting the image")
	if !ok {
		rec = PushRecord{Service: s.Name}
		msg := b.pushMessage(s, pushInfoOf(p), status)
		msg.Channel = s.Channel
		if rec.Thread, err = u.post(msg); err != nil {
			return rec, nil, err
		}
	} else {
		status = "pushed again: getting the image"
	}
	rec.Push, rec.State, rec.Status, rec.Updated, rec.Request = p, PushWaiting, status, b.now(), ""
	if p.Before != "" {
		rec.Befores = appendBefore(rec.Befores, p.Before)
	}
	if ok {
		if err := b.queuePushStatus(u, s, rec); err != nil {
			return rec, nil, err
		}
	}
	if err := u.PutPush(rec); err != nil {
		return rec, nil, err
	}
	older, err := b.supersedeWaiting(u, s, p)
	return rec, older, err
}

// supersedeWaiting marks the pushes of s other than p still getting their
// image superseded, and says so on their parent messages and threads.
func (b *Bot) supersedeWaiting(u *update, s Service, p Push) ([]PushRecord, error) {
	var older []PushRecord
	waiting, err := u.Pushes(PushWaiting)
	if err != nil {
		return nil, err
	}
	for _, o := range waiting {
		if o.Service != s.Name || o.Push.SHA == p.SHA {
			continue
		}
		o.State, o.Updated = PushSuperseded, b.now()
		o.Status = Textf("superseded by the push of %s", cs.ShortSHA(p.SHA))
		if err := u.PutPush(o); err != nil {
			return nil, err
		}
		if err := b.queuePushStatus(u, s, o); err != nil {
			return nil, err
		}
		text := Textf("⏭️ superseded by the push of %s to %s; nothing more happens here", cs.ShortSHA(p.SHA), p.Branch)
		if err := u.reply(o.Thread, text); err != nil {
			return nil, err
		}
		older = append(older, o)
	}
	return older, nil
}

// queuePushStatus queues the edit of a push's parent message in u. (It
// does not coalesce: that would have to be undone if u is retried.)
func (b *Bot) queuePushStatus(u *update, s Service, rec PushRecord) error {
	msg := b.pushMessage(s, pushInfoOf(rec.Push), rec.Status)
	msg.Channel = rec.Thread.Channel
	_, err := u.queue(Outgoing{Op: OpUpdate, ID: rec.Thread.ID, Message: msg})
	return err
}

func pushInfoOf(p Push) pushInfo {
	return pushInfo{SHA: p.SHA, Branch: p.Branch, Login: p.Pusher, Title: p.Title}
}

// startPush runs a push's thread in the background, cancellable by a
// newer push to the same service.
func (b *Bot) startPush(rec PushRecord) {
	s, ok := b.service(rec.Service)
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(b.ctx)
	key := rec.Service + "@" + rec.Push.SHA
	b.mu.Lock()
	b.pushes[key] = cancel
	b.mu.Unlock()
	b.work.add()
	go func() {
		defer b.work.done()
		defer func() {
			b.mu.Lock()
			delete(b.pushes, key)
			b.mu.Unlock()
			cancel()
		}()
		b.deployPush(ctx, s, rec)
	}()
}

// cancelPush stops an older push's image wait or build.
func (b *Bot) cancelPush(rec PushRecord) {
	b.mu.Lock()
	cancel := b.pushes[rec.Service+"@"+rec.Push.SHA]
	b.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// resumePushes takes up, after a restart, the pushes that were still
// getting their image: the wait or build starts again, and the thread
// says so.
func (b *Bot) resumePushes(ctx context.Context) error {
	var waiting []PushRecord
	if err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		waiting, err = tx.Pushes(PushWaiting)
		return err
	}); err != nil {
		return err
	}
	for _, rec := range waiting {
		b.post(ctx, Message{Channel: rec.Thread.Channel, Thread: rec.Thread,
			Text: "↻ the bot restarted while getting the image; getting it again"})
		b.startPush(rec)
	}
	return nil
}

// pushStep is where a push got to: its state, the status its parent
// message shows, and the request it became (if any).
type pushStep struct {
	State   PushState
	Status  Markup
	Request cs.RequestID
}

// setPush records a push's new step, unless a newer push superseded it
// meanwhile. A step without a request is shown on the push's parent
// message at once; once a request exists, the request's changes edit the
// parent instead (refreshParent).
func (b *Bot) setPush(ctx context.Context, s Service, rec PushRecord, step pushStep) PushRecord {
	err := b.update(ctx, func(tx *update) error {
		cur, ok, err := tx.PushRecord(rec.Service, rec.Push.SHA)
		if err != nil {
			return err
		}
		if ok && cur.State == PushSuperseded {
			rec = cur
			return nil
		}
		rec.State, rec.Status, rec.Request, rec.Updated = step.State, step.Status, step.Request, b.now()
		if err := tx.PutPush(rec); err != nil || step.Request != "" {
			return err
		}
		return b.queuePushStatus(tx, s, rec)
	})
	if err != nil {
		b.log.Error("record push state", "service", s.Name, "sha", rec.Push.SHA, "err", err)
	}
	return rec
}

// deployPush is one (service, commit) thread after its parent message.
func (b *Bot) deployPush(ctx context.Context, s Service, rec PushRecord) {
	p := rec.Push
	b.reportStatus(ctx, s, p.SHA, CommitStatus{State: StatusPending, Description: "getting the image"})
	b.reportCheck(ctx, s, p.SHA, CommitStatus{State: StatusPending, Description: "getting the image"})
	image, err := b.imageFor(ctx, s, p, rec.Thread)
	if errors.Is(ctx.Err(), context.Canceled) && b.ctx.Err() == nil {
		// Superseded by a newer push: its transaction said so in chat.
		b.reportCheck(context.WithoutCancel(ctx), s, p.SHA, CommitStatus{State: StatusFailure, Description: "not checked: superseded by a newer push"})
		return
	}
	b.reportPushImage(ctx, s, p.SHA, image, err)
	if err != nil {
		b.pushFailed(ctx, s, rec, "no image", err)
		return
	}
	if s.BuildOnly() {
		b.builtOnly(ctx, s, rec, image)
		return
	}
	d := draft{
		Action:    cs.Action{Kind: cs.ActionDeploy, Target: s.Name, Image: image, Commit: p.SHA, Ref: cs.ShortSHA(p.SHA), Branch: p.Branch},
		Source:    cs.SourcePush,
		Requester: cs.GitHubActor(p.Pusher), Author: b.rules().Identities[strings.ToLower(p.Author)], AuthorLogin: p.Author,
		CommitTitle: p.Title, Thread: rec.Thread, Channel: s.Channel,
	}
	r, err := b.submit(ctx, d)
	if err != nil {
		b.pushFailed(ctx, s, rec, "could not request the deploy", err)
		return
	}
	b.setPush(ctx, s, rec, pushStep{State: PushRequested, Status: Textf("%s %s", r.ID, stateLabel(r)), Request: r.ID})
}

// pushFailed ends a push that did not become a request: what went wrong
// (what: err) is shown on its parent message, in its thread and as its
// commit status.
func (b *Bot) pushFailed(ctx context.Context, s Service, rec PushRecord, what string, err error) {
	status := Textf("%s: %v", what, err)
	b.setPush(ctx, s, rec, pushStep{State: PushFailed, Status: status})
	b.post(ctx, Message{Channel: rec.Thread.Channel, Thread: rec.Thread, Text: "❌ " + status})
	b.reportStatus(ctx, s, rec.Push.SHA, CommitStatus{State: StatusError, Description: what + ": " + err.Error()})
}

// imageFor gets the commit's exact image the service's build way.
func (b *Bot) imageFor(ctx context.Context, s Service, p Push, thread cs.MessageRef) (string, error) {
	say := func(text Markup) { b.post(ctx, Message{Channel: s.Channel, Thread: thread, Text: text}) }
	var img string
	switch s.Build.Mode {
	case BuildWait:
		var err error
		img, err = b.waitImage(ctx, s, p.SHA, p.Branch, func(tag string) {
			say(Textf("waiting up to %s for %s:%s", s.Build.Timeout.String(), s.Image, tag))
		})
		if err != nil {
			return "", err
		}
		say(Textf("image %s", img))
	case BuildDocker:
		built, err := b.build(ctx, s, p, thread)
		if err != nil {
			return "", err
		}
		img = built.Image
		say(Textf("built `%s` (%s, in %s)", img, size(built.Size), built.Took.Round(time.Second).String()))
	default:
		return "", fmt.Errorf("service %s has no build configured", s.Name)
	}
	if err := b.deployable(ctx, s, img); err != nil {
		return "", err
	}
	return img, nil
}

// build builds the commit with the service's builder, one build per
// service at a time (a newer push has cancelled the older one already),
// showing the build's steps in one reply edited in place.
func (b *Bot) build(ctx context.Context, s Service, p Push, thread cs.MessageRef) (Built, error) {
	if s.Build.Builder == nil {
		return Built{}, fmt.Errorf("service %s builds with docker but no builder is configured", s.Name)
	}
	tag := p.SHA
	if s.Build.Tag != nil {
		t, err := s.Build.Tag(p.SHA, p.Branch)
		if err != nil {
			return Built{}, fmt.Errorf("image tag: %w", err)
		}
		tag = t
	}
	m := b.targetMutex("build:" + s.Name)
	m.Lock()
	defer m.Unlock()
	if err := ctx.Err(); err != nil {
		return Built{}, err
	}
	pr := &progressReply{title: "build " + cs.ShortSHA(p.SHA), thread: thread}
	built, err := s.Build.Builder.Build(ctx, BuildSpec{Service: s.Name, Repo: s.Repo, SHA: p.SHA, Branch: p.Branch, Tag: tag},
		func(line string) { b.showStep(ctx, pr, line) })
	if err != nil {
		return Built{}, fmt.Errorf("build of %s failed: %w", cs.ShortSHA(p.SHA), err)
	}
	return built, nil
}

// size is a byte count for people.
func size(n int64) string {
	switch {
	case n <= 0:
		return "size unknown"
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
}
