package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/commands"
)

// HandleCommand handles one command as typed after the slash command.
// Every outcome is said in chat: requests in their thread, answers and
// errors ephemerally to the caller. Chat adapters must acknowledge Slack
// first and call this asynchronously, on a context of their own.
func (b *Bot) HandleCommand(ctx context.Context, c Caller, text string) {
	b.work.add()
	defer b.work.done()
	if b.stopping() {
		b.answer(ctx, c, "⚠️ "+userMessage(errShuttingDown))
		return
	}
	reply, err := b.command(ctx, c, text)
	if err != nil {
		reply = "⚠️ " + userMessage(err)
		b.log.Info("command refused", "user", c.User, "err", err)
	}
	b.answer(ctx, c, reply)
}

// answer tells the caller alone.
func (b *Bot) answer(ctx context.Context, c Caller, reply Markup) {
	if reply != "" {
		b.ephemeral(ctx, c, Message{Channel: c.Channel, Text: reply})
	}
}

// userMessage is what a chat user sees of an error: the error's text,
// which the bot's own errors keep short and free of secrets, escaped,
// since it may quote what the user typed.
func userMessage(err error) Markup {
	var pe *commands.ParseError
	if errors.As(err, &pe) {
		return Esc(pe.Error())
	}
	return Esc(Brief(err))
}

// maxBrief bounds an error's text in chat: the cause, not every layer
// under it (registry, engine, SSH internals). The log and the audit
// record keep the whole chain.
const maxBrief = 300

// Brief is err's text cut to maxBrief runes, for chat and pages; the
// log keeps the whole chain.
func Brief(err error) string {
	s := err.Error()
	if r := []rune(s); len(r) > maxBrief {
		return string(r[:maxBrief]) + " … (the rest is in the bot's log)"
	}
	return s
}

// The actions of the request buttons, as the chat sends them back.
const (
	ButtonApprove = "approve"
	ButtonDeny    = "deny"
)

// ButtonValue is the value of a request's buttons: the request and the
// fingerprint of the exact action the clicker saw.
func ButtonValue(id cs.RequestID, fingerprint string) string { return string(id) + ":" + fingerprint }

// ParseButtonValue reverses ButtonValue.
func ParseButtonValue(v string) (cs.RequestID, string, error) {
	id, fp, ok := strings.Cut(v, ":")
	if !ok || fp == "" {
		return "", "", fmt.Errorf("button value %q: want REQUEST:FINGERPRINT", v)
	}
	rid, err := cs.ParseRequestID(id)
	return rid, fp, err
}

// HandleButton handles an Approve or Deny click; value is the button's
// (ButtonValue). A Deny click without a reason (Slack asks for one in a
// modal first and calls HandleDeny) is denied "with the button".
func (b *Bot) HandleButton(ctx context.Context, c Caller, action, value string) {
	if b.stopping() {
		b.answer(ctx, c, "⚠️ "+userMessage(errShuttingDown))
		return
	}
	switch action {
	case ButtonApprove:
		b.work.add()
		defer b.work.done()
		rid, fp, err := ParseButtonValue(value)
		var reply Markup
		if err == nil {
			reply, err = b.approve(ctx, c.User, rid, fp)
		}
		if err != nil {
			reply = "⚠️ " + userMessage(err)
		}
		b.answer(ctx, c, reply)
	case ButtonDeny:
		b.HandleDeny(ctx, c, value, "denied with the button")
	default:
		b.answer(ctx, c, Textf("⚠️ unknown button %q", action))
	}
}

// HandleDeny denies the request of a Deny button's value with reason.
func (b *Bot) HandleDeny(ctx context.Context, c Caller, value, reason string) {
	b.work.add()
	defer b.work.done()
	if b.stopping() {
		b.answer(ctx, c, "⚠️ "+userMessage(errShuttingDown))
		return
	}
	rid, fp, err := ParseButtonValue(value)
	var reply Markup
	if err == nil {
		reply, err = b.deny(ctx, c.User, rid, fp, reason)
	}
	if err != nil {
		reply = "⚠️ " + userMessage(err)
	}
	b.answer(ctx, c, reply)
}

// command runs one parsed command and returns the caller's reply.
func (b *Bot) command(ctx context.Context, c Caller, text string) (Markup, error) {
	cmd, err := commands.Parse(text)
	if err != nil {
		return "", err
	}
	switch cmd := cmd.(type) {
	case commands.Help:
		return Esc(commands.HelpText(cmd.Topic)), nil
	case commands.Approve:
		return b.approve(ctx, c.User, cmd.ID, "")
	case commands.Deny:
		return b.deny(ctx, c.User, cmd.ID, "", cmd.Reason)
	case commands.Status:
		return b.status(ctx, cmd.Service)
	case commands.Audit:
		return b.auditQuery(ctx, cmd)
	case commands.AuditAnchor:
		return b.anchorNow(ctx)
	case commands.PolicyExplain:
		return b.explain(ctx, c, cmd)
	case commands.DNSShow:
		return b.dnsShow(ctx, cmd)
	case commands.PolicyShow:
		return b.policyShow(), nil
	case commands.ConfigReload:
		return b.configReload(ctx, c)
	}
	d, err := b.draftFor(ctx, c, cmd)
	if err != nil {
		return "", err
	}
	r, err := b.submit(ctx, d)
	if err != nil {
		return "", err
	}
	if r.Message.Channel != "" && r.Message.Channel != c.Channel {
		return Textf("%s posted in %s", r.ID, channelMention(r.Message.Channel)), nil
	}
	return "", nil
}

// draftFor turns a change command into a draft, resolving what it names:
// images to exact digests, rollbacks to recorded deployments.
func (b *Bot) draftFor(ctx context.Context, c Caller, cmd commands.Command) (draft, error) {
	d := draft{Source: cs.SourceChat, Requester: c.User, Channel: c.Channel, Caller: &c}
	if a, ok := dnsAction(cmd); ok {
		d.Action = a
		_, err := b.lookupZone(a.Target)
		return d, err
	}
	serviceAction := func(name string, kind cs.ActionKind) (Service, error) { return b.serviceAction(&d, name, kind) }
	switch cmd := cmd.(type) {
	case commands.Deploy:
		s, err := serviceAction(cmd.Service, cs.ActionDeploy)
		if err != nil {
			return d, err
		}
		d.Action.BreakGlass = cmd.BreakGlass
		if err := b.resolveDeploy(ctx, s, cmd.Ref, &d.Action); err != nil {
			return d, err
		}
	case commands.Rollback:
		if _, err := serviceAction(cmd.Service, cs.ActionRollback); err != nil {
			return d, err
		}
		d.Action.BreakGlass = cmd.BreakGlass
		if err := b.resolveRollback(ctx, cmd.To, &d.Action); err != nil {
			return d, err
		}
	case commands.Scale:
		s, err := serviceAction(cmd.Service, cs.ActionScale)
		if err != nil {
			return d, err
		}
		if s.Kind != KindSwarm {
			return d, fmt.Errorf("%s is not a Swarm service (kind %s): only Swarm services can be scaled", s.Name, s.Kind)
		}
		d.Action.Replicas, d.Action.BreakGlass = cmd.Replicas, cmd.BreakGlass
	case commands.Lock:
		if _, err := serviceAction(cmd.Service, cs.ActionLock); err != nil {
			return d, err
		}
		if err := b.notLockedByHand(ctx, cmd.Service); err != nil {
			return d, err
		}
		d.Action.Reason = cmd.Reason
	case commands.Unlock:
		if _, err := serviceAction(cmd.Service, cs.ActionUnlock); err != nil {
			return d, err
		}
	case commands.Adopt:
		s, err := serviceAction(cmd.Service, cs.ActionAdopt)
		if err != nil {
			return d, err
		}
		if err := b.resolveAdopt(ctx, s, &d.Action); err != nil {
			return d, err
		}
	default:
		return d, fmt.Errorf("%s is not a change", cmd.Verb())
	}
	return d, nil
}

// serviceAction points draft d at service name (or, when no service has
// that name, at the deployment gate that has) for an action of kind.
func (b *Bot) serviceAction(d *draft, name string, kind cs.ActionKind) (Service, error) {
	s, err := b.lookupService(name)
	if g, gate := b.gate(name); err != nil && gate {
		return gateAction(g, kind, d)
	}
	if err != nil {
		return Service{}, err
	}
	if err := refuseBuildOnly(s, kind); err != nil {
		return Service{}, err
	}
	d.Action = cs.Action{Kind: kind, Target: s.Name}
	if s.Channel != "" {
		d.Channel = s.Channel
	}
	return s, nil
}

// dnsAction is the action of a DNS change command (ok false for any
// other command).
func dnsAction(cmd commands.Command) (a cs.Action, ok bool) {
	var change cs.DNSChange
	var breakGlass string
	switch cmd := cmd.(type) {
	case commands.DNSSet:
		change = cs.DNSChange{Op: cs.DNSSet, Name: cmd.Name, Type: cmd.Type, Value: cmd.Value, TTL: cmd.TTL}
		breakGlass = cmd.BreakGlass
	case commands.DNSAdd:
		change = cs.DNSChange{Op: cs.DNSAdd, Name: cmd.Name, Type: cmd.Type, Value: cmd.Value, TTL: cmd.TTL}
		breakGlass = cmd.BreakGlass
	case commands.DNSDelete:
		change = cs.DNSChange{Op: cs.DNSDelete, Name: cmd.Name, Type: cmd.Type, Value: cmd.Value}
		breakGlass = cmd.BreakGlass
	default:
		return cs.Action{}, false
	}
	return cs.Action{Kind: cs.ActionDNS, Target: change.Name, BreakGlass: breakGlass, DNS: &change}, true
}

// channelMention links a channel ID (<#C123>); a name is shown as it is.
func channelMention(ch string) Markup {
	if validUserID(ch) && (ch[0] == 'C' || ch[0] == 'G') {
		return Markup("<#" + ch + ">")
	}
	return Esc(ch)
}

// notLockedByHand refuses to lock a target someone locked already, so
// that their reason is not silently replaced. The lock a rollback sets
// against deploys on push may be turned into a full lock.
func (b *Bot) notLockedByHand(ctx context.Context, target string) error {
	return b.store.View(ctx, func(tx ReadTx) error {
		l, ok, err := tx.Lock(target)
		if err != nil || !ok || l.AutoOnly {
			return err
		}
		return fmt.Errorf("%s is already locked by %s since %s: %s; `unlock %s` first to lock it with another reason",
			target, l.Actor, fmtTime(l.Since), l.Reason, target)
	})
}
