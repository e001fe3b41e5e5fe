package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
)

// DefaultCompareTimeout bounds how long a new deploy request waits for
// the comparison of what runs and what would run: a slow or unreachable
// GitHub makes the card say "changes unknown", never holds the request up.
const DefaultCompareTimeout = 5 * time.Second

// What is kept of a compared commit's SHA (SHA-256 repositories have 64
// hex digits) and author: GitHub logins have at most 39 characters, but
// a name is whatever the committer typed.
const (
	maxSHA    = 64
	maxAuthor = 100
)

// ChangesCard is a deploy card's "what changed": a summary line, the
// commits, one line each (linked short SHA, title, author), how many more
// there are, and the whole comparison.
type ChangesCard struct {
	Summary   Markup
	Downgrade bool
	Lines     []Markup
	More      int
	URL       string
}

// changes compares the commit a deploy (or rollback) would run with the
// one that runs on its target. It returns nil when there is nothing to
// compare (another action, no commit, a service without a repository, no
// Comparer), and otherwise always an answer: a failed or slow comparison
// says why the changes are unknown.
func (b *Bot) changes(ctx context.Context, a cs.Action) *cs.Changes {
	if b.cfg.Comparer == nil || a.Commit == "" || (a.Kind != cs.ActionDeploy && a.Kind != cs.ActionRollback) {
		return nil
	}
	s, ok := b.service(a.Target)
	if !ok || s.Repo == "" {
		return nil
	}
	ch := &cs.Changes{To: strings.ToLower(a.Commit)}
	from, unknown, err := b.runningCommit(ctx, a.Target)
	if err != nil {
		b.log.Error("read deployment history for the comparison", "service", a.Target, "err", err)
		ch.Unknown = "the deployment history could not be read"
		return ch
	}
	if unknown != "" {
		ch.Unknown = unknown
		return ch
	}
	ch.From = from
	timeout := b.cfg.CompareTimeout
	if timeout <= 0 {
		timeout = DefaultCompareTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := b.cfg.Comparer.Compare(ctx, s.Repo, ch.From, ch.To, cs.MaxChanges)
	if err == nil && c.Status == cs.CompareBehind {
		// What a downgrade takes away is what the running commit has
		// that this one lacks: the comparison the other way round. If
		// it fails, the downgrade is still said, without the list.
		back, err := b.cfg.Comparer.Compare(ctx, s.Repo, ch.To, ch.From, cs.MaxChanges)
		if err != nil {
			b.log.Warn("compare commits of a downgrade", "service", a.Target, "repo", s.Repo, "base", ch.To, "head", ch.From, "err", err)
		}
		c.Commits = back.Commits
	}
	if err != nil {
		b.log.Warn("compare commits", "service", a.Target, "repo", s.Repo, "base", ch.From, "head", ch.To, "err", err)
		ch.Unknown = compareFailure(err, ctx.Err(), timeout, ch.From, ch.To)
		return ch
	}
	ch.Status, ch.Ahead, ch.Behind, ch.URL = c.Status, max(c.Ahead, 0), max(c.Behind, 0), c.URL
	for _, k := range c.Commits[:min(len(c.Commits), cs.MaxChanges)] {
		k.SHA, k.Title = cs.Clip(strings.ToLower(k.SHA), maxSHA), cs.Clip(titleOf(k.Title), MaxCommitTitle)
		k.Login, k.Name = cs.Clip(k.Login, maxAuthor), cs.Clip(k.Name, maxAuthor)
		k.Author = b.rules().Identities[strings.ToLower(k.Login)]
		ch.Commits = append(ch.Commits, k)
	}
	return ch
}

// runningCommit returns the commit that runs on target: that of its last
// successful deployment (under dry-run, the last dry-run one), or why
// there is none to compare with.
func (b *Bot) runningCommit(ctx context.Context, target string) (sha, unknown string, err error) {
	var last *cs.Deployment
	err = b.store.View(ctx, func(tx ReadTx) error {
		last = nil
		ds, err := tx.Deployments(target, 0)
		for i, d := range ds {
			if d.Succeeded && d.DryRun == b.cfg.DryRun {
				last = &ds[i]
				break
			}
		}
		return err
	})
	switch {
	case err != nil:
		return "", "", err
	case last == nil && b.cfg.DryRun:
		return "", fmt.Sprintf("no successful dry-run deployment of %s is recorded to compare with", target), nil
	case last == nil:
		return "", fmt.Sprintf("no successful deployment of %s is recorded to compare with", target), nil
	case last.Commit == "":
		return "", fmt.Sprintf("%s, which runs now, has no commit recorded", last.ID), nil
	}
	return strings.ToLower(last.Commit), "", nil
}

// compareFailure says for people why a comparison failed; the log has
// the error itself.
func compareFailure(err, deadline error, timeout time.Duration, from, to string) string {
	switch {
	case errors.Is(deadline, context.DeadlineExceeded):
		return fmt.Sprintf("GitHub did not answer within %s", timeout)
	case errors.Is(err, cs.ErrNotFound):
		return fmt.Sprintf("GitHub does not know %s or %s (or the repository)", cs.ShortSHA(from), cs.ShortSHA(to))
	case errors.Is(err, ErrChatRejected):
		return "GitHub refused the comparison (the bot's token may lack Contents: read)"
	}
	return "GitHub could not be asked (see the bot's log)"
}

// titleOf is a commit message's title: its first line, as git shows it
// (leading blank lines skipped, a CRLF ending dropped).
func titleOf(message string) string {
	s, _, _ := strings.Cut(strings.TrimLeft(message, "\r\n"), "\n")
	return strings.TrimSuffix(s, "\r")
}

// changesCard is what a card shows of ch, nil when there is nothing.
func (b *Bot) changesCard(target string, ch *cs.Changes) *ChangesCard {
	if ch == nil {
		return nil
	}
	s, _ := b.service(target)
	c := &ChangesCard{Summary: Esc(ch.Summary()), Downgrade: ch.Downgrade(), URL: ch.URL}
	for _, k := range ch.Commits {
		line := Link(b.commitURL(s.Repo, k.SHA), cs.ShortSHA(k.SHA)) + " " + Esc(k.Title)
		switch {
		case k.Author != "":
			line += " — " + mention(k.Author)
		case k.Login != "":
			line += Textf(" — github:%s", k.Login)
		case k.Name != "":
			line += Textf(" — %s", k.Name)
		}
		c.Lines = append(c.Lines, line)
	}
	c.More = ch.Unlisted()
	return c
}

// text is the list as lines of markup, for the card's text.
func (c *ChangesCard) text() []Markup {
	if c == nil {
		return nil
	}
	head := "Changes: " + c.Summary
	if c.Downgrade {
		head = "⚠️ " + head
	}
	lines := []Markup{head}
	for _, l := range c.Lines {
		lines = append(lines, "  • "+l)
	}
	if more := c.MoreText(c.URL); more != "" {
		lines = append(lines, "  "+more)
	}
	return lines
}

// MoreText is the line after the list: how many more commits there are
// and the link to the whole comparison, labelled label ("" when there is
// neither).
func (c *ChangesCard) MoreText(label string) Markup {
	all := Link(c.URL, label)
	switch {
	case c.URL == "" && c.More > 0:
		return Textf("… and %d more", c.More)
	case c.URL == "":
		return ""
	case c.More > 0:
		return Textf("… and %d more: ", c.More) + all
	}
	return all
}

// sayDowngrade says in r's thread, in words, that r would deploy an
// older commit than the one running.
func (b *Bot) sayDowngrade(ctx context.Context, r cs.Request) {
	if r.Changes.Downgrade() && r.State.Open() {
		b.reply(ctx, r, Textf("⚠️ %s: %s", r.ID, r.Changes.Summary()))
	}
}
