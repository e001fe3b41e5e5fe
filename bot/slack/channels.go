package slack

import (
	"context"
	"strings"

	slackapi "github.com/slack-go/slack"
)

// listPage is how many channels one conversations.list page asks for
// (Slack advises at most 200).
const listPage = 200

// isChannelName reports whether ch is a channel name ("#deploys") rather
// than an ID.
func isChannelName(ch string) bool { return strings.HasPrefix(ch, "#") }

// findChannels looks the channel names ("#deploys") up with
// conversations.list, page by page until every one is found, and returns
// the channels found by the name as given. Private channels are looked
// at only with private (the groups:read scope), and Slack lists only
// those the bot is in. Names compare without case, as Slack keeps them
// lower-case.
func (c *Client) findChannels(ctx context.Context, names []string, private bool) (map[string]slackapi.Channel, error) {
	want := map[string][]string{} // lower-case name → names as given
	for _, n := range names {
		key := strings.ToLower(strings.TrimPrefix(n, "#"))
		want[key] = append(want[key], n)
	}
	found := map[string]slackapi.Channel{}
	p := &slackapi.GetConversationsParameters{Types: []string{"public_channel"}, ExcludeArchived: true, Limit: listPage}
	if private {
		p.Types = append(p.Types, "private_channel")
	}
	for len(want) > 0 {
		var page []slackapi.Channel
		var next string
		err := c.call(ctx, "conversations.list", func(ctx context.Context) (err error) {
			page, next, err = c.api.Load().GetConversationsContext(ctx, p)
			return err
		})
		if err != nil {
			return found, err
		}
		for _, ch := range page {
			for _, n := range want[strings.ToLower(ch.Name)] {
				found[n] = ch
			}
			delete(want, strings.ToLower(ch.Name))
		}
		if next == "" {
			break
		}
		p.Cursor = next
	}
	return found, nil
}
