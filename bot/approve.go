package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/policies"
)

// closedReason explains to a clicker why a request can no longer be
// approved or denied, for every way a request closes.
func closedReason(r cs.Request) Markup {
	switch r.State {
	case cs.StateSuperseded:
		if r.SupersededBy != "" {
			return Textf("%s was superseded by %s; nothing to approve", r.ID, r.SupersededBy)
		}
		return Textf("%s was superseded: ", r.ID) + Markup(r.Outcome)
	case cs.StateApproved, cs.StateExecuting, cs.StateSucceeded:
		return Textf("%s is already approved (%s)", r.ID, string(r.State))
	case cs.StateExpired, cs.StateDenied, cs.StateRefused, cs.StateFailed, cs.StateInterrupted:
		if r.Outcome != "" {
			return Textf("%s is closed (%s): ", r.ID, string(r.State)) + Markup(r.Outcome)
		}
	}
	return Textf("%s is closed (%s)", r.ID, string(r.State))
}

// closeIfStale closes a pending request whose time or policy has passed,
// in tx. It reports whether it closed it.
func (b *Bot) closeIfStale(tx Tx, r *cs.Request, actor cs.Actor) (bool, error) {
	now := b.now()
	switch {
	case !r.Expires.IsZero() && !now.Before(r.Expires):
		r.State, r.Updated = cs.StateExpired, now
		r.Outcome = string(Textf("expired at %s without enough approvals", fmtTime(r.Expires)))
		if _, err := tx.Append(b.event(cs.EventRequestExpired, cs.ActorBot, r, map[string]any{
			"expired": r.Expires.UTC().Format(cs.TimeLayout), "approvals": r.Approvals,
		})); err != nil {
			return false, err
		}
	case r.Decision.PolicyVersion != b.rules().Policy.Version():
		r.State, r.Updated = cs.StateSuperseded, now
		r.Outcome = "the policy changed since it was requested; approvals were for the old policy. Request it again."
		if _, err := tx.Append(b.event(cs.EventRequestSuperseded, actor, r, map[string]any{
			"reason": "policy changed", "old_policy_version": r.Decision.PolicyVersion, "policy_version": b.rules().Policy.Version(),
		})); err != nil {
			return false, err
		}
	default:
		return false, nil
	}
	return true, tx.PutRequest(*r)
}

// decision is what one approve or deny transaction did, for after it.
type decision struct {
	r     cs.Request
	reply Markup // to the clicker; "" when the thread says it all
	// changed: r must be re-rendered; thread: what to say in the thread.
	changed bool
	thread  Markup
	queued  bool // approved: run it
	// inTx: the message's update and the thread's reply were queued in
	// the decision's own transaction.
	inTx bool
}

// open loads request id for an approve or deny in tx. It returns ok
// false, with d filled in, when there is nothing to decide: the request
// is closed, went stale just now (and was closed), or the button was for
// another version of it (refused and audited).
func (b *Bot) open(tx Tx, id cs.RequestID, actor cs.Actor, fingerprint string, d *decision) (bool, error) {
	var err error
	*d = decision{}
	if d.r, err = tx.Request(id); err != nil {
		return false, err
	}
	if d.r.State != cs.StatePending {
		if fingerprint != "" && fingerprint == d.r.Fingerprint && approvedBy(d.r, actor) {
			return false, nil // a double click of an approval that counted: nothing to say
		}
		d.reply = closedReason(d.r)
		_, err := tx.Append(b.event(cs.EventApprovalRefused, actor, &d.r, map[string]any{
			"reason": "request is " + string(d.r.State), "fingerprint": fingerprint}))
		return false, err
	}
	closed, err := b.closeIfStale(tx, &d.r, actor)
	if err != nil || closed {
		d.reply, d.changed, d.thread = closedReason(d.r), closed, cc(Textf("%s ", d.r.ID)+Markup(d.r.Outcome), d.r)
		return false, err
	}
	if fingerprint != "" && fingerprint != d.r.Fingerprint {
		d.reply = Textf("that button is for a different version of %s; nothing was changed", d.r.ID)
		_, err := tx.Append(b.event(cs.EventApprovalRefused, actor, &d.r, map[string]any{"reason": "fingerprint mismatch", "fingerprint": fingerprint}))
		return false, err
	}
	return true, nil
}

// approve records actor's approval of request id. fingerprint, from a
// button, must match the request's; "" (a typed `approve`) takes the
// request as it is now. Whatever the interleaving of clicks and retries,
// the request is queued for execution exactly once: the state check and
// the transition happen in one store transaction.
func (b *Bot) approve(ctx context.Context, actor cs.Actor, id cs.RequestID, fingerprint string) (Markup, error) {
	groups, notes := b.usergroups(ctx)
	var d decision
	err := b.update(ctx, func(tx *update) error {
		if ok, err := b.open(tx, id, actor, fingerprint, &d); !ok {
			return err
		}
		r := &d.r
		approvals, err := b.rules().Policy.Approve(r.Decision, policies.ApprovalInput{
			Approver: actor, Requester: b.chatRequester(*r), Author: r.Author, Approvals: r.Approvals, Usergroups: groups,
		})
		if errors.Is(err, policies.ErrAlreadyApproved) && fingerprint != "" {
			return nil // a double click: the first one counted
		}
		if err != nil {
			d.reply = Textf("you cannot approve %s: %v", r.ID, err)
			for _, n := range notes {
				d.reply += " (" + n + ")"
			}
			_, err := tx.Append(b.event(cs.EventApprovalRefused, actor, r, map[string]any{"reason": err.Error()}))
			return err
		}
		approvals[len(approvals)-1].At = b.now()
		r.Approvals, r.Updated = approvals, b.now()
		satisfied := policies.Satisfied(r.Decision, r.Approvals)
		if satisfied {
			r.State, d.queued = cs.StateApproved, true
		}
		if _, err := tx.Append(b.event(cs.EventApprovalGranted, actor, r, map[string]any{
			"group": approvals[len(approvals)-1].Group, "approvals": r.Approvals, "fingerprint": r.Fingerprint,
			"policy_version": r.Decision.PolicyVersion, "progress": policies.Progress(r.Decision, r.Approvals), "satisfied": satisfied,
		})); err != nil {
			return err
		}
		d.changed = true
		d.thread = Textf("%s approved %s: %s", mention(actor), r.ID, policies.Progress(r.Decision, r.Approvals))
		if satisfied {
			d.thread = cc(d.thread+"; it will run now.", *r)
		}
		if err := tx.PutRequest(*r); err != nil {
			return err
		}
		// The request's message and the thread's reply are queued in
		// this commit: the deciding click then waits for two commits
		// (this one and the execution's start), not four.
		d.inTx = true
		return b.queueClosed(tx, *r, d.thread)
	})
	if err := b.settle(ctx, id, d, err); err != nil {
		return "", err
	}
	// GitHub and the push's parent message hear "approved" before the
	// execution is handed over: its start reports "in progress", which
	// must not be followed (and replaced in the outbox) by "queued".
	if d.inTx {
		b.reportRequest(ctx, d.r)
		b.refreshParent(ctx, d.r)
	}
	if d.queued {
		b.enqueue(d.r)
	}
	return d.reply, nil
}

// deny closes a pending request. The requester may withdraw it, and
// anyone who could approve it may deny it.
func (b *Bot) deny(ctx context.Context, actor cs.Actor, id cs.RequestID, fingerprint, reason string) (Markup, error) {
	groups, _ := b.usergroups(ctx)
	var d decision
	err := b.store.Update(ctx, func(tx Tx) error {
		if ok, err := b.open(tx, id, actor, fingerprint, &d); !ok {
			return err
		}
		r := &d.r
		if err := b.mayDeny(actor, *r, groups); err != nil {
			d.reply = Textf("you cannot deny %s: only its requester or its approvers may (%v)", r.ID, err)
			_, err := tx.Append(b.event(cs.EventApprovalRefused, actor, r, map[string]any{"reason": err.Error(), "deny": true}))
			return err
		}
		r.State, r.Updated = cs.StateDenied, b.now()
		r.Outcome = string(Textf("denied by %s: %s", mention(actor), reason))
		if _, err := tx.Append(b.event(cs.EventRequestDenied, actor, r, map[string]any{"reason": reason, "fingerprint": r.Fingerprint})); err != nil {
			return err
		}
		d.changed = true
		d.thread = cc(Textf("%s denied %s: %s.", mention(actor), r.ID, reason), *r)
		return tx.PutRequest(*r)
	})
	return d.reply, b.settle(ctx, id, d, err)
}

// mayDeny is nil when actor may deny r: its requester, its commit's
// author, or anyone who could approve it.
func (b *Bot) mayDeny(actor cs.Actor, r cs.Request, groups map[string][]cs.Actor) error {
	if actor == r.Requester || actor == b.chatRequester(r) || actor == r.Author {
		return nil
	}
	_, err := b.rules().Policy.CheckApproval(r.Decision, policies.ApprovalInput{
		Approver: actor, Requester: b.chatRequester(r), Author: r.Author, Approvals: r.Approvals, Usergroups: groups,
	})
	if errors.Is(err, policies.ErrAlreadyApproved) || errors.Is(err, policies.ErrNotNeeded) {
		return nil
	}
	return err
}

// CheckDeny tells a Deny click whether it may go on to ask for a reason:
// nil, or the explanation the clicker gets (the chat shows it instead of
// the reason dialog). It changes nothing.
func (b *Bot) CheckDeny(ctx context.Context, c Caller, value string) error {
	id, fp, err := ParseButtonValue(value)
	if err != nil {
		return err
	}
	groups, _ := b.usergroups(ctx)
	return b.store.View(ctx, func(tx ReadTx) error {
		r, err := tx.Request(id)
		switch {
		case errors.Is(err, cs.ErrNotFound):
			return fmt.Errorf("no request %s", id)
		case err != nil:
			return b.storeFailure(err)
		case r.State != cs.StatePending:
			return errors.New(string(closedReason(r)))
		case fp != r.Fingerprint:
			return fmt.Errorf("that button is for a different version of %s; nothing was changed", id)
		}
		if err := b.mayDeny(c.User, r, groups); err != nil {
			return fmt.Errorf("you cannot deny %s: only its requester or its approvers may (%v)", id, err)
		}
		return nil
	})
}

// settle finishes an approve or deny after its transaction: a store error
// becomes what the clicker should read, and the change is said in the
// thread.
func (b *Bot) settle(ctx context.Context, id cs.RequestID, d decision, err error) error {
	if err != nil {
		if errors.Is(err, cs.ErrNotFound) {
			return fmt.Errorf("no request %s", id)
		}
		return b.storeFailure(err)
	}
	if d.changed && !d.inTx {
		b.reportAndShow(ctx, d.r)
		b.reply(ctx, d.r, d.thread)
	}
	return nil
}

func approvedBy(r cs.Request, actor cs.Actor) bool {
	for _, a := range r.Approvals {
		if a.Actor == actor {
			return true
		}
	}
	return false
}

// chatRequester is the chat user who asked for r: the requester, or for a
// push the chat user of the pusher's GitHub login (identities), so that
// whoever pushed cannot approve the deploy any more than the commit's
// author can.
func (b *Bot) chatRequester(r cs.Request) cs.Actor {
	if login, ok := strings.CutPrefix(string(r.Requester), "github:"); ok {
		if u, ok := b.rules().Identities[strings.ToLower(login)]; ok {
			return u
		}
	}
	return r.Requester
}
