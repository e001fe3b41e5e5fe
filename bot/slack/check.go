package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	slackapi "github.com/slack-go/slack"

	cs "github.com/countersign/countersign"
)

// Scopes the bot token needs (channels:read to check it is in its
// channels; groups:read too when one is private), and the app token for
// Socket Mode.
var (
	BotScopes = []string{"chat:write", "commands", "usergroups:read", "channels:read"}
	AppScopes = []string{"connections:write"}
)

// privateScope is needed to check private channels (G…).
const privateScope = "groups:read"

// Identity is who the bot is in the workspace. URL is the workspace's
// address as auth.test gives it (https://team.slack.com/). Channels are
// the IDs of the channel names Check was given ("#deploys" → "C0…"):
// Slack's methods take IDs.
type Identity struct {
	UserID, BotID, TeamID, Team, URL string
	Channels                         map[string]string
}

// ChannelID returns the ID of ch: the ID Check found for a channel name,
// or ch itself (an ID, or a name Check was not given).
func (id Identity) ChannelID(ch string) string {
	if c, ok := id.Channels[ch]; ok {
		return c
	}
	return ch
}

// Permalink returns the address of a delivered message in the workspace,
// as Slack's "Copy link" gives it: URL/archives/CHANNEL/pTS, the ts
// without its dot. It returns "" when the workspace URL is unknown or the
// message has not been delivered (no channel or ts).
func (id Identity) Permalink(ref cs.MessageRef) string {
	if id.URL == "" || ref.Channel == "" || ref.TS == "" {
		return ""
	}
	base := id.URL
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base + "archives/" + url.PathEscape(ref.Channel) + "/p" + url.PathEscape(strings.ReplaceAll(ref.TS, ".", ""))
}

// Check verifies at start-up that the tokens work and carry the scopes the
// bot needs, and that the bot is a member of every channel it posts in.
// Channels are IDs (C…, G…) or names ("#deploys"), which it looks up
// (conversations.list) and returns in Identity.Channels. It returns one
// error listing every problem (an unknown channel name too), each naming
// its fix, so that a misconfigured bot fails loudly instead of
// reconnecting forever.
func (c *Client) Check(ctx context.Context, channels []string, socketMode bool) (Identity, error) {
	var id Identity
	res, err := c.api.Load().AuthTestContext(ctx)
	c.record("auth.test", err)
	if err != nil && ctx.Err() != nil {
		return id, fmt.Errorf("slack: no answer from Slack in time (auth.test: %w): check slack.api_url and the way out to Slack", ctx.Err())
	}
	if err != nil {
		return id, fmt.Errorf("slack: the bot token does not work (auth.test: %s): check slack.bot_token is the app's Bot User OAuth Token (xoxb-…) and the app is installed in the workspace", errText(err))
	}
	id = Identity{UserID: res.UserID, BotID: res.BotID, TeamID: res.TeamID, Team: res.Team, URL: res.URL}
	var problems []string
	have := res.Header.Get("X-OAuth-Scopes")
	if have != "" {
		want := BotScopes
		for _, ch := range channels {
			if strings.HasPrefix(ch, "G") {
				want = append(append([]string{}, BotScopes...), privateScope)
				break
			}
		}
		if missing := missingScopes(want, have); len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("the bot token lacks the scopes %s: add them under OAuth & Permissions (or recreate the app from `countersign slack manifest`) and reinstall the app", strings.Join(missing, ", ")))
		}
	}
	if socketMode {
		if _, _, err := c.api.Load().StartSocketModeContext(ctx); err != nil {
			c.record("apps.connections.open", err)
			problems = append(problems, fmt.Sprintf("Socket Mode cannot connect (apps.connections.open: %s): slack.app_token must be an App-Level Token (xapp-…) with the connections:write scope, and Socket Mode must be enabled for the app", errText(err)))
		} else {
			c.record("apps.connections.open", nil)
		}
	}
	var names []string
	for _, ch := range channels {
		if isChannelName(ch) && !slices.Contains(names, ch) {
			names = append(names, ch)
		}
	}
	if len(names) > 0 {
		var more []string
		id.Channels, more = c.checkNames(ctx, names, res, have == "" || len(missingScopes([]string{privateScope}, have)) == 0)
		problems = append(problems, more...)
	}
	seen := map[string]bool{}
	for _, ch := range channels {
		if seen[ch] || !strings.HasPrefix(ch, "C") && !strings.HasPrefix(ch, "G") {
			continue
		}
		seen[ch] = true
		info, err := c.api.Load().GetConversationInfoContext(ctx, &slackapi.GetConversationInfoInput{ChannelID: ch})
		c.record("conversations.info", err)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("channel %s cannot be read (conversations.info: %s): check the channel ID in the config and the channels:read and groups:read scopes", ch, errText(err)))
		case !info.IsMember:
			problems = append(problems, fmt.Sprintf("the bot is not in channel %s (#%s): invite it with `/invite @%s` in that channel", ch, info.Name, botName(res)))
		}
	}
	if len(problems) > 0 {
		return id, errors.New("slack: " + strings.Join(problems, "; "))
	}
	return id, nil
}

// checkNames looks the channel names up and returns their IDs and the
// problems: a name not found, the bot not in the channel.
func (c *Client) checkNames(ctx context.Context, names []string, res *slackapi.AuthTestResponse, private bool) (map[string]string, []string) {
	found, err := c.findChannels(ctx, names, private)
	if err != nil {
		return nil, []string{fmt.Sprintf("channel names cannot be looked up (conversations.list: %s): check the channels:read scope, or give channel IDs (C…) in the config", errText(err))}
	}
	ids := map[string]string{}
	var problems []string
	for _, n := range names {
		ch, ok := found[n]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("channel %s not found: check its name in the config, or give its ID (C…); a private channel is found only with the %s scope and once the bot is in it", n, privateScope))
		case !ch.IsMember:
			problems = append(problems, fmt.Sprintf("the bot is not in channel %s (%s): invite it with `/invite @%s` in that channel", n, ch.ID, botName(res)))
		default:
			ids[n] = ch.ID
		}
	}
	return ids, problems
}

func botName(res *slackapi.AuthTestResponse) string {
	if res.User != "" {
		return res.User
	}
	return "countersign"
}

// errText is Slack's error code, with the scope it wanted if it said so.
func errText(err error) string {
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		if se.Err == "missing_scope" && se.Needed != "" {
			return "missing_scope: needs " + se.Needed
		}
		return se.Err
	}
	return err.Error()
}

func missingScopes(want []string, have string) []string {
	got := map[string]bool{}
	for _, s := range strings.Split(have, ",") {
		got[strings.TrimSpace(s)] = true
	}
	var missing []string
	for _, s := range want {
		if !got[s] {
			missing = append(missing, s)
		}
	}
	sort.Strings(missing)
	return missing
}
