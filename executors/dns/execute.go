package dns

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/miekg/dns"
)

// Describe says exactly what Execute would send for a prepared request:
// the zone, the prerequisites, the deletion and the additions, with the
// current and proposed records. For a dry run (Options.DryRun, or
// req.DryRun) it starts with "DRY RUN" and also reads the primary now,
// saying what it found or plainly that it could not read it. It never
// changes anything and never shows the TSIG secret.
func (e *Executor) Describe(ctx context.Context, req cs.Request) (string, error) {
	u, err := e.checkChange(req)
	if err != nil {
		return "", err
	}
	lines := e.describe(u)
	if !e.dryRun(req) {
		return strings.Join(lines, "\n"), nil
	}
	read, _ := e.readNow(ctx, u)
	return "DRY RUN: nothing will be sent. Would send an " + strings.Join(append(lines, "Just now: "+read), "\n"), nil
}

// Execute carries out a prepared change (see the package comment): it
// reads the SOA serial and the RRset and stops with a *ChangedError if
// the records (or their TTL) are no longer Current; sends the UPDATE,
// whose prerequisites catch a change made after that read (the primary
// answers YXRRSET or NXRRSET, and Execute returns a *ChangedError with
// the records as they are now); then checks that the primary holds
// exactly Proposed (else ErrNotVerified) and reports the serial before
// and after. It reports each step through progress and stops when
// progress fails. A dry run reads and reports but sends no UPDATE.
func (e *Executor) Execute(ctx context.Context, req cs.Request, progress func(step string) error) (bot.Result, error) {
	u, err := e.checkChange(req)
	if err != nil {
		return bot.Result{}, err
	}
	if e.dryRun(req) {
		return e.executeDry(ctx, u, progress)
	}
	what := u.name + " " + u.typ
	s, err := e.dial(ctx)
	if err != nil {
		return bot.Result{}, err
	}
	defer s.close()
	before, err := s.serial(ctx)
	if err != nil {
		return bot.Result{}, err
	}
	now, err := s.rrset(ctx, u.name, u.typ)
	if err != nil {
		return bot.Result{}, err
	}
	if !sameRecords(now, u.current) {
		e.log.Warn("dns records changed since approval", "name", u.name, "type", u.typ, "request", req.ID)
		return bot.Result{}, &ChangedError{Name: u.name, Type: u.typ, Now: now}
	}
	if err := progress(fmt.Sprintf("read %s on the primary %s: as approved (%s); SOA serial %d",
		what, e.server, listRecords(now, "no records"), before)); err != nil {
		return bot.Result{}, err
	}
	if e.beforeUpdate != nil {
		e.beforeUpdate()
	}
	m, err := e.message(u)
	if err != nil {
		return bot.Result{}, err
	}
	r, err := s.exchange(ctx, "update "+what, m)
	if r != nil && (r.Rcode == dns.RcodeYXRrset || r.Rcode == dns.RcodeNXRrset) {
		e.log.Warn("dns update prerequisites failed", "name", u.name, "type", u.typ, "request", req.ID, "rcode", rcodeName(r.Rcode))
		return bot.Result{}, e.changed(ctx, s, u, rcodeName(r.Rcode))
	}
	if errors.Is(err, ErrTimeout) && ctx.Err() == nil {
		return e.unanswered(ctx, u, before, err, progress)
	}
	if err != nil {
		return bot.Result{}, err
	}
	e.log.Info("dns update applied", "name", u.name, "type", u.typ, "request", req.ID, "key", e.key, "serial_before", before)
	if err := progress(fmt.Sprintf("sent the UPDATE for zone %s: the primary accepted it (NOERROR)", e.zone)); err != nil {
		return bot.Result{}, fmt.Errorf("the primary applied the update, but %w", err)
	}
	after, err := s.rrset(ctx, u.name, u.typ)
	if err != nil {
		return bot.Result{}, fmt.Errorf("the primary applied the update, but verifying it failed: %w", err)
	}
	if !sameRecords(after, u.proposed) {
		return bot.Result{}, fmt.Errorf("%w: the primary accepted the UPDATE but %s is now %s, not %s", ErrNotVerified,
			what, listRecords(after, "empty"), listRecords(u.proposed, "empty"))
	}
	return e.verified(ctx, s, u, before, after, progress)
}

// unanswered finds out what became of an UPDATE the primary did not
// answer in time (timeout is that error): a lost update and a lost
// answer look alike, so it reads the RRset again over a new connection
// (the old one may still carry the late answer). Exactly the proposed
// records mean the update was applied, and it goes on as if answered;
// anything else fails, saying what the primary holds and that a late
// update may still land.
func (e *Executor) unanswered(ctx context.Context, u update, before uint32, timeout error, progress func(string) error) (bot.Result, error) {
	what := u.name + " " + u.typ
	e.log.Warn("dns update unanswered: reading the records again", "name", u.name, "type", u.typ, "err", timeout)
	s, err := e.dial(ctx)
	if err != nil {
		return bot.Result{}, fmt.Errorf("%w; reconnecting to learn whether it was applied failed too: %w", timeout, err)
	}
	defer s.close()
	now, err := s.rrset(ctx, u.name, u.typ)
	if err != nil {
		return bot.Result{}, fmt.Errorf("%w; reading %s to learn whether it was applied failed too: %w", timeout, what, err)
	}
	if !sameRecords(now, u.proposed) {
		return bot.Result{}, fmt.Errorf("%w; read again, %s is %s, not %s: the update is not applied, but the primary may still apply it late, so look (/cs dns show) before asking again",
			timeout, what, listRecords(now, "empty"), listRecords(u.proposed, "empty"))
	}
	if err := progress(fmt.Sprintf("the primary did not answer the UPDATE for zone %s within %s, but read again %s is as proposed: it was applied", e.zone, e.opts.Timeout, what)); err != nil {
		return bot.Result{}, fmt.Errorf("the primary applied the update, but %w", err)
	}
	return e.verified(ctx, s, u, before, now, progress)
}

// verified reports a change whose records the primary holds as proposed
// (after, as read): the new SOA serial, and the summary.
func (e *Executor) verified(ctx context.Context, s *session, u update, before uint32, after []cs.Record, progress func(string) error) (bot.Result, error) {
	what := u.name + " " + u.typ
	serial, err := s.serial(ctx)
	if err != nil {
		return bot.Result{}, fmt.Errorf("the primary applied the update, but reading the new SOA serial failed: %w", err)
	}
	summary := fmt.Sprintf("%s is now %s; SOA serial %d → %d", what, listRecords(after, "gone (no records)"), before, serial)
	if err := progress("verified on the primary: " + summary); err != nil {
		return bot.Result{}, fmt.Errorf("the primary applied the update, but %w", err)
	}
	return bot.Result{Summary: summary}, nil
}

// changed re-reads after the primary refused the update for its
// prerequisites, and explains.
func (e *Executor) changed(ctx context.Context, s *session, u update, rcode string) error {
	now, err := s.rrset(ctx, u.name, u.typ)
	if err == nil && sameRecords(now, u.current) && len(u.absent) > 0 {
		// The RRset itself is as approved: a conflicting RRset appeared.
		var conflicts []cs.Record
		if conflicts, err = s.cnameConflicts(ctx, u.name, u.typ); err == nil {
			now = append(now, conflicts...)
		}
	}
	if err != nil {
		return fmt.Errorf("%w (the primary answered %s); reading the records now failed: %w", ErrChanged, rcode, err)
	}
	return &ChangedError{Name: u.name, Type: u.typ, Rcode: rcode, Now: now}
}

func (e *Executor) dryRun(req cs.Request) bool { return e.opts.DryRun || req.DryRun }

// executeDry reads what it can, reports the UPDATE it would send, and
// changes nothing.
func (e *Executor) executeDry(ctx context.Context, u update, progress func(string) error) (bot.Result, error) {
	read, ok := e.readNow(ctx, u)
	what := u.name + " " + u.typ
	steps := []string{
		read,
		"would send an " + strings.Join(e.describeUpdate(u), "\n"),
		fmt.Sprintf("would query the primary to check %s is then exactly %s, and report the SOA serial before and after",
			what, listRecords(u.proposed, "empty")),
	}
	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return bot.Result{}, err
		}
		if err := progress("DRY RUN: " + st); err != nil {
			return bot.Result{}, err
		}
	}
	summary := "DRY RUN: nothing was changed"
	if !ok {
		summary += "; the real update would not go through as approved (see the first step)"
	}
	return bot.Result{Summary: summary, DryRun: true}, nil
}

// readNow reads the SOA serial and the RRset for a dry run and says what
// it found; ok is false when it could not read them or they are no longer
// what was approved.
func (e *Executor) readNow(ctx context.Context, u update) (string, bool) {
	what := u.name + " " + u.typ
	fail := func(err error) (string, bool) {
		return fmt.Sprintf("could not read the primary %s, so the current records and SOA serial are unknown: %v", e.server, err), false
	}
	s, err := e.dial(ctx)
	if err != nil {
		return fail(err)
	}
	defer s.close()
	serial, err := s.serial(ctx)
	if err != nil {
		return fail(err)
	}
	now, err := s.rrset(ctx, u.name, u.typ)
	if err != nil {
		return fail(err)
	}
	found := fmt.Sprintf("read from the primary %s: SOA serial %d; %s is %s", e.server, serial, what, listRecords(now, "empty"))
	if !sameRecords(now, u.current) {
		return found + ": not what was approved, so the real update would fail with " + ErrChanged.Error(), false
	}
	return found + ", as approved", true
}
