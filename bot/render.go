package bot

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/policies"
)

func mention(a cs.Actor) Markup { return Mention(a) }

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

// card is what the request's own message shows. It is rebuilt and the
// message updated in place on every change.
func (b *Bot) card(r cs.Request) *RequestCard {
	c := &RequestCard{
		ID: r.ID, Action: r.Action, State: r.State, Status: stateLabel(r), DryRun: r.DryRun,
		Change: describeChange(r.Action), Details: b.details(r), DNS: r.Action.DNS,
		Plan: r.Plan, BreakGlass: r.Action.BreakGlass, Changes: b.changesCard(r.Action.Target, r.Changes),
		Policy: r.Decision.Policy, PolicyVersion: r.Decision.PolicyVersion, Window: r.Decision.Window,
		Expires: r.Expires, Outcome: Markup(r.Outcome), Fingerprint: r.Fingerprint,
	}
	if r.Gate != nil {
		c.RequestedBy = Textf("a GitHub Actions deployment by %s", string(r.Requester))
		if u := b.chatRequester(r); u != r.Requester {
			c.RequestedBy += Textf(" (%s)", mention(u))
		}
	} else if r.Source == cs.SourcePush {
		c.RequestedBy = Textf("a push by %s", string(cs.GitHubActor(r.AuthorLogin)))
		if r.Author != "" {
			c.RequestedBy += Textf(" (%s)", mention(r.Author))
		}
	} else if r.Source == cs.SourceBot {
		c.RequestedBy = Textf("the bot on its own (%s)", strings.Join(r.Decision.Reasons, "; "))
	} else {
		c.RequestedBy = mention(r.Requester)
	}
	if r.Decision.Verdict == cs.VerdictNeedsApproval {
		for _, req := range r.Decision.Requires {
			l := ApprovalLine{Group: req.Group, Need: req.Count}
			for _, a := range r.Approvals {
				if a.Group == req.Group {
					l.Approvers = append(l.Approvers, a.Actor)
				}
			}
			c.Lines = append(c.Lines, l)
		}
		c.Progress = policies.Progress(r.Decision, r.Approvals)
	}
	c.Drift = b.cardDrift(r)
	c.Buttons = r.State == cs.StatePending
	if b.cfg.PublicURL != "" {
		c.URL = strings.TrimSuffix(b.cfg.PublicURL, "/") + "/requests/" + string(r.ID)
	}
	return c
}

// details lists the parts of a change an approver checks.
func (b *Bot) details(r cs.Request) []Field {
	if r.Gate != nil {
		return b.gateDetails(r)
	}
	a := r.Action
	var f []Field
	add := func(label string, v Markup) { f = append(f, Field{label, v}) }
	switch a.Kind {
	case cs.ActionDeploy, cs.ActionRollback, cs.ActionScale, cs.ActionLock, cs.ActionUnlock:
		add("Service", Esc(a.Target))
		if s, ok := b.service(a.Target); ok && s.Where != "" {
			add(capitalise(s.Where), Esc(s.Place))
		}
	case cs.ActionDNS:
		add("Name", Esc(strings.TrimSuffix(a.Target, ".")))
	}
	switch a.Kind {
	case cs.ActionDeploy, cs.ActionRollback:
		add("Image", Textf("`%s`", a.Image))
		if a.Commit != "" {
			add("Commit", b.commitLink(a.Target, a.Commit))
		}
		if a.Deployment != "" {
			add("Back to", Esc(a.Deployment))
		}
	case cs.ActionScale:
		add("Replicas", Textf("%d → %d", a.FromReplicas, a.Replicas))
	case cs.ActionLock:
		add("Reason", Esc(a.Reason))
	}
	return f
}

// commitLink links a commit of the service's repository on GitHub.
func (b *Bot) commitLink(service, sha string) Markup {
	s, _ := b.service(service)
	return Link(b.commitURL(s.Repo, sha), cs.ShortSHA(sha))
}

func (b *Bot) commitURL(repo, sha string) string {
	if repo == "" || sha == "" {
		return ""
	}
	base := b.cfg.GitHubURL
	if base == "" {
		base = "https://github.com/"
	}
	return strings.TrimSuffix(base, "/") + "/" + repo + "/commit/" + sha
}

// requestMessage is the request's own message.
func (b *Bot) requestMessage(r cs.Request) Message {
	c := b.card(r)
	return Message{Text: c.text(), Request: c}
}

// text is the card as lines of markup: the shell shows it, and Slack
// uses it as the notification text.
func (c *RequestCard) text() Markup {
	dry := ""
	if c.DryRun {
		dry = " [DRY RUN]"
	}
	lines := []Markup{Textf("%s · %s · %s%s", c.ID, c.Action.String(), c.Status, dry)}
	add := func(m Markup) { lines = append(lines, m) }
	add("Requested by " + c.RequestedBy)
	add("Change: " + c.Change)
	if c.BreakGlass != "" {
		add(Textf("Break-glass: %s", c.BreakGlass))
	}
	if c.Drift != "" {
		add("Drift: " + c.Drift)
	}
	lines = append(lines, c.Changes.text()...)
	if c.Plan != "" {
		add(Textf("Plan: %s", c.Plan))
	}
	pol := "no policy matched"
	if c.Policy != "" {
		pol = fmt.Sprintf("%q", c.Policy)
	}
	add(Textf("Policy: %s (version %s)", pol, cs.ShortHash(c.PolicyVersion)))
	if c.Window != "" {
		add(Textf("Change window: %s", c.Window))
	}
	if c.State == cs.StatePending {
		add(Textf("Approvals: %s", c.Progress))
		add(Textf("Expires: %s", fmtTime(c.Expires)))
	} else if by := c.approvers(); by != "" {
		add("Approved by: " + by)
	}
	if c.Outcome != "" && !c.State.Open() {
		add("Outcome: " + c.Outcome)
	}
	for _, n := range c.Notes {
		add("Note: " + n)
	}
	if c.URL != "" {
		add(Link(c.URL, "Details: "+c.URL))
	}
	return Join(lines, "\n")
}

func (c *RequestCard) approvers() Markup {
	var s []Markup
	for _, l := range c.Lines {
		for _, a := range l.Approvers {
			s = append(s, mention(a))
		}
	}
	return Join(s, ", ")
}

// reportAndShow tells everyone who follows request r where it stands:
// the code host (reportRequest: commit status, deployment, gate answer)
// and chat (showRequest).
func (b *Bot) reportAndShow(ctx context.Context, r cs.Request) {
	b.reportRequest(ctx, r)
	b.showRequest(ctx, r)
}

// showRequest updates the request's message in place, and the push's
// parent message status if the request lives in a push thread.
func (b *Bot) showRequest(ctx context.Context, r cs.Request) {
	if r.Message != (cs.MessageRef{}) {
		msg := b.requestMessage(r)
		msg.Channel = r.Message.Channel
		b.edit(ctx, r.Message, msg)
	}
	b.refreshParent(ctx, r)
}

// refreshParent edits the status line of a push's parent message.
func (b *Bot) refreshParent(ctx context.Context, r cs.Request) {
	if r.Source != cs.SourcePush || r.Thread == (cs.MessageRef{}) || r.Thread == r.Message {
		return
	}
	svc, _ := b.service(r.Action.Target)
	status := Textf("%s %s", r.ID, stateLabel(r))
	if r.Outcome != "" && !r.State.Open() {
		status += ": " + Markup(r.Outcome)
	}
	msg := b.pushMessage(svc, pushInfo{SHA: r.Action.Commit, Branch: r.Action.Branch, Login: r.AuthorLogin, Title: r.CommitTitle}, status)
	msg.Channel = r.Thread.Channel
	b.edit(ctx, r.Thread, msg)
}

type pushInfo struct{ SHA, Branch, Login, Title string }

// pushMessage is the parent message of a (service, commit) thread.
func (b *Bot) pushMessage(svc Service, p pushInfo, status Markup) Message {
	c := &PushCard{Service: svc.Name, Repo: svc.Repo, SHA: p.SHA, Branch: p.Branch, Login: p.Login, Title: p.Title,
		CommitURL: b.commitURL(svc.Repo, p.SHA), Status: status}
	return Message{Push: c, Text: c.text()}
}

func (c *PushCard) text() Markup {
	return Textf("%s ← %s@%s (%s) by %s: %s\nStatus: %s", c.Service, c.Repo, Link(c.CommitURL, cs.ShortSHA(c.SHA)), c.Branch, c.Login, c.Title, c.Status)
}

// reply posts text in the request's thread.
func (b *Bot) reply(ctx context.Context, r cs.Request, text Markup) {
	if r.Thread == (cs.MessageRef{}) {
		return
	}
	b.post(ctx, Message{Channel: r.Thread.Channel, Thread: r.Thread, Text: text})
}

// cc mentions whoever asked for r at the end of text, so that they hear
// of its outcome: the requester, or for a push the commit's author when
// they have a chat identity.
func cc(text Markup, r cs.Request) Markup {
	who := r.Requester
	if r.Source == cs.SourcePush {
		who = r.Author
	}
	if who == "" || who == cs.ActorBot {
		return text
	}
	return text + " " + mention(who)
}

// capitalise returns s with its first letter in upper case ("engine" →
// "Engine"), whatever its encoding's width.
func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
