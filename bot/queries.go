package bot

import (
	"context"
	"fmt"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/commands"
	"github.com/countersign/countersign/policies"
)

// status answers `status [SERVICE]`: what runs where, pending requests, locks.
func (b *Bot) status(ctx context.Context, only string) (Markup, error) {
	services := b.rules().Services
	if only != "" {
		s, err := b.lookupService(only)
		if err != nil {
			return "", err
		}
		services = []Service{s}
	}
	var out []Markup
	err := b.store.View(ctx, func(tx ReadTx) error {
		for _, s := range services {
			line, err := b.serviceStatus(tx, s)
			if err != nil {
				return err
			}
			out = append(out, line)
		}
		open, err := tx.OpenRequests(only)
		if err != nil {
			return err
		}
		out = append(out, openRequestLines(open)...)
		return nil
	})
	if err != nil {
		return "", err
	}
	for i, s := range services {
		if st, ok := s.Executor.(Statuser); ok {
			text, err := st.Status(ctx, s.Name)
			if err != nil {
				b.log.Warn("status: the executor could not say what runs", "service", s.Name, "err", err)
				text = "could not read: " + Brief(err)
			}
			out[i] += Textf("\n    now: %s", text)
		}
	}
	out = b.driftStatus(ctx, only, services, out)
	return Join(out, "\n"), nil
}

// auditListLimit bounds what `/cs audit` shows in chat.
const auditListLimit = 30

// auditQuery answers `audit [SERVICE|@user] [since D]`.
func (b *Bot) auditQuery(ctx context.Context, c commands.Audit) (Markup, error) {
	q := EventQuery{Target: c.Service, Actor: c.User, Since: b.now().Add(-c.Since), Limit: auditListLimit}
	if c.Service != "" {
		_, err := b.lookupService(c.Service)
		if _, zok := b.zoneFor(c.Service); err != nil && !zok {
			return "", err
		}
	}
	var evs []cs.Event
	if err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		evs, err = tx.Events(q)
		return err
	}); err != nil {
		return "", err
	}
	if len(evs) == 0 {
		return Textf("No audit records since %s.", fmtTime(q.Since)), nil
	}
	lines := []string{fmt.Sprintf("Audit records since %s (newest %d at most):", fmtTime(q.Since), auditListLimit)}
	for _, e := range evs {
		l := fmt.Sprintf("#%d %s %s %s", e.Seq, e.Time.UTC().Format("2006-01-02 15:04:05Z"), e.Kind, e.Actor)
		if e.Request != "" {
			l += " " + string(e.Request)
		}
		if e.Target != "" {
			l += fmt.Sprintf(" %s %s", e.Action, e.Target)
		}
		lines = append(lines, l)
	}
	return Esc(strings.Join(lines, "\n")), nil
}

// explain answers `policy explain ACTION TARGET [@user]` without acting.
func (b *Bot) explain(ctx context.Context, c Caller, cmd commands.PolicyExplain) (Markup, error) {
	who := c.User
	if cmd.User != "" {
		who = cmd.User
	}
	a := cs.Action{Kind: cmd.Action, Target: cmd.Target, BreakGlass: cmd.BreakGlass}
	if cmd.Action == cs.ActionPolicy {
		if cmd.Target != cs.TargetPolicies {
			return "", fmt.Errorf("the target of action policy is %q", cs.TargetPolicies)
		}
	} else if cmd.Action == cs.ActionDNS {
		if _, err := b.lookupZone(cmd.Target); err != nil {
			return "", err
		}
	} else if _, err := b.lookupService(cmd.Target); err != nil {
		return "", err
	}
	groups, notes := b.usergroups(ctx)
	d := b.rules().Policy.Decide(policies.Input{Action: a, Source: cs.SourceChat, Requester: who, Usergroups: groups, Now: b.now()})
	out := Textf("If %s asked to %s now (nothing is done):\n%s", mention(who), a.String(), policies.Explain(d))
	for _, n := range notes {
		out += "\nNote: " + n
	}
	return out, nil
}

// dnsShow answers `dns show NAME [TYPE]` from the zone's primary.
func (b *Bot) dnsShow(ctx context.Context, cmd commands.DNSShow) (Markup, error) {
	z, err := b.lookupZone(cmd.Name)
	if err != nil {
		return "", err
	}
	sh, ok := z.Executor.(Shower)
	if !ok {
		return "", fmt.Errorf("cannot read %s: this build has no DNS client for zone %s (dry-run only)", cmd.Name, z.Name)
	}
	recs, err := sh.Show(ctx, cmd.Name, cmd.Type)
	if err != nil {
		return "", fmt.Errorf("dns show %s: %w", cmd.Name, err)
	}
	if len(recs) == 0 {
		return Textf("%s %s: no records", cmd.Name, cmd.Type), nil
	}
	var lines []string
	for _, r := range recs {
		lines = append(lines, fmt.Sprintf("%s %d %s %s", r.Name, r.TTL, r.Type, r.Value))
	}
	return Esc(strings.Join(lines, "\n")), nil
}

// serviceStatus is a service's lines in `status`: its last deployment
// and its lock.
func (b *Bot) serviceStatus(tx ReadTx, s Service) (Markup, error) {
	line := Textf("*%s* (%s)", s.Name, s.Kind)
	hist, err := tx.Deployments(s.Name, 1)
	if err != nil {
		return "", err
	}
	if len(hist) == 0 {
		line += ": no deployment recorded"
	} else {
		line += b.lastDeployment(s, hist[0])
	}
	if l, ok, err := tx.Lock(s.Name); err != nil {
		return "", err
	} else if ok {
		line += "\n    🔒 " + lockReason(l)
	}
	return line, nil
}

// lastDeployment is what `status` says of a service's last deployment d.
func (b *Bot) lastDeployment(s Service, d cs.Deployment) Markup {
	ok := "succeeded"
	if !d.Succeeded {
		ok = "FAILED"
	} else if d.Verification == "failed" {
		ok = "deployed, then FAILED its verification"
	}
	dry := ""
	if d.DryRun {
		dry = " [dry run]"
	}
	line := Textf(": last %s %s %s%s at %s by %s", string(d.Kind), d.ID, ok, dry, fmtTime(d.Finished), mention(d.Requester))
	if len(d.Approvers) > 0 {
		var a []Markup
		for _, x := range d.Approvers {
			a = append(a, mention(x))
		}
		line += ", approved by " + Join(a, ", ")
	}
	line += Textf("\n    image %s", d.Image)
	if d.Commit != "" {
		line += " (commit " + b.commitLink(s.Name, d.Commit) + ")"
	}
	return line
}

// openRequestLines is the open requests part of `status`.
func openRequestLines(open []cs.Request) []Markup {
	out := []Markup{"Open requests:"}
	if len(open) == 0 {
		out = []Markup{"No open requests."}
	}
	for _, r := range open {
		line := Textf("  %s %s — %s", r.ID, describeChange(r.Action), stateLabel(r))
		if r.State == cs.StatePending {
			line += Textf(" (%s; expires %s)", policies.Progress(r.Decision, r.Approvals), fmtTime(r.Expires))
		}
		out = append(out, line)
	}
	return out
}
