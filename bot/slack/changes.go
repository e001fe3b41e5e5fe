package slack

import (
	slackapi "github.com/slack-go/slack"

	"github.com/countersign/countersign/bot"
)

// MaxChangesText bounds the commit lines of a card's "what changed", so
// that with a long plan the whole card still stays under MaxMessageText;
// lines beyond it are counted in the "… and N more" line.
const MaxChangesText = 4000

// changesBlocks shows a deploy's "what changed": the summary (a downgrade
// flagged), the commits a line each, packed into as few sections as
// Slack's limit allows, and the count of the rest with the link to the
// whole comparison.
func changesBlocks(c *bot.ChangesCard) []slackapi.Block {
	if c == nil {
		return nil
	}
	head := "*What changed:* " + c.Summary
	if c.Downgrade {
		head = ":warning: " + head
	}
	out := []slackapi.Block{sectionBlock(head)}
	var section bot.Markup
	room, dropped := MaxChangesText, 0
	for i, line := range c.Lines {
		line = "• " + line
		n := runeLen(line) + 1
		if n > room || n > MaxSectionText {
			dropped = len(c.Lines) - i
			break
		}
		room -= n
		if section != "" && runeLen(section)+n > MaxSectionText {
			out = append(out, sectionBlock(section))
			section = ""
		}
		if section != "" {
			section += "\n"
		}
		section += line
	}
	if section != "" {
		out = append(out, sectionBlock(section))
	}
	rest := *c
	rest.More += dropped
	if more := rest.MoreText("the whole comparison"); more != "" {
		out = append(out, contextBlock(more))
	}
	return out
}
