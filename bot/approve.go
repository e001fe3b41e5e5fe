package bot

import (
	"context"
	"errors"
	"fmt"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/policies"
)

// closedReason explains to a clicker why a request can no longer be approved or denied.
func closedReason(r cs.Request) string {
	switch r.State {
	case cs.StateSuperseded:
		return fmt.Sprintf("%s was superseded by %s; nothing to approve", r.ID, r.SupersededBy)
	case cs.StateApproved, cs.StateExecuting, cs.StateSucceeded:
		return fmt.Sprintf("%s is already approved (%s)", r.ID, r.State)
	default:
		return fmt.Sprintf("%s is closed (%s)", r.ID, r.State)
	}
}

// closeIfStale closes a pending request whose time or policy has passed,
// in tx. It reports whether it closed it.
func (b *Bot) closeIfStale(tx Tx, r *cs.Request, actor cs.Actor) (bool, error) {
	now := b.now()
	switch {
	case !r.Expires.IsZero() && !now.Before(r.Expires):
		r.State, r.Updated = cs.StateExpired, now
		r.Outcome = "expired at " + fmtTime(r.Expires) + " without enough approvals"
		if _, err := tx.Append(b.event(cs.EventRequestExpired, cs.ActorBot, r, map[string]any{
			"expired": r.Expires.UTC().Format(cs.TimeLayout), "approvals": r.Approvals,
		})); err != nil {
			return false, err
		}
	case r.Decision.PolicyVersion != b.cfg.Policy.Version():
		r.State, r.Updated = cs.StateSuperseded, now
		r.Outcome = "the policy changed since it was requested; approvals were for the old policy. Request it again."
		if _, err := tx.Append(b.event(cs.EventRequestSuperseded, actor, r, map[string]any{
			"reason": "policy changed", "old_policy_version": r.Decision.PolicyVersion, "policy_version": b.cfg.Policy.Version(),
		})); err != nil {
			return false, err
		}
	default:
		return false, nil
	}
	return true, tx.PutRequest(*r)
}

// pending loads request id for an approve or deny in tx. open is false
// when there is nothing to decide: the request is closed (msg says why),
// or it went stale just now and was closed (changed is true).
func (b *Bot) pending(tx Tx, id cs.RequestID, actor cs.Actor) (r cs.Request, msg string, changed, open bool, err error) {
	if r, err = tx.Request(id); err != nil {
		return r, "", false, false, err
	}
	if r.State != cs.StatePending {
		return r, closedReason(r), false, false, nil
	}
	closed, err := b.closeIfStale(tx, &r, actor)
	if err != nil || closed {
		return r, closedReason(r) + ": " + r.Outcome, closed, false, err
	}
	return r, "", false, true, nil
}

// approve records actor's approval of request id. fingerprint, from a
// button, must match the request's; "" (a typed `approve`) takes the
// request as it is now. Whatever the interleaving of clicks and retries,
// the request is queued for execution exactly once: the state check and
// the transition happen in one store transaction.
func (b *Bot) approve(ctx context.Context, actor cs.Actor, id cs.RequestID, fingerprint string) (string, error) {
	var r cs.Request
	var msg string
	var changed, recorded, queued bool
	err := b.store.Update(ctx, func(tx Tx) error {
		recorded, queued = false, false
		var open bool
		var err error
		if r, msg, changed, open, err = b.pending(tx, id, actor); !open {
			return err
		}
		if fingerprint != "" && fingerprint != r.Fingerprint {
			msg = fmt.Sprintf("that button is for a different version of %s; nothing was approved", r.ID)
			_, err := tx.Append(b.event(cs.EventApprovalRefused, actor, &r, map[string]any{"reason": "fingerprint mismatch", "fingerprint": fingerprint}))
			return err
		}
		approvals, err := b.cfg.Policy.Approve(r.Decision, policies.ApprovalInput{
			Approver: actor, Requester: r.Requester, Author: r.Author, Approvals: r.Approvals,
		})
		if err != nil {
			msg = fmt.Sprintf("you cannot approve %s: %v", r.ID, err)
			_, err := tx.Append(b.event(cs.EventApprovalRefused, actor, &r, map[string]any{"reason": err.Error()}))
			return err
		}
		approvals[len(approvals)-1].At = b.now()
		group := approvals[len(approvals)-1].Group
		r.Approvals = approvals
		r.Updated, changed, recorded = b.now(), true, true
		satisfied := policies.Satisfied(r.Decision, r.Approvals)
		if satisfied {
			r.State, queued = cs.StateApproved, true
		}
		if _, err := tx.Append(b.event(cs.EventApprovalGranted, actor, &r, map[string]any{
			"group": group, "approvals": r.Approvals, "fingerprint": r.Fingerprint, "policy_version": r.Decision.PolicyVersion,
			"progress": policies.Progress(r.Decision, r.Approvals), "satisfied": satisfied,
		})); err != nil {
			return err
		}
		msg = fmt.Sprintf("%s approved %s: %s", mention(actor), r.ID, policies.Progress(r.Decision, r.Approvals))
		return tx.PutRequest(r)
	})
	msg, err = b.settle(ctx, id, r, msg, err, changed, recorded)
	if err == nil && queued {
		b.enqueue(r)
	}
	return msg, err
}

// deny closes a pending request. The requester may withdraw it, and
// anyone who could approve it may deny it.
func (b *Bot) deny(ctx context.Context, actor cs.Actor, id cs.RequestID, reason string) (string, error) {
	var r cs.Request
	var msg string
	var changed, recorded bool
	err := b.store.Update(ctx, func(tx Tx) error {
		recorded = false
		var open bool
		var err error
		if r, msg, changed, open, err = b.pending(tx, id, actor); !open {
			return err
		}
		if actor != r.Requester && actor != r.Author {
			_, err := b.cfg.Policy.CheckApproval(r.Decision, policies.ApprovalInput{
				Approver: actor, Requester: r.Requester, Author: r.Author, Approvals: r.Approvals,
			})
			if err != nil && !errors.Is(err, policies.ErrAlreadyApproved) && !errors.Is(err, policies.ErrNotNeeded) {
				msg = fmt.Sprintf("you cannot deny %s: only its requester or its approvers may (%v)", r.ID, err)
				_, err := tx.Append(b.event(cs.EventApprovalRefused, actor, &r, map[string]any{"reason": err.Error(), "deny": true}))
				return err
			}
		}
		r.State, r.Updated, changed, recorded = cs.StateDenied, b.now(), true, true
		r.Outcome = fmt.Sprintf("denied by %s: %s", mention(actor), reason)
		if _, err := tx.Append(b.event(cs.EventRequestDenied, actor, &r, map[string]any{"reason": reason, "fingerprint": r.Fingerprint})); err != nil {
			return err
		}
		msg = fmt.Sprintf("%s denied %s: %s", mention(actor), r.ID, reason)
		return tx.PutRequest(r)
	})
	return b.settle(ctx, id, r, msg, err, changed, recorded)
}

// settle finishes an approve or deny after its transaction: it turns
// store errors into what the clicker should read, and says in the thread
// what changed. A recorded approval or denial is said there only, so the
// clicker gets no echo of it.
func (b *Bot) settle(ctx context.Context, id cs.RequestID, r cs.Request, msg string, err error, changed, recorded bool) (string, error) {
	if err != nil {
		if errors.Is(err, cs.ErrNotFound) {
			return "", fmt.Errorf("no request %s", id)
		}
		return "", fmt.Errorf("%w: %v", errAudit, err)
	}
	if changed {
		b.refresh(ctx, r)
		b.reply(ctx, r, msg)
		if recorded {
			msg = ""
		}
	}
	return msg, nil
}
