package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/commands"
)

// Caller is who typed a command, and where.
type Caller struct {
	User    cs.Actor
	Channel string
}

// HandleCommand handles one command as typed after the slash command.
// Every outcome is said in chat: requests in their thread, answers and
// errors ephemerally to the caller. Chat adapters must acknowledge Slack
// first and call this asynchronously.
func (b *Bot) HandleCommand(ctx context.Context, c Caller, text string) {
	b.work.add()
	defer b.work.done()
	reply, err := b.command(ctx, c, text)
	if err != nil {
		reply = "⚠️ " + userMessage(err)
		b.log.Info("command refused", "user", c.User, "err", err)
	}
	if reply == "" {
		return
	}
	if err := b.chat.Ephemeral(ctx, c.Channel, c.User, Message{Channel: c.Channel, Title: reply}); err != nil {
		b.log.Warn("ephemeral reply", "user", c.User, "err", err)
	}
}

// userMessage is what a chat user sees of an error: the error's text,
// which the bot's own errors keep short and free of secrets.
func userMessage(err error) string {
	var pe *commands.ParseError
	if errors.As(err, &pe) {
		return pe.Error()
	}
	return err.Error()
}

// HandleButton handles an Approve or Deny click. value is the button's
// value, "ID:FINGERPRINT" as rendered by the chat adapter.
func (b *Bot) HandleButton(ctx context.Context, c Caller, action, value string) {
	b.work.add()
	defer b.work.done()
	id, fp, _ := strings.Cut(value, ":")
	rid, err := cs.ParseRequestID(id)
	var reply string
	if err == nil {
		switch action {
		case "approve":
			reply, err = b.approve(ctx, c.User, rid, fp)
		case "deny":
			reply, err = b.deny(ctx, c.User, rid, "denied with the button")
		default:
			err = fmt.Errorf("unknown button %q", action)
		}
	}
	if err != nil {
		reply = "⚠️ " + err.Error()
	}
	if reply == "" {
		return
	}
	if err := b.chat.Ephemeral(ctx, c.Channel, c.User, Message{Channel: c.Channel, Title: reply}); err != nil {
		b.log.Warn("ephemeral reply", "user", c.User, "err", err)
	}
}

// command runs one parsed command and returns the caller's reply.
func (b *Bot) command(ctx context.Context, c Caller, text string) (string, error) {
	cmd, err := commands.Parse(text)
	if err != nil {
		return "", err
	}
	switch cmd := cmd.(type) {
	case commands.Help:
		return commands.HelpText(cmd.Topic), nil
	case commands.Approve:
		return b.approve(ctx, c.User, cmd.ID, "")
	case commands.Deny:
		return b.deny(ctx, c.User, cmd.ID, cmd.Reason)
	case commands.Status:
		return b.status(ctx, cmd.Service)
	case commands.Audit:
		return b.auditQuery(ctx, cmd)
	case commands.PolicyExplain:
		return b.explain(ctx, c, cmd)
	case commands.DNSShow:
		return b.dnsShow(ctx, cmd)
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
		return fmt.Sprintf("%s posted in %s", r.ID, r.Message.Channel), nil
	}
	return "", nil
}

// draftFor turns a change command into a draft, resolving what it names:
// images to exact digests, rollbacks to recorded deployments.
func (b *Bot) draftFor(ctx context.Context, c Caller, cmd commands.Command) (draft, error) {
	d := draft{Source: cs.SourceChat, Requester: c.User, Channel: c.Channel}
	serviceAction := func(name string, kind cs.ActionKind) (Service, error) {
		s, ok := b.service(name)
		if !ok {
			return Service{}, fmt.Errorf("%w %q (services: %s)", cs.ErrUnknownService, name, b.serviceNames())
		}
		d.Action = cs.Action{Kind: kind, Target: s.Name}
		if s.Channel != "" {
			d.Channel = s.Channel
		}
		return s, nil
	}
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
		if s.Kind != "swarm" {
			return d, fmt.Errorf("%s is not a Swarm service (kind %s): only Swarm services can be scaled", s.Name, s.Kind)
		}
		d.Action.Replicas, d.Action.BreakGlass = cmd.Replicas, cmd.BreakGlass
	case commands.Lock:
		if _, err := serviceAction(cmd.Service, cs.ActionLock); err != nil {
			return d, err
		}
		d.Action.Reason = cmd.Reason
	case commands.Unlock:
		if _, err := serviceAction(cmd.Service, cs.ActionUnlock); err != nil {
			return d, err
		}
	case commands.DNSSet:
		d.Action = cs.Action{Kind: cs.ActionDNS, Target: cmd.Name, BreakGlass: cmd.BreakGlass,
			DNS: &cs.DNSChange{Op: cs.DNSSet, Name: cmd.Name, Type: cmd.Type, Value: cmd.Value, TTL: cmd.TTL}}
	case commands.DNSDelete:
		d.Action = cs.Action{Kind: cs.ActionDNS, Target: cmd.Name, BreakGlass: cmd.BreakGlass,
			DNS: &cs.DNSChange{Op: cs.DNSDelete, Name: cmd.Name, Type: cmd.Type, Value: cmd.Value}}
	default:
		return d, fmt.Errorf("%s is not a change", cmd.Verb())
	}
	if d.Action.Kind == cs.ActionDNS {
		if _, ok := b.zoneFor(d.Action.Target); !ok {
			return d, fmt.Errorf("%s is not in any configured zone (zones: %s)", strings.TrimSuffix(d.Action.Target, "."), b.zoneNames())
		}
	}
	return d, nil
}
