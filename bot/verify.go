package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	cs "github.com/countersign/countersign"
)

// Verify is a service's check after each deploy that succeeded: every
// Every, for For, its URL must answer Status within ProbeTimeout.
type Verify struct {
	URL        string
	Status     int
	For, Every time.Duration
	// Rollback: a failure rolls back to the deployment before, as the
	// bot's own request; otherwise the failure is only reported.
	Rollback bool
}

// onFailure is the config word for v.Rollback, as the audit records it.
func (v Verify) onFailure() string {
	if v.Rollback {
		return "rollback"
	}
	return "alert"
}

// Prober asks a deployed service how it is. cmd/countersign's prober is
// an HTTP GET that does not follow redirects.
type Prober interface {
	// Probe returns the status url answered, or an error when it did not
	// answer; ctx ends when the answer is too late.
	Probe(ctx context.Context, url string) (status int, err error)
}

// Sleeper waits between probes; tests inject one that moves their clock.
type Sleeper interface {
	// Sleep returns after d, or ctx's error when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// ProbeTimeout is how long one probe waits for an answer.
const ProbeTimeout = 5 * time.Second

// autoReason is the "auto" detail of a rollback after a failed
// verification.
const autoReason = "verification failed"

// verification is one deploy's check, registered from before the deploy
// runs until the check ends, so that GitHub is told "verifying" rather
// than "success" and a newer approved deploy can cancel it.
type verification struct {
	id     cs.RequestID
	target string
	spec   Verify
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// probeError is a wrong or missing answer, as opposed to a probe that
// was cancelled.
type probeError string

func (e probeError) Error() string { return string(e) }

// beginVerification registers the check of r when r is a real deploy of
// a service with verify; it returns nil otherwise. The check itself
// starts in verify, once the deploy succeeded.
func (b *Bot) beginVerification(ctx context.Context, r cs.Request) *verification {
	s, ok := b.service(r.Action.Target)
	if !ok || s.Verify == nil || r.Action.Kind != cs.ActionDeploy || r.DryRun {
		return nil
	}
	vctx, cancel := context.WithCancelCause(ctx)
	v := &verification{id: r.ID, target: s.Name, spec: *s.Verify, ctx: vctx, cancel: cancel}
	b.mu.Lock()
	b.verifying[v.target] = v
	b.mu.Unlock()
	return v
}

// endVerification unregisters v; calling it again does nothing.
func (b *Bot) endVerification(v *verification) {
	b.mu.Lock()
	if b.verifying[v.target] == v {
		delete(b.verifying, v.target)
	}
	b.mu.Unlock()
	v.cancel(nil)
}

// cancelVerification stops the check running on r's target: r, a newer
// deploy or rollback, was approved and replaces what is being checked.
func (b *Bot) cancelVerification(r cs.Request) {
	b.mu.Lock()
	v := b.verifying[r.Action.Target]
	b.mu.Unlock()
	if v != nil && v.id != r.ID {
		v.cancel(fmt.Errorf("%s (%s) was approved", r.ID, r.Action.Kind))
	}
}

// verifyingNote is what GitHub is told about r while it is verified.
func (b *Bot) verifyingNote(r cs.Request) (string, bool) {
	if r.State != cs.StateSucceeded {
		return "", false
	}
	b.mu.Lock()
	v := b.verifying[r.Action.Target]
	b.mu.Unlock()
	if v == nil || v.id != r.ID {
		return "", false
	}
	return fmt.Sprintf("%s deployed; verifying it answers %d for %s", r.ID, v.spec.Status, v.spec.For), true
}

// verify checks the deploy v was registered for, once it succeeded, and
// records the outcome. It runs with the target's execution lock held, so
// the next deploy of the target waits for it. A failure with Rollback
// creates the rollback to the deployment before.
func (b *Bot) verify(v *verification, runErr error) {
	if v == nil {
		return
	}
	defer b.endVerification(v)
	// The outcome is recorded even when the bot is stopping.
	ctx := context.WithoutCancel(v.ctx)
	if runErr != nil {
		return
	}
	spec := v.spec
	r, err := b.verifyRecord(ctx, v.id, cs.EventVerificationStarted, map[string]any{
		"url": spec.URL, "status": spec.Status, "for": spec.For.String(), "every": spec.Every.String(), "on_failure": spec.onFailure(),
		"note": fmt.Sprintf("GET %s must answer %d every %s for %s", spec.URL, spec.Status, spec.Every, spec.For),
	}, nil)
	if err != nil {
		if !errors.Is(err, errNotVerified) {
			b.log.Error("start verification", "request", v.id, "err", err)
			b.reply(ctx, r, Textf("⚠️ %s was deployed but could not be verified: %v", v.id, b.storeFailure(err)))
		}
		return
	}
	b.reply(ctx, r, Textf("🔎 %s: checking that %s answers %d, every %s for %s; %s waits for it.",
		r.ID, spec.URL, spec.Status, spec.Every, spec.For, r.Action.Target))

	probes, perr := b.probe(v.ctx, spec)
	switch {
	case perr == nil:
		r, err = b.verifyEnded(ctx, v, cs.EventVerificationPassed, map[string]any{
			"probes": probes, "note": fmt.Sprintf("answered %d %d times over %s", spec.Status, probes, spec.For),
		}, Textf("✅ %s verified: %s answered %d %d times over %s.", v.id, spec.URL, spec.Status, probes, spec.For))
	case !errors.As(perr, new(probeError)):
		reason := "the bot stopped"
		if cause := context.Cause(v.ctx); v.ctx.Err() != nil && !errors.Is(cause, context.Canceled) {
			reason = cause.Error()
		}
		r, err = b.verifyEnded(ctx, v, cs.EventVerificationCancelled, map[string]any{"probes": probes, "reason": reason},
			Textf("%s: verification stopped at probe %d: %s.", v.id, probes, reason))
	default:
		err = b.verifyFailed(ctx, v, probes, perr)
	}
	if err != nil && !errors.Is(err, errNotVerified) {
		b.log.Error("record verification", "request", v.id, "err", err)
		b.reply(ctx, r, Textf("⚠️ the verification of %s could not be recorded: %v", v.id, b.storeFailure(err)))
	}
}

// verifyEnded records that v's check ended (passed, cancelled) with the
// deploy standing, tells GitHub and the card, and says text in the thread.
func (b *Bot) verifyEnded(ctx context.Context, v *verification, kind cs.EventKind, detail map[string]any, text Markup) (cs.Request, error) {
	r, err := b.verifyRecord(ctx, v.id, kind, detail, nil)
	if err != nil {
		return r, err
	}
	b.endVerification(v) // first: GitHub is told success, not "verifying"
	b.reportAndShow(ctx, r)
	b.reply(ctx, r, text)
	return r, nil
}

// errNotVerified: the request is not (or no longer) a succeeded deploy,
// so there is nothing to verify.
var errNotVerified = errors.New("not a succeeded deploy")

// verifyRecord appends kind about request id, which must have succeeded,
// after change (if any) has changed it; it returns the request as stored.
func (b *Bot) verifyRecord(ctx context.Context, id cs.RequestID, kind cs.EventKind, detail map[string]any, change func(*cs.Request)) (cs.Request, error) {
	var r cs.Request
	err := b.store.Update(ctx, func(tx Tx) error {
		var err error
		if r, err = tx.Request(id); err != nil {
			return err
		}
		if r.State != cs.StateSucceeded {
			return errNotVerified
		}
		if change != nil {
			change(&r)
			r.Updated = b.now()
			if err := tx.PutRequest(r); err != nil {
				return err
			}
		}
		if _, err = tx.Append(b.event(kind, cs.ActorBot, &r, detail)); err != nil {
			return err
		}
		return markDeployment(tx, r, kind)
	})
	return r, err
}

// markDeployment records in r's deployment how its check ended.
func markDeployment(tx Tx, r cs.Request, kind cs.EventKind) error {
	outcome := map[cs.EventKind]string{cs.EventVerificationPassed: "passed", cs.EventVerificationFailed: "failed",
		cs.EventVerificationCancelled: "cancelled"}[kind]
	if outcome == "" {
		return nil
	}
	// The check holds the target, so its deploy is the newest one.
	hist, err := tx.Deployments(r.Action.Target, 1)
	if err != nil || len(hist) == 0 || hist[0].ID != r.ID {
		return err
	}
	d := hist[0]
	d.Verification = outcome
	return tx.PutDeployment(d)
}

// probe asks spec.URL every spec.Every until spec.For has passed (the
// first ask at once, the last at or before For). It returns how many
// asks were made and a probeError for a wrong or missing answer, or
// ctx's error when ctx ended.
func (b *Bot) probe(ctx context.Context, spec Verify) (int, error) {
	end := b.now().Add(spec.For)
	for n := 1; ; n++ {
		if err := b.probeOnce(ctx, spec); err != nil {
			return n, err
		}
		if b.now().Add(spec.Every).After(end) {
			return n, nil
		}
		if err := b.cfg.Sleeper.Sleep(ctx, spec.Every); err != nil {
			return n, err
		}
	}
}

func (b *Bot) probeOnce(ctx context.Context, spec Verify) error {
	if b.cfg.Prober == nil {
		return probeError("no prober is configured")
	}
	pctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	status, err := b.cfg.Prober.Probe(pctx, spec.URL)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.DeadlineExceeded) || err == nil && pctx.Err() != nil:
		return probeError(fmt.Sprintf("%s did not answer within %s", spec.URL, ProbeTimeout))
	case err != nil:
		return probeError(fmt.Sprintf("%s: %v", spec.URL, err))
	case status != spec.Status:
		return probeError(fmt.Sprintf("%s answered %d, want %d", spec.URL, status, spec.Status))
	}
	return nil
}

// verifyFailed records that v's deploy failed its verification (the
// request ends failed) and, with Rollback, rolls back to the deployment
// before it: a request of the bot's own, approved already.
func (b *Bot) verifyFailed(ctx context.Context, v *verification, probes int, perr error) error {
	spec := v.spec
	var back cs.Action
	var pickErr error
	if spec.Rollback {
		back = cs.Action{Kind: cs.ActionRollback, Target: v.target}
		pickErr = b.resolveRollback(ctx, "", &back)
	}
	what := Brief(perr)
	detail := map[string]any{"error": perr.Error(), "probes": probes, "on_failure": spec.onFailure()}
	note := Textf("verification failed at probe %d: %s", probes, what)
	switch {
	case !spec.Rollback:
		note += "; on_failure is alert, so nothing was rolled back"
	case pickErr != nil:
		note += Textf("; it could not be rolled back: %s", Brief(pickErr))
		detail["rollback_error"] = pickErr.Error()
	case back.Image == "": // the executor knows what ran before
		note += "; the bot rolls it back to the image that ran before"
		detail["rollback_to"] = back
	default:
		note += "; the bot rolls it back: " + describeChange(back)
		detail["rollback_to"] = back
	}
	r, err := b.verifyRecord(ctx, v.id, cs.EventVerificationFailed, detail, func(r *cs.Request) {
		r.State, r.Outcome = cs.StateFailed, string(note)
	})
	if err != nil {
		return err
	}
	// Unregistered first: the rollback must not cancel what already ended.
	b.endVerification(v)
	b.reportAndShow(ctx, r)
	b.reply(ctx, r, cc(Textf("❌ %s ", r.ID)+note, r))
	if !spec.Rollback || pickErr != nil {
		return nil
	}
	s, _ := b.service(v.target)
	rb, err := b.submit(ctx, draft{
		Action: back, Source: cs.SourceBot, Requester: cs.ActorBot, Thread: r.Thread, Channel: s.Channel, Auto: autoReason,
	})
	if err != nil {
		b.log.Error("automatic rollback", "request", r.ID, "err", err)
		b.reply(ctx, r, Textf("⚠️ the rollback of %s could not be created: %s. Roll back by hand: `rollback %s`", r.ID, Brief(err), v.target))
		return nil
	}
	if rb.State == cs.StateRefused {
		b.reply(ctx, r, cc(Textf("⚠️ %s, the bot's rollback of %s, was refused: ", rb.ID, r.ID)+Markup(rb.Outcome), r))
		return nil
	}
	b.reply(ctx, r, Textf("↩️ %s rolls %s back without new approvals: the state it returns to was approved already.", rb.ID, v.target))
	return nil
}

// autoDecision approves a request the bot makes on its own (why says
// what it is for) without asking policy: it only returns a target to a
// state that was approved before.
func (b *Bot) autoDecision(why string) cs.Decision {
	return cs.Decision{Verdict: cs.VerdictAllow, PolicyVersion: b.rules().Policy.Version(),
		Reasons: []string{why + ": returns to a state approved before, without new approvals"}}
}
