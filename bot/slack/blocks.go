package slack

import (
	"fmt"
	"slices"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Slack's limits on a message's blocks, in characters (runes, as slack-go
// validates them). Slack refuses a whole message that breaks one, so
// Render keeps every message inside all of them.
const (
	MaxBlocks          = 50
	MaxSectionText     = 3000 // also every mrkdwn text of a context block
	MaxFieldText       = 2000
	MaxFields          = 10 // per section
	MaxHeaderText      = 150
	MaxButtonText      = 75
	MaxButtonValue     = 2000
	MaxButtonURL       = 3000
	MaxContextElements = 10
	MaxBlockID         = 255
	// MaxMessageText bounds every text of a message's blocks together:
	// Slack refuses a message whose blocks hold more than about 12,000
	// characters in all (msg_blocks_too_long), even with each block
	// inside its own limit.
	MaxMessageText = 11000
	// MaxText bounds the notification text. Slack takes 40,000, but the
	// text only feeds notifications and clients without blocks, and
	// anything longer is read in the blocks or the thread anyway.
	MaxText = 3000
)

// IDs of the request message's interactive parts, which the interaction
// handlers dispatch on. The Approve and Deny buttons carry
// bot.ButtonApprove and bot.ButtonDeny as their action IDs.
const (
	// RequestBlockPrefix starts the block ID of a request's buttons; the
	// request ID follows.
	RequestBlockPrefix = "request:"
	// ActionDetails is the link button to the request's web page. Slack
	// reports its clicks too; they only need an acknowledgement.
	ActionDetails = "details"
)

// Render returns the Block Kit of m and its notification text (m.Text, at
// most MaxText characters). A request message shows its card, a push
// thread's parent its push card, anything else m.Text in sections. The
// Markup in m is used as it is; every raw string of a card (plan, policy,
// DNS values, commit title, …) is escaped. Whatever the input, the result
// stays inside Slack's limits: what is too long is cut where it cannot
// break markup, with a note that says how much is missing. An empty text
// message has no blocks.
func Render(m bot.Message) (text string, blocks []slackapi.Block) {
	switch {
	case m.Request != nil:
		blocks = requestBlocks(m.Request)
		if m.Text == "" {
			m.Text = bot.Textf("%s · %s · %s", m.Request.ID, m.Request.Action.String(), m.Request.Status)
		}
	case m.Push != nil:
		line := pushLine(m.Push)
		blocks = fitBlocks([]slackapi.Block{sectionBlock(line), contextBlock("Status: " + m.Push.Status)}, nil, "")
		if m.Text == "" {
			m.Text = line
		}
	default:
		blocks = textBlocks(m.Text, MaxMessageText)
	}
	return string(cutMarkup(m.Text, MaxText)), blocks
}

// requestBlocks lays out a request's card: what it is and where it
// stands, what exactly changes, who asked under which policy, the
// approvals, the outcome, notes, and last the buttons.
func requestBlocks(c *bot.RequestCard) []slackapi.Block {
	dry := ""
	if c.DryRun {
		dry = " · DRY RUN"
	}
	head := plainText(fmt.Sprintf("%s %s · %s%s", stateEmoji(c.State), c.ID, c.Action.String(), dry), MaxHeaderText)
	body := []slackapi.Block{slackapi.NewHeaderBlock(head)}
	add := func(b ...slackapi.Block) { body = append(body, b...) }

	st := c.Status
	if st == "" {
		st = string(c.State)
	}
	status := bot.Textf("Status: *%s*", st)
	if c.DryRun {
		status += " · :test_tube: *DRY RUN*: the bot only says what it would do"
	}
	if c.Change != "" {
		status += "\n" + c.Change
	}
	add(sectionBlock(status))
	add(fieldSections(c.Details)...)
	if c.DNS != nil {
		add(dnsSections(c.DNS)...)
	}
	if c.Drift != "" {
		add(sectionBlock(":warning: *Drift:* " + c.Drift))
	}
	add(changesBlocks(c.Changes)...)
	if c.Plan != "" {
		add(sectionBlock(codeBlock("*Plan*", c.Plan)))
	}

	about := []bot.Markup{"Requested by " + c.RequestedBy}
	if c.Policy != "" {
		about = append(about, bot.Textf("Policy *%s* · version `%s`", c.Policy, c.PolicyVersion[:min(len(c.PolicyVersion), 12)]))
	} else {
		about = append(about, "No policy matched")
	}
	if c.Window != "" {
		about = append(about, bot.Textf("Change window: %s", c.Window))
	}
	if c.BreakGlass != "" {
		about = append(about, bot.Textf(":rotating_light: Break-glass: %s", c.BreakGlass))
	}
	if !c.Buttons && c.URL != "" {
		about = append(about, bot.Link(c.URL, "Details"))
	}
	add(contextBlock(about...))

	if a := approvalsText(c); a != "" {
		add(sectionBlock(a))
	}
	if !c.Buttons && c.Outcome != "" {
		add(sectionBlock("*Outcome:* " + c.Outcome))
	}
	if len(c.Notes) > 0 {
		notes := make([]bot.Markup, len(c.Notes))
		for i, n := range c.Notes {
			notes[i] = ":warning: " + n
		}
		add(contextBlock(notes...))
	}
	var tail []slackapi.Block
	if c.Buttons {
		tail = requestButtons(c)
	}
	return fitBlocks(body, tail, c.URL)
}

// stateEmoji shows where a request stands at a glance.
func stateEmoji(s cs.State) string {
	if e, ok := map[cs.State]string{
		cs.StatePending: ":hourglass_flowing_sand:", cs.StateApproved: ":ballot_box_with_check:",
		cs.StateExecuting: ":gear:", cs.StateSucceeded: ":white_check_mark:", cs.StateFailed: ":x:",
		cs.StateRefused: ":no_entry:", cs.StateDenied: ":no_entry:", cs.StateExpired: ":alarm_clock:",
		cs.StateSuperseded: ":fast_forward:", cs.StateInterrupted: ":warning:",
	}[s]; ok {
		return e
	}
	return ":grey_question:"
}

// fieldSections shows the details as label/value fields, as many sections
// as MaxFields takes.
func fieldSections(details []bot.Field) []slackapi.Block {
	var out []slackapi.Block
	for len(details) > 0 {
		n := min(len(details), MaxFields)
		fields := make([]*slackapi.TextBlockObject, n)
		for i, f := range details[:n] {
			v := f.Value
			if v == "" {
				v = "—" // Slack refuses an empty text
			}
			fields[i] = mrkdwnText(cutMarkup(bot.Textf("*%s*\n", f.Label)+v, MaxFieldText))
		}
		out = append(out, slackapi.NewSectionBlock(nil, fields, nil))
		details = details[n:]
	}
	return out
}

// dnsSections shows the record set before and after, each record marked
// as it would be in a diff, so that the approver sees what changes.
func dnsSections(d *cs.DNSChange) []slackapi.Block {
	title := bot.Textf("*DNS, current → proposed:* `%s %s`\n*Current*", strings.TrimSuffix(d.Name, "."), d.Type)
	return []slackapi.Block{
		sectionBlock(codeBlock(title, recordLines(d.Current, d.Proposed, "- "))),
		sectionBlock(codeBlock("*→ Proposed*", recordLines(d.Proposed, d.Current, "+ "))),
	}
}

// recordLines lists rs one per line, marking those not in other.
func recordLines(rs, other []cs.Record, mark string) string {
	if len(rs) == 0 {
		return "(none)"
	}
	lines := make([]string, len(rs))
	for i, r := range rs {
		m := "  "
		if !slices.Contains(other, r) {
			m = mark
		}
		lines[i] = fmt.Sprintf("%s%s %d %s %s", m, r.Name, r.TTL, r.Type, r.Value)
	}
	return strings.Join(lines, "\n")
}

// codeBlock is title followed by plain text in a code block, cut to fit
// a section. The cut note goes after the closing fence, where it is read.
func codeBlock(title bot.Markup, plain string) bot.Markup {
	// A fence inside the text would end the block early.
	content := bot.Markup(strings.ReplaceAll(string(bot.Esc(plain)), "```", "`\u200b``"))
	open, end := title+"\n```\n", bot.Markup("\n```")
	room := MaxSectionText - runeLen(open) - runeLen(end)
	if n := runeLen(content); n > room {
		kept := cutAt(content, room-runeLen(cutNote(n))-1)
		return open + kept + end + "\n" + cutNote(shown(content[len(kept):]))
	}
	return open + content + end
}

// approvalsText is the approval progress, one line per requirement, and
// when a pending request expires.
func approvalsText(c *bot.RequestCard) bot.Markup {
	var lines []bot.Markup
	got, need := 0, 0
	for _, l := range c.Lines {
		// As in the policy, approvals beyond a line's need count for nothing.
		got, need = got+min(len(l.Approvers), l.Need), need+l.Need
		who := make([]bot.Markup, len(l.Approvers))
		for i, a := range l.Approvers {
			who[i] = bot.Mention(a)
		}
		names := bot.Join(who, ", ")
		if names == "" {
			names = "nobody yet"
		}
		lines = append(lines, bot.Textf("• *%s* %d/%d: %s", l.Group, len(l.Approvers), l.Need, names))
	}
	if len(lines) > 0 {
		lines = append([]bot.Markup{bot.Textf("*Approvals:* %d of %d", got, need)}, lines...)
	}
	if c.State == cs.StatePending && !c.Expires.IsZero() {
		lines = append(lines, "Expires "+slackDate(c.Expires))
	}
	return bot.Join(lines, "\n")
}

// slackDate shows t in the reader's time zone; clients that cannot get
// the UTC fallback.
func slackDate(t time.Time) bot.Markup {
	return bot.Markup(fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC")))
}

// requestButtons is the actions block of a pending request.
func requestButtons(c *bot.RequestCard) []slackapi.Block {
	value := bot.ButtonValue(c.ID, c.Fingerprint)
	blockID := RequestBlockPrefix + string(c.ID)
	if len(value) > MaxButtonValue || len(blockID) > MaxBlockID {
		// Cutting the value would bind the click to nothing.
		return []slackapi.Block{contextBlock(bot.Textf("Buttons unavailable: approve or deny %s with the slash command.", c.ID))}
	}
	approve := slackapi.NewButtonBlockElement(bot.ButtonApprove, value, plainText("Approve", MaxButtonText)).WithStyle(slackapi.StylePrimary)
	deny := slackapi.NewButtonBlockElement(bot.ButtonDeny, value, plainText("Deny", MaxButtonText)).WithStyle(slackapi.StyleDanger)
	elems := []slackapi.BlockElement{approve, deny}
	// Only a URL that bot.Link would link: http(s), no markup characters.
	if c.URL != "" && len(c.URL) <= MaxButtonURL && bot.Link(c.URL, "x") != "x" {
		elems = append(elems, slackapi.NewButtonBlockElement(ActionDetails, "", plainText("Details", MaxButtonText)).WithURL(c.URL))
	}
	return []slackapi.Block{slackapi.NewActionBlock(blockID, elems...)}
}

// pushLine is the push: service, repository, commit, branch, author, title.
func pushLine(p *bot.PushCard) bot.Markup {
	line := bot.Textf("*%s* ←", p.Service)
	if p.SHA != "" {
		line += bot.Textf(" %s@%s", p.Repo, bot.Link(p.CommitURL, p.SHA[:min(len(p.SHA), 7)]))
	}
	if p.Branch != "" {
		line += bot.Textf(" (%s)", p.Branch)
	}
	if p.Login != "" {
		line += bot.Textf(" by %s", p.Login)
	}
	if p.Title != "" {
		line += bot.Textf(": %s", p.Title)
	}
	return line
}

func mrkdwnText(s bot.Markup) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, string(s), false, false)
}

// plainText is plain text, which Slack shows as it is: no mentions, no links.
func plainText(s string, max int) *slackapi.TextBlockObject {
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, true, false)
}

// sectionBlock is a mrkdwn section of s, cut to fit.
func sectionBlock(s bot.Markup) slackapi.Block {
	return slackapi.NewSectionBlock(mrkdwnText(cutMarkup(s, MaxSectionText)), nil, nil)
}

// contextBlock is a context block of the non-empty texts, each cut to fit;
// beyond MaxContextElements the last element says how many are left out.
func contextBlock(texts ...bot.Markup) slackapi.Block {
	var elems []slackapi.MixedElement
	for i, t := range texts {
		if t == "" {
			continue
		}
		if len(elems) == MaxContextElements-1 && len(texts)-i > 1 {
			elems = append(elems, mrkdwnText(bot.Textf("… and %d more", len(texts)-i)))
			break
		}
		elems = append(elems, mrkdwnText(cutMarkup(t, MaxSectionText)))
	}
	if len(elems) == 0 {
		elems = append(elems, mrkdwnText("—"))
	}
	return slackapi.NewContextBlock("", elems...)
}
