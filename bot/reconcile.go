package bot

import (
	"context"
	"strings"

	cs "github.com/countersign/countersign"
)

// GitHub does not deliver a failed webhook delivery again, so the bot
// also reads the head of every followed branch (Config.Branches, every
// Config.Poll) and takes a head it has never handled as the push it was:
// the same thread, supersede and policy as HandlePush, audited
// push.reconciled. What "handled" means, so that neither route takes a
// head the other took, whatever their order:
//
//   - A head is handled for a service once the service has a push thread
//     for the commit (PushRecord), by either route. A read never takes a
//     commit that has one.
//   - Each service's BranchHead entry says the head it last took. A read
//     compares against it, in the same transaction that takes the head.
//   - A push thread taken from a read carries Push.Reconciled. A webhook
//     that later delivers that commit over a parent that is not the head
//     the service last took is that head's own delivery, come late: it
//     is recorded (its parent joins Befores) and nothing is done. A push
//     over the head last taken is a new ref update (a force-push back)
//     and is taken as usual.
//   - A read that finds a push taken since the read before (HeadTaken's
//     Gen and Seen) only notes it and acts on the next read: a read on
//     its way while the push came, or a GitHub replica behind it, must
//     not put an older commit over the newer one.

// followedBranch is one branch the services follow.
type followedBranch struct {
	Repo, Branch string
	Services     []Service
}

// followed returns the branches the services follow, once each, in
// config order.
func (b *Bot) followed() []followedBranch {
	var out []followedBranch
	at := map[string]int{}
	for _, s := range b.rules().Services {
		if s.Repo == "" || s.Branch == "" {
			continue
		}
		k := HeadKey(s.Repo, s.Branch)
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, followedBranch{Repo: s.Repo, Branch: s.Branch})
		}
		out[i].Services = append(out[i].Services, s)
	}
	return out
}

// noteTaken records in tx that service s took a push of sha, so that a
// read of the branch does not take it again.
func (b *Bot) noteTaken(tx Tx, s Service, sha string) error {
	h, ok, err := tx.BranchHead(s.Repo, s.Branch)
	if err != nil {
		return err
	}
	if !ok {
		h = BranchHead{Repo: s.Repo, Branch: s.Branch}
	}
	t, _ := h.taken(s.Name)
	return tx.PutBranchHead(h.with(s.Name, HeadTaken{SHA: sha, Gen: t.Gen + 1, Seen: t.Seen}))
}

// lateDelivery reports whether the push p, for service s whose push
// thread of p.SHA is rec (ok false: none), is the late webhook of a head
// a read already took; if so it records p's parent on the thread, so
// that the delivery counts as received.
func (b *Bot) lateDelivery(tx Tx, s Service, rec PushRecord, ok bool, p Push) (bool, error) {
	if !ok || !rec.Push.Reconciled || p.Before == "" {
		return false, nil
	}
	h, _, err := tx.BranchHead(s.Repo, s.Branch)
	if err != nil {
		return false, err
	}
	if t, _ := h.taken(s.Name); t.SHA == p.Before {
		return false, nil // a new update over the head last taken
	}
	rec.Push.Reconciled = false
	rec.Befores = appendBefore(rec.Befores, p.Before)
	return true, tx.PutPush(rec)
}

// appendBefore adds before to befores, keeping the newest maxBefores.
func appendBefore(befores []string, before string) []string {
	befores = append(befores, before)
	if len(befores) > maxBefores {
		befores = befores[len(befores)-maxBefores:]
	}
	return befores
}

// headPlan is what one read of a branch asks of the store.
type headPlan struct {
	head      BranchHead // the record as it must be after the read
	write     bool       // head differs from the stored record
	reconcile []Service  // services to take the head read as a push
	baseline  []string   // services whose first read this is
}

// planHead decides, from the stored record (ok false: none) and a read
// whose head is sha, what to record and which services take the head.
// handled reports whether a service has a push thread of sha already.
func planHead(stored BranchHead, ok bool, fb followedBranch, read HeadRead, sha string, handled func(Service) (bool, error)) (headPlan, error) {
	plan := headPlan{head: stored}
	if !ok {
		plan.head = BranchHead{Repo: fb.Repo, Branch: fb.Branch}
		plan.write = true
	}
	if !read.NotModified && (stored.SHA != sha || stored.ETag != read.ETag) {
		plan.head.SHA, plan.head.ETag, plan.write = sha, read.ETag, true
	}
	names := map[string]bool{}
	for _, s := range fb.Services {
		names[s.Name] = true
	}
	var dropped bool
	if plan.head, dropped = plan.head.only(names); dropped {
		plan.write = true
	}
	for _, s := range fb.Services {
		t, known := plan.head.taken(s.Name)
		switch {
		case !known:
			// The bot cannot know whether this head runs: only a baseline.
			plan.head = plan.head.with(s.Name, HeadTaken{SHA: sha})
			plan.baseline, plan.write = append(plan.baseline, s.Name), true
		case t.Gen != t.Seen:
			// A push was taken since the last read: act on the next one.
			t.Seen = t.Gen
			plan.head = plan.head.with(s.Name, t)
			plan.write = true
		case t.SHA == sha:
		default:
			done, err := handled(s)
			if err != nil {
				return plan, err
			}
			if !done {
				plan.reconcile = append(plan.reconcile, s)
				t.Gen++
			}
			// A head handled before (a force-push back to it) is never
			// handled twice; it is only the head now.
			t.SHA, t.Seen = sha, t.Gen
			plan.head = plan.head.with(s.Name, t)
			plan.write = true
		}
	}
	return plan, nil
}

// settleHead applies one read of fb's branch: it records the head and
// takes it, for the services that never handled it, as the push it was.
// stored is the record as a View found it before the read (ok false:
// none); when the read changes nothing, nothing is written. It returns
// the services that took the head.
func (b *Bot) settleHead(ctx context.Context, fb followedBranch, stored BranchHead, ok bool, read HeadRead) ([]string, error) {
	sha := strings.ToLower(read.SHA)
	if read.NotModified {
		sha = stored.SHA
	}
	// Without a handled check the plan says whether a write is needed at
	// all: an unchanged branch costs a View, not a commit.
	pre, err := planHead(stored, ok, fb, read, sha, func(Service) (bool, error) { return false, nil })
	if err != nil || !pre.write {
		return nil, err
	}
	p := Push{Repo: fb.Repo, Branch: fb.Branch, SHA: sha, Pusher: read.Committer, Author: read.Author,
		Title: cs.Clip(read.Title, MaxCommitTitle), URL: read.URL, Reconciled: true}
	if p.Pusher == "" {
		p.Pusher = read.Author
	}
	var plan headPlan
	var recs, older []PushRecord
	err = b.update(ctx, func(tx *update) error {
		recs, older = nil, nil
		cur, ok, err := tx.BranchHead(fb.Repo, fb.Branch)
		if err != nil {
			return err
		}
		plan, err = planHead(cur, ok, fb, read, sha, func(s Service) (bool, error) {
			_, done, err := tx.PushRecord(s.Name, sha)
			return done, err
		})
		if err != nil {
			return err
		}
		if err := tx.PutBranchHead(plan.head); err != nil {
			return err
		}
		for _, s := range plan.reconcile {
			rec, superseded, err := b.reconcilePush(tx, s, p, read)
			if err != nil {
				return err
			}
			recs, older = append(recs, rec), append(older, superseded...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(plan.baseline) > 0 {
		b.log.Info("branch head read for the first time: taken as the baseline, not deployed",
			"repo", fb.Repo, "branch", fb.Branch, "sha", sha, "services", plan.baseline)
	}
	for _, o := range older {
		b.cancelPush(o)
	}
	var names []string
	for _, rec := range recs {
		b.startPush(rec)
		names = append(names, rec.Service)
	}
	return names, nil
}

// reconcilePush takes push p, found by reading the branch (read), for
// service s in u: audited as push.reconciled, accepted as a webhook's
// push would be, and its thread told that no webhook came.
func (b *Bot) reconcilePush(u *update, s Service, p Push, read HeadRead) (PushRecord, []PushRecord, error) {
	e := b.event(cs.EventPushReconciled, cs.ActorBot, nil, map[string]any{
		"repo": p.Repo, "branch": p.Branch, "sha": p.SHA, "service": s.Name,
		"committer": read.Committer, "author": read.Author, "title": read.Title,
	})
	e.Target = s.Name
	if _, err := u.Append(e); err != nil {
		return PushRecord{}, nil, err
	}
	rec, superseded, err := b.acceptPush(u, s, p)
	if err != nil {
		return rec, nil, err
	}
	note := Textf("ℹ️ no webhook came for this push: the bot found %s at the head of %s when it read the branch", cs.ShortSHA(p.SHA), p.Branch)
	return rec, superseded, u.reply(rec.Thread, note)
}
