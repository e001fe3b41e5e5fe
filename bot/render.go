package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/policies"
)

// Mentions are written in Slack's <@U123> form; other chats translate them.
func mention(a cs.Actor) string {
	if strings.HasPrefix(string(a), "github:") || a == cs.ActorBot || a == "" {
		return string(a)
	}
	return "<@" + string(a) + ">"
}

func stateLabel(r cs.Request) string {
	switch r.State {
	case cs.StatePending:
		return "waiting for approval"
	case cs.StateApproved:
		return "approved, queued"
	case cs.StateExecuting:
		return "running"
	default:
		return string(r.State)
	}
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// render is the request's own message: what will happen, who decided,
// where it stands. It is re-rendered and updated in place on every change.
func (b *Bot) render(r cs.Request) Message {
	m := Message{Request: r.ID, Fingerprint: r.Fingerprint}
	dry := ""
	if r.DryRun {
		dry = " [DRY RUN]"
	}
	m.Title = fmt.Sprintf("%s · %s · %s%s", r.ID, r.Action, stateLabel(r), dry)
	if r.Source == cs.SourcePush {
		by := "a push by " + string(cs.GitHubActor(r.AuthorLogin))
		if r.Author != "" {
			by += " (" + mention(r.Author) + ")"
		}
		m.Lines = append(m.Lines, "Requested by "+by)
	} else {
		m.Lines = append(m.Lines, "Requested by "+mention(r.Requester))
	}
	m.Lines = append(m.Lines, "Change: "+describeChange(r.Action))
	if r.Action.BreakGlass != "" {
		m.Lines = append(m.Lines, "Break-glass: "+r.Action.BreakGlass)
	}
	if r.Plan != "" {
		m.Lines = append(m.Lines, "Plan: "+r.Plan)
	}
	d := r.Decision
	pol := "no policy matched"
	if d.Policy != "" {
		pol = fmt.Sprintf("%q", d.Policy)
	}
	m.Lines = append(m.Lines, fmt.Sprintf("Policy: %s (version %s)", pol, shortHash(d.PolicyVersion)))
	if d.Window != "" {
		m.Lines = append(m.Lines, "Change window: "+d.Window)
	}
	switch r.State {
	case cs.StatePending:
		m.Lines = append(m.Lines, "Approvals: "+policies.Progress(d, r.Approvals))
		m.Lines = append(m.Lines, "Expires: "+fmtTime(r.Expires))
		m.Buttons = true
	case cs.StateRefused, cs.StateDenied, cs.StateExpired, cs.StateSuperseded, cs.StateFailed, cs.StateInterrupted, cs.StateSucceeded:
		if len(r.Approvals) > 0 {
			m.Lines = append(m.Lines, "Approved by: "+approvers(r))
		}
		if r.Outcome != "" {
			m.Lines = append(m.Lines, "Outcome: "+r.Outcome)
		}
	case cs.StateApproved, cs.StateExecuting:
		if len(r.Approvals) > 0 {
			m.Lines = append(m.Lines, "Approved by: "+approvers(r))
		}
	}
	return m
}

func approvers(r cs.Request) string {
	var s []string
	for _, a := range r.Approvals {
		s = append(s, mention(a.Actor))
	}
	return strings.Join(s, ", ")
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// refresh updates the request's message in place, and the push's parent
// message status if the request lives in a push thread.
func (b *Bot) refresh(ctx context.Context, r cs.Request) {
	if r.Message != (cs.MessageRef{}) {
		msg := b.render(r)
		msg.Channel = r.Message.Channel
		if err := b.chat.Update(ctx, r.Message, msg); err != nil {
			b.log.Warn("update request message", "request", r.ID, "err", err)
		}
	}
	b.refreshParent(ctx, r)
}

// refreshParent edits the status line of a push's parent message.
func (b *Bot) refreshParent(ctx context.Context, r cs.Request) {
	if r.Source != cs.SourcePush || r.Thread == (cs.MessageRef{}) || r.Thread == r.Message {
		return
	}
	svc, _ := b.service(r.Action.Target)
	status := fmt.Sprintf("%s %s", r.ID, stateLabel(r))
	if r.Outcome != "" && !r.State.Open() {
		status += ": " + r.Outcome
	}
	msg := pushMessage(svc, pushInfo{SHA: r.Action.Commit, Branch: r.Action.Branch, Login: r.AuthorLogin, Title: r.CommitTitle}, status)
	msg.Channel = r.Thread.Channel
	if err := b.chat.Update(ctx, r.Thread, msg); err != nil {
		b.log.Warn("update push message", "request", r.ID, "err", err)
	}
}

type pushInfo struct{ SHA, Branch, Login, Title string }

// pushMessage is the parent message of a (service, commit) thread.
func pushMessage(svc Service, p pushInfo, status string) Message {
	return Message{
		Title: fmt.Sprintf("%s ← %s@%s (%s) by %s: %s", svc.Name, svc.Repo, short(p.SHA), p.Branch, p.Login, p.Title),
		Lines: []string{"Status: " + status},
	}
}

// reply posts text in the request's thread.
func (b *Bot) reply(ctx context.Context, r cs.Request, text string) {
	if r.Thread == (cs.MessageRef{}) {
		return
	}
	if _, err := b.chat.Post(ctx, Message{Channel: r.Thread.Channel, Thread: r.Thread, Title: text}); err != nil {
		b.log.Warn("post reply", "request", r.ID, "err", err)
	}
}
