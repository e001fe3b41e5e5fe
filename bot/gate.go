package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/policies"
)

// Gate is a GitHub environment whose deployments wait for the bot: the
// bot is the GitHub App of a custom deployment protection rule there.
// Its Name is the target that policies match (action deploy).
type Gate struct {
	Name        string
	Repo        string // owner/name
	Environment string // the GitHub environment's name, exactly
	Channel     string
}

// GateDelivery is a deployment_protection_rule delivery (action
// requested), as the intake hands it over.
type GateDelivery struct {
	Repo        string // repository.full_name
	Environment string // environment
	Deployment  int64  // deployment.id
	Run         int64  // the workflow run, from deployment_callback_url
	Ref         string // deployment.ref
	SHA         string // deployment.sha
	Creator     string // deployment.creator.login: the requester
	Sender      string // sender.login
	Delivery    string // X-GitHub-Delivery
	Payload     string `json:"-"` // digest of the verified delivery, as in Push
}

// GateResult says what HandleGate did with a delivery.
type GateResult struct {
	// Duplicate: the delivery ID was seen before; nothing was done.
	Duplicate bool
	// Ignored says why no request was made (no gate names the
	// environment, the deployment has a request already); the
	// webhook.received record says so too.
	Ignored string
	// Request is the request made, and Gate its gate's name.
	Request cs.RequestID
	Gate    string
}

// Gate answers: what GitHub's review endpoint accepts as state.
const (
	GateApproved = "approved"
	GateRejected = "rejected"
)

// GateAnswer is a deployment protection rule's answer (POST
// /repos/{owner}/{repo}/actions/runs/{run}/deployment_protection_rule),
// a Report of its own so that it waits in the GitHub lane of the outbox.
type GateAnswer struct {
	Request     cs.RequestID
	Gate        string // the gate's name, the request's target
	Environment string
	Run         int64
	Deployment  int64
	State       string // GateApproved or GateRejected
	Comment     string
}

// maxGateComment bounds the comment sent with an answer.
const maxGateComment = 1000

// errNotAdmitted is what submit returns when the draft's admit check
// (in the request's transaction) decided not to make a request.
var errNotAdmitted = errors.New("not admitted")

// gateFor returns the gate of a repository (compared ignoring case, as
// GitHub does) and environment (exact).
func (b *Bot) gateFor(repo, environment string) (Gate, bool) {
	for _, g := range b.rules().Gates {
		if strings.EqualFold(g.Repo, repo) && g.Environment == environment {
			return g, true
		}
	}
	return Gate{}, false
}

// HandleGate turns a deployment waiting at a protection rule into a
// request for its gate: action deploy, target the gate's name, requested
// by the deployment's creator (github:LOGIN) as a push is, decided like
// any request. The delivery is recorded, deduplicated by its ID and by
// the deployment's, in the request's own transaction, so that a store
// failure (answered 503, delivered again) loses nothing and makes
// nothing twice. A delivery no gate names is audited as ignored.
func (b *Bot) HandleGate(ctx context.Context, g GateDelivery) (GateResult, error) {
	g.SHA = strings.ToLower(g.SHA)
	var res GateResult
	if b.stopping() {
		return res, errShuttingDown
	}
	d := Delivery{ID: g.Delivery, Event: "deployment_protection_rule", Repo: g.Repo, Sender: g.Sender, Payload: g.Payload}
	gate, ok := b.gateFor(g.Repo, g.Environment)
	if !ok {
		res.Ignored = fmt.Sprintf("no gate for environment %q of %s", g.Environment, g.Repo)
		dup, err := b.WebhookIgnored(ctx, d, res.Ignored)
		res.Duplicate = dup
		return res, err
	}
	res.Gate = gate.Name
	info := &cs.GateDeployment{Repo: g.Repo, Environment: g.Environment, Deployment: g.Deployment, Run: g.Run,
		Ref: g.Ref, SHA: g.SHA, Creator: g.Creator}
	dr := draft{
		Action: cs.Action{Kind: cs.ActionDeploy, Target: gate.Name, Commit: g.SHA, Ref: g.Ref,
			Branch: strings.TrimPrefix(g.Ref, "refs/heads/")},
		Source: cs.SourcePush, Requester: cs.GitHubActor(g.Creator), Channel: gate.Channel, Gate: info,
	}
	if !strings.HasPrefix(g.Ref, "refs/heads/") && strings.HasPrefix(g.Ref, "refs/") {
		dr.Action.Branch = "" // a tag: no branch for auto rules to match
	}
	dr.admit = func(tx Tx) (bool, error) {
		res.Duplicate, res.Ignored = false, ""
		dup, rep, err := b.seen(tx, g.Delivery, g.Payload)
		if err != nil || dup {
			res.Duplicate = dup
			return dup, err
		}
		if rep.Repeats > 0 {
			res.Ignored = repeatReason(rep)
			return true, b.auditRepeat(tx, d, rep)
		}
		detail := map[string]any{
			"event": d.Event, "delivery": g.Delivery, "repo": g.Repo, "environment": g.Environment,
			"deployment": g.Deployment, "run": g.Run, "sha": g.SHA, "gate": gate.Name,
		}
		taken, err := tx.SeenDelivery(fmt.Sprintf("deployment:%s#%d", strings.ToLower(g.Repo), g.Deployment), b.now())
		if err != nil {
			return false, err
		}
		if taken {
			res.Ignored = fmt.Sprintf("deployment %d has a request already", g.Deployment)
			detail["ignored"] = res.Ignored
		}
		_, err = tx.Append(b.event(cs.EventWebhookReceived, deliveryActor(d), nil, detail))
		return taken, err
	}
	r, err := b.submit(ctx, dr)
	switch {
	case errors.Is(err, errNotAdmitted):
		return res, nil
	case err != nil:
		return res, err
	}
	res.Request = r.ID
	return res, nil
}

// gateAction is a typed command's action on gate g: a lock or an
// unlock. Deploys, rollbacks and scales of a gate are refused: only
// GitHub asks for its deploys.
func gateAction(g Gate, kind cs.ActionKind, d *draft) (Service, error) {
	if kind != cs.ActionLock && kind != cs.ActionUnlock {
		return Service{}, gateRefusal(g)
	}
	d.Action, d.Channel = cs.Action{Kind: kind, Target: g.Name}, g.Channel
	return Service{Name: g.Name, Channel: g.Channel}, nil
}

func gateRefusal(g Gate) error {
	return fmt.Errorf("%s is a GitHub deployment gate (%s, environment %s): its deploys are asked for by GitHub Actions, and only locks are set here",
		g.Name, g.Repo, g.Environment)
}

// gatePlan is what a gate's request says it does: the bot only answers
// GitHub; the deploy is GitHub Actions'.
func gatePlan(g Gate, d *draft) (string, error) {
	switch k := d.Action.Kind; {
	case k == cs.ActionLock || k == cs.ActionUnlock:
		return "", nil
	case k != cs.ActionDeploy || d.Gate == nil:
		return "", gateRefusal(g)
	}
	return fmt.Sprintf("answer GitHub: the workflow run %d may deploy %s (%s) of %s to environment %s; GitHub Actions deploys",
		d.Gate.Run, cs.ShortSHA(d.Gate.SHA), d.Gate.Ref, d.Gate.Repo, d.Gate.Environment), nil
}

// gateApproved closes an approved gate request: its answer is
// "approved" and the deploy is GitHub Actions' (nothing runs here),
// unless a lock on the gate came first. It stands in for execute.
func (b *Bot) gateApproved(ctx context.Context, id cs.RequestID) {
	var r cs.Request
	var changed bool
	err := b.store.Update(ctx, func(tx Tx) error {
		changed = false
		var err error
		if r, err = tx.Request(id); err != nil || r.State != cs.StateApproved {
			return err
		}
		changed = true
		r.Updated = b.now()
		if l, locked, err := blockedBy(tx, r); err != nil {
			return err
		} else if locked {
			r.State, r.Outcome = cs.StateFailed, string("not approved on GitHub: "+lockReason(l))
			if _, err := tx.Append(b.event(cs.EventExecutionFailed, cs.ActorBot, &r, map[string]any{"error": r.Outcome, "dry_run": r.DryRun})); err != nil {
				return err
			}
			return tx.PutRequest(r)
		}
		r.State, r.Outcome = cs.StateSucceeded, "approved — GitHub Actions deploys"
		if r.DryRun {
			r.Outcome += " [DRY RUN: GitHub is not answered]"
		}
		return tx.PutRequest(r)
	})
	if err != nil {
		b.log.Error("close approved gate request", "request", id, "err", err)
		return
	}
	if !changed {
		return
	}
	b.reportAndShow(ctx, r)
	b.reply(ctx, r, cc(Textf("%s ", r.ID)+Markup(r.Outcome), r))
}

// answerGate queues, once, the answer to GitHub of a gate request that
// has closed: approved when it succeeded (gateApproved), rejected
// however else it closed. Under --dry-run nothing is answered.
func (b *Bot) answerGate(ctx context.Context, r cs.Request) {
	g := r.Gate
	if g == nil || r.State.Open() || r.DryRun {
		return
	}
	if b.cfg.Reporter == nil {
		b.log.Error("gate request closed but no GitHub client can answer it", "request", r.ID, "run", g.Run)
		return
	}
	state := GateRejected
	if r.State == cs.StateSucceeded {
		state = GateApproved
	}
	b.reportOnce(ctx, "gate:"+string(r.ID), Report{Repo: g.Repo, SHA: g.SHA, Gate: &GateAnswer{
		Request: r.ID, Gate: r.Action.Target, Environment: g.Environment, Run: g.Run, Deployment: g.Deployment,
		State: state, Comment: b.gateComment(r, state),
	}})
}

// gateWait is how long GitHub keeps a deployment waiting for a
// protection rule's answer before it fails the job.
const gateWait = 30 * 24 * time.Hour

// resumeGateAnswers queues, at start, the answer of every gate request
// that closed without one: the bot stopped between closing it and
// queueing its answer. Answers delivered (gate.answered) or given up on
// (outbox.abandoned) are not sent again, nor those still queued.
func (b *Bot) resumeGateAnswers(ctx context.Context) error {
	var closed []cs.Request
	err := b.store.View(ctx, func(tx ReadTx) error {
		for _, g := range b.rules().Gates {
			evs, err := tx.Events(EventQuery{Target: g.Name, Since: b.now().Add(-gateWait)})
			if err != nil {
				return err
			}
			asked, done := map[cs.RequestID]bool{}, map[cs.RequestID]bool{}
			for _, e := range evs {
				switch e.Kind {
				case cs.EventGateRequested:
					asked[e.Request] = true
				case cs.EventGateAnswered, cs.EventOutboxAbandoned:
					done[e.Request] = true
				}
			}
			for id := range asked {
				if done[id] {
					continue
				}
				r, err := tx.Request(id)
				if err != nil {
					return err
				}
				if !r.State.Open() && r.Gate != nil && !r.DryRun {
					closed = append(closed, r)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range closed {
		b.answerGate(ctx, r) // once: an answer still queued is not queued again
	}
	return nil
}

// gateComment names who decided and links the request's page.
func (b *Bot) gateComment(r cs.Request, state string) string {
	var why string
	if state == GateApproved {
		names := make([]string, len(r.Approvals))
		for i, a := range r.Approvals {
			names[i] = string(a.Actor)
		}
		why = "approved"
		if len(names) > 0 {
			why += " by " + strings.Join(names, ", ")
		} else if n := len(r.Decision.Reasons); n > 0 {
			why += ": " + r.Decision.Reasons[n-1]
		}
		if r.Decision.Policy != "" {
			why += " (policy " + r.Decision.Policy + ")"
		}
	} else {
		why = string(r.State) + ": " + PlainText(Markup(r.Outcome))
	}
	s := fmt.Sprintf("Countersign %s %s.", r.ID, strings.TrimSuffix(why, "."))
	if u := b.requestURL(r); u != "" {
		s += " " + u
	}
	return cut(s, maxGateComment)
}

// auditDelivered writes, in tx, the audit record of an outbox entry
// just delivered, for those that have one: a gate's answer.
func (b *Bot) auditDelivered(tx Tx, o Outgoing) error {
	if o.Report == nil || o.Report.Gate == nil {
		return nil
	}
	a := o.Report.Gate
	e := b.event(cs.EventGateAnswered, cs.ActorBot, nil, map[string]any{"repo": o.Report.Repo, "environment": a.Environment,
		"run": a.Run, "deployment": a.Deployment, "state": a.State, "comment": a.Comment})
	e.Request, e.Action, e.Target = a.Request, cs.ActionDeploy, a.Gate
	_, err := tx.Append(e)
	return err
}

// gateDetails lists what an approver of a gate's request checks.
func (b *Bot) gateDetails(r cs.Request) []Field {
	g := r.Gate
	label := fmt.Sprintf("GitHub Actions run #%d", g.Run)
	if r.State == cs.StatePending || r.State == cs.StateApproved {
		label = "waiting in " + label
	}
	run := Link(b.runURL(g), label)
	return []Field{
		{"Gate", Esc(r.Action.Target)},
		{"Repository", Esc(g.Repo)},
		{"Environment", Esc(g.Environment)},
		{"Ref", Esc(g.Ref)},
		{"Commit", Link(b.commitURL(g.Repo, g.SHA), cs.ShortSHA(g.SHA))},
		{"Workflow run", run},
	}
}

// runURL is the workflow run's page on GitHub.
func (b *Bot) runURL(g *cs.GateDeployment) string {
	base := b.cfg.GitHubURL
	if base == "" {
		base = "https://github.com/"
	}
	return fmt.Sprintf("%s/%s/actions/runs/%d", strings.TrimSuffix(base, "/"), g.Repo, g.Run)
}

// GateStatus is a deployment_status delivery: GitHub telling how a
// deployment went, which for a gate's deployment is the outcome of what
// its request approved.
type GateStatus struct {
	Repo        string // repository.full_name
	Environment string // deployment.environment
	Deployment  int64  // deployment.id
	State       string // deployment_status.state
	Description string // deployment_status.description
	Sender      string
	Delivery    string
	Payload     string `json:"-"`
}

// gateStatusSaid are the deployment states the request's thread hears of:
// the ends. The others (queued, in_progress, …) are only audited.
var gateStatusSaid = map[string]string{"success": "✅", "failure": "❌", "error": "❌"}

// HandleGateStatus records a deployment_status of a gate's deployment
// on its request (webhook.received, with the request and the state) and
// says its end in the request's thread. Statuses of deployments no gate
// request is for (a service's own deployments, environments no gate
// names) are audited as ignored.
func (b *Bot) HandleGateStatus(ctx context.Context, s GateStatus) (GateResult, error) {
	var res GateResult
	if b.stopping() {
		return res, errShuttingDown
	}
	d := Delivery{ID: s.Delivery, Event: "deployment_status", Repo: s.Repo, Sender: s.Sender, Payload: s.Payload}
	gate, ok := b.gateFor(s.Repo, s.Environment)
	var r cs.Request
	if ok {
		res.Gate = gate.Name
		var err error
		if r, ok, err = b.gateRequestOf(ctx, gate, s.Deployment); err != nil {
			return res, b.storeFailure(err)
		}
		if !ok {
			res.Ignored = fmt.Sprintf("deployment %d to %q of %s has no request", s.Deployment, s.Environment, s.Repo)
		}
	} else {
		res.Ignored = fmt.Sprintf("no gate for environment %q of %s", s.Environment, s.Repo)
	}
	if res.Ignored != "" {
		dup, err := b.WebhookIgnored(ctx, d, res.Ignored)
		res.Duplicate = dup
		return res, err
	}
	res.Request = r.ID
	var fresh bool
	err := b.store.Update(ctx, func(tx Tx) error {
		fresh, res.Duplicate, res.Ignored = false, false, ""
		dup, rep, err := b.seen(tx, s.Delivery, s.Payload)
		switch {
		case err != nil || dup:
			res.Duplicate = dup
			return err
		case rep.Repeats > 0:
			res.Ignored = repeatReason(rep)
			return b.auditRepeat(tx, d, rep)
		}
		fresh = true
		_, err = tx.Append(b.event(cs.EventWebhookReceived, deliveryActor(d), &r, map[string]any{
			"event": d.Event, "delivery": s.Delivery, "repo": s.Repo, "environment": s.Environment,
			"deployment": s.Deployment, "state": s.State, "description": s.Description,
		}))
		return err
	})
	if err != nil {
		return res, b.storeFailure(err)
	}
	if mark, end := gateStatusSaid[s.State]; fresh && end {
		text := Textf("%s GitHub reports the deployment of %s (%s): %s", mark, r.ID, r.Gate.Environment, s.State)
		if s.Description != "" {
			text += Textf(": %s", s.Description)
		}
		b.reply(ctx, r, text)
	}
	return res, nil
}

// gateRequestOf finds the request of gate g for GitHub's deployment id,
// among those of the last gateWait.
func (b *Bot) gateRequestOf(ctx context.Context, g Gate, deployment int64) (cs.Request, bool, error) {
	var r cs.Request
	var found bool
	err := b.store.View(ctx, func(tx ReadTx) error {
		evs, err := tx.Events(EventQuery{Target: g.Name, Kind: cs.EventGateRequested, Since: b.now().Add(-gateWait)})
		if err != nil {
			return err
		}
		for i := len(evs) - 1; i >= 0; i-- {
			var det struct {
				Deployment int64 `json:"deployment"`
			}
			if json.Unmarshal(evs[i].Detail, &det) != nil || det.Deployment != deployment {
				continue
			}
			r, err = tx.Request(evs[i].Request)
			found = err == nil
			return err
		}
		return nil
	})
	return r, found, err
}

// compareGates adds to a rules comparison what changed in the gates: one
// added, or whose repository or environment changed, is looser (the
// policies that match its name now decide other deployments); one
// removed is stricter; a channel change is neutral.
func compareGates(old, new []Gate, add func(path string, dir policies.Direction, before, after, say string)) {
	place := func(g Gate) string { return fmt.Sprintf("environment %s of %s", g.Environment, g.Repo) }
	was := byName(old, func(g Gate) string { return g.Name })
	for _, g := range new {
		o, ok := was[g.Name]
		delete(was, g.Name)
		path := "gates." + g.Name
		switch {
		case !ok:
			add(path, policies.Looser, "", place(g), fmt.Sprintf("gate %s is added (%s): the policies whose targets match it now decide its deployments", g.Name, place(g)))
			continue
		case !strings.EqualFold(o.Repo, g.Repo) || o.Environment != g.Environment:
			add(path, policies.Looser, place(o), place(g), fmt.Sprintf("gate %s now decides the deployments to %s instead of %s", g.Name, place(g), place(o)))
		}
		if o.Channel != g.Channel {
			add(path+".channel", policies.Neutral, o.Channel, g.Channel, fmt.Sprintf("gate %s's requests now go to %s", g.Name, g.Channel))
		}
	}
	for _, name := range sortedNames(was) {
		add("gates."+name, policies.Stricter, place(was[name]), "", fmt.Sprintf("gate %s is removed", name))
	}
}
