package bot

import (
	"context"
	"fmt"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/policies"
)

// draft is what a command or a push asks for, before policy has seen it.
type draft struct {
	Action      cs.Action
	Source      cs.Source
	Requester   cs.Actor
	Author      cs.Actor
	AuthorLogin string
	CommitTitle string
	Changes     *cs.Changes // what a deploy adds or takes away (changes.go)
	// Thread is the push's parent message; zero: post a new message in Channel.
	Thread  cs.MessageRef
	Channel string
	// Caller, for a typed command, is told if the request's message
	// cannot be posted.
	Caller *Caller
	// Auto, for a request the bot makes on its own, says why: it is
	// approved without policy (autoDecision) and supersedes nothing.
	Auto string
	// plan, for a policy request, is its plan (there is no executor to
	// describe it); proposed is called in the transaction that records
	// it (rules.go).
	plan     string
	proposed func(tx Tx, r cs.Request) error
	// Gate, for a deployment waiting at a GitHub protection rule, is that
	// deployment (gate.go); admit, if set, runs first in the request's
	// transaction and may decide against making it (true: submit returns
	// errNotAdmitted, with what admit wrote committed).
	Gate  *cs.GateDeployment
	admit func(tx Tx) (skip bool, err error)
}

// family groups actions that replace each other: a newer deploy or
// rollback of a service supersedes an older open one; scale, DNS per name
// and type, and locks each stand alone.
func family(a cs.Action) string {
	switch a.Kind {
	case cs.ActionDeploy, cs.ActionRollback:
		return "image:" + a.Target
	case cs.ActionDNS:
		if a.DNS != nil {
			return "dns:" + a.Target + "/" + a.DNS.Type
		}
		return "dns:" + a.Target
	default:
		return string(a.Kind) + ":" + a.Target
	}
}

// changesTarget reports whether a lock on the target blocks the action.
func changesTarget(k cs.ActionKind) bool {
	return k == cs.ActionDeploy || k == cs.ActionRollback || k == cs.ActionScale
}

// blockedBy returns the lock that blocks r, if any.
func blockedBy(tx ReadTx, r cs.Request) (cs.Lock, bool, error) {
	if !changesTarget(r.Action.Kind) {
		return cs.Lock{}, false, nil
	}
	l, ok, err := tx.Lock(r.Action.Target)
	if err != nil || !ok {
		return cs.Lock{}, false, err
	}
	if l.AutoOnly && r.Source != cs.SourcePush {
		return cs.Lock{}, false, nil
	}
	return l, true, nil
}

func lockReason(l cs.Lock) Markup {
	if l.AutoOnly {
		return Textf("%s is locked against deploys on push since %s (%s); `unlock %s` to allow them again", l.Target, fmtTime(l.Since), l.Reason, l.Target)
	}
	return Textf("%s is locked by %s since %s: %s", l.Target, mention(l.Actor), fmtTime(l.Since), l.Reason)
}

// submit turns a draft into a request: the executor makes the action
// exact and describes it, then one audited transaction records the
// request with policy's decision (and any lock), and supersedes older
// open requests for the same thing; then the request is posted and, if
// it may run now, queued. The request gets its ID whatever the outcome.
func (b *Bot) submit(ctx context.Context, d draft) (cs.Request, error) {
	plan, err := b.prepare(ctx, &d)
	if err != nil {
		return cs.Request{}, err
	}
	d.Changes = b.changes(ctx, d.Action)
	groups, notes := b.usergroups(ctx)
	var r cs.Request
	var superseded []cs.Request
	var skipped bool
	err = b.store.Update(ctx, func(tx Tx) error {
		var err error
		if d.admit != nil {
			if skipped, err = d.admit(tx); err != nil || skipped {
				return err
			}
		}
		if r, err = b.record(tx, d, plan, groups); err != nil || d.Auto != "" {
			return err
		}
		if d.proposed != nil {
			if err := d.proposed(tx, r); err != nil {
				return err
			}
		}
		superseded, err = b.supersedeOlder(tx, r, d.Requester)
		return err
	})
	if err != nil {
		return cs.Request{}, b.storeFailure(err)
	}
	if skipped {
		return cs.Request{}, errNotAdmitted
	}
	r = b.postRequest(ctx, r, d.Channel, notes, d.Caller)
	b.reportRequest(ctx, r)
	b.sayDowngrade(ctx, r)
	for _, o := range superseded {
		b.reportAndShow(ctx, o)
		b.reply(ctx, o, cc(Textf("%s was superseded by %s: %s. Approvals given to %s do not carry over.", o.ID, r.ID, describeChange(r.Action), o.ID), o))
	}
	if r.State == cs.StateApproved {
		b.enqueue(r)
	}
	return r, nil
}

// prepare lets the target's executor make d's action exact (the current
// DNS records, replicas, the previous image) and returns its plan. Locks
// are the bot's own business and need neither.
func (b *Bot) prepare(ctx context.Context, d *draft) (string, error) {
	if d.Action.Kind == cs.ActionPolicy {
		return d.plan, nil
	}
	if g, ok := b.gate(d.Action.Target); ok {
		return gatePlan(g, d)
	}
	exec, err := b.executorFor(d.Action)
	if err != nil {
		return "", err
	}
	if k := d.Action.Kind; k == cs.ActionLock || k == cs.ActionUnlock {
		return "", nil
	}
	if d.Action.Kind == cs.ActionAdopt {
		return adoptPlan(d.Action), nil
	}
	if p, ok := exec.(Preparer); ok {
		a, err := p.Prepare(ctx, d.Action)
		if err != nil {
			return "", fmt.Errorf("prepare %s: %w", d.Action, err)
		}
		d.Action = a
	}
	if d.Action.Kind == cs.ActionRollback && d.Action.Image == "" {
		return "", fmt.Errorf("no successful deployment of %s is recorded, so there is nothing to roll back to", d.Action.Target)
	}
	plan, err := exec.Describe(ctx, cs.Request{Action: d.Action, DryRun: b.cfg.DryRun})
	if err != nil {
		return "", fmt.Errorf("describe %s: %w", d.Action, err)
	}
	return plan, nil
}

// record creates the request in tx: the next ID, policy's decision, a
// lock that refuses it, and the audit records of all that.
func (b *Bot) record(tx Tx, d draft, plan string, groups map[string][]cs.Actor) (cs.Request, error) {
	id, err := tx.NextRequestID()
	if err != nil {
		return cs.Request{}, err
	}
	now := b.now()
	dec := b.autoDecision(d.Auto)
	if d.Auto == "" {
		dec = b.rules().Policy.Decide(policies.Input{Action: d.Action, Source: d.Source, Requester: d.Requester, Usergroups: groups, Now: now})
	}
	r := cs.Request{
		ID: id, Action: d.Action, Source: d.Source, Requester: d.Requester,
		Author: d.Author, AuthorLogin: d.AuthorLogin, CommitTitle: d.CommitTitle, Changes: d.Changes,
		Created: now, Updated: now, Decision: dec,
		Fingerprint: d.Action.Fingerprint(dec.PolicyVersion),
		DryRun:      b.cfg.DryRun, Plan: plan, Thread: d.Thread, Gate: d.Gate,
	}
	switch dec.Verdict {
	case cs.VerdictAllow:
		r.State = cs.StateApproved
	case cs.VerdictNeedsApproval:
		r.State = cs.StatePending
		exp := dec.ExpiresIn
		if exp <= 0 {
			exp = b.cfg.DefaultExpiry
		}
		r.Expires = now.Add(exp)
	default:
		r.State, r.Outcome = cs.StateRefused, string(Esc(strings.Join(dec.Reasons, "; ")))
	}
	if r.State != cs.StateRefused {
		l, locked, err := blockedBy(tx, r)
		if err != nil {
			return r, err
		}
		if locked {
			r.State, r.Outcome = cs.StateRefused, string(lockReason(l))
		}
	}
	if err := b.auditCreated(tx, d, r); err != nil {
		return r, err
	}
	return r, tx.PutRequest(r)
}

// auditCreated appends the events of new request r, drafted as d: its
// creation, the gate that asked for it, and its refusal or the approval
// it waits for.
func (b *Bot) auditCreated(tx Tx, d draft, r cs.Request) error {
	dec := r.Decision
	created := map[string]any{
		"action": r.Action, "source": r.Source, "requester": r.Requester,
		"author": r.Author, "author_login": r.AuthorLogin, "fingerprint": r.Fingerprint,
		"decision": r.Decision, "plan": r.Plan, "dry_run": r.DryRun,
	}
	if d.Auto != "" {
		created["auto"] = d.Auto
	}
	events := []cs.Event{b.event(cs.EventRequestCreated, d.Requester, &r, created)}
	if g := d.Gate; g != nil {
		events = append(events, b.event(cs.EventGateRequested, d.Requester, &r, map[string]any{
			"repo": g.Repo, "environment": g.Environment, "deployment": g.Deployment, "ref": g.Ref, "sha": g.SHA, "run": g.Run,
		}))
	}
	switch r.State {
	case cs.StateRefused:
		events = append(events, b.event(cs.EventRequestRefused, cs.ActorBot, &r, map[string]any{
			"reason": r.Outcome, "policy": dec.Policy, "policy_version": dec.PolicyVersion,
		}))
	case cs.StatePending:
		events = append(events, b.event(cs.EventApprovalRequested, cs.ActorBot, &r, map[string]any{
			"policy": dec.Policy, "policy_version": dec.PolicyVersion, "requires": dec.Requires,
			"expires": r.Expires.UTC().Format(cs.TimeLayout), "window": dec.Window, "break_glass": dec.BreakGlass,
		}))
	}
	for _, e := range events {
		if _, err := tx.Append(e); err != nil {
			return err
		}
	}
	return nil
}

// supersedeOlder closes, in tx, the open requests that r replaces (same
// family, not already executing); a refused r replaces nothing.
func (b *Bot) supersedeOlder(tx Tx, r cs.Request, by cs.Actor) ([]cs.Request, error) {
	if r.State != cs.StatePending && r.State != cs.StateApproved {
		return nil, nil
	}
	open, err := tx.OpenRequests(r.Action.Target)
	if err != nil {
		return nil, err
	}
	var superseded []cs.Request
	for _, o := range open {
		if o.ID == r.ID || family(o.Action) != family(r.Action) || o.State == cs.StateExecuting {
			continue
		}
		o.State, o.SupersededBy, o.Updated = cs.StateSuperseded, r.ID, b.now()
		o.Outcome = string(Textf("superseded by %s (%s)", r.ID, describeChange(r.Action)))
		if err := tx.PutRequest(o); err != nil {
			return nil, err
		}
		if _, err := tx.Append(b.event(cs.EventRequestSuperseded, by, &o, map[string]any{
			"superseded_by": r.ID, "fingerprint": o.Fingerprint, "new_fingerprint": r.Fingerprint,
		})); err != nil {
			return nil, err
		}
		superseded = append(superseded, o)
	}
	return superseded, nil
}

// describeChange is a short description of what an action changes.
func describeChange(a cs.Action) Markup {
	switch a.Kind {
	case cs.ActionDeploy, cs.ActionRollback:
		if a.Image == "" && a.Commit != "" { // a gate's: GitHub Actions deploys the commit
			return Textf("%s %s: %s (commit %s)", string(a.Kind), a.Target, a.Ref, cs.ShortSHA(a.Commit))
		}
		if a.Commit != "" {
			return Textf("%s %s to %s (commit %s)", string(a.Kind), a.Target, a.Image, cs.ShortSHA(a.Commit))
		}
		return Textf("%s %s to %s", string(a.Kind), a.Target, a.Image)
	case cs.ActionScale:
		return Textf("scale %s to %d replicas", a.Target, a.Replicas)
	case cs.ActionDNS:
		if a.DNS != nil {
			return Textf("dns %s %s %s %s", string(a.DNS.Op), a.DNS.Name, a.DNS.Type, a.DNS.Value)
		}
	case cs.ActionLock:
		return Textf("lock %s: %s", a.Target, a.Reason)
	case cs.ActionAdopt:
		return Textf("adopt %s as it runs: %s", a.Target, adoptPlanRuns(a))
	case cs.ActionPolicy:
		return Textf("make config sha256 %s current in place of %s", cs.ShortHash(a.Config), cs.ShortHash(a.From))
	}
	return Esc(a.String())
}

// postRequest posts a new request's message (top level, or as a reply in
// the push's thread) and records where it is. notes are shown on the
// message (a user group that could not be read).
func (b *Bot) postRequest(ctx context.Context, r cs.Request, channel string, notes []Markup, caller *Caller) cs.Request {
	msg := b.requestMessage(r)
	msg.Request.Notes = notes
	msg.Text = msg.Request.text()
	if r.Thread != (cs.MessageRef{}) {
		msg.Channel, msg.Thread = r.Thread.Channel, r.Thread
	} else {
		msg.Channel = channel
	}
	// The post is queued with the request's reference to it, so that a
	// card is never posted that the request does not know of (and so
	// never updates).
	err := b.update(ctx, func(tx *update) error {
		cur, err := tx.Request(r.ID)
		if err != nil {
			return err
		}
		o, err := tx.queue(Outgoing{Op: OpPost, Message: msg, Notify: caller})
		if err != nil {
			return err
		}
		cur.Message = cs.MessageRef{ID: o.ID, Channel: msg.Channel}
		if cur.Thread == (cs.MessageRef{}) {
			cur.Thread = cur.Message
		}
		r = cur
		return tx.PutRequest(cur)
	})
	if err != nil {
		b.log.Error("queue request message", "request", r.ID, "err", err)
		return r
	}
	b.refreshParent(ctx, r)
	return r
}
