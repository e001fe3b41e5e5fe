// Package slack is the Slack adapter: it posts the bot's messages with the
// Web API (Client, a bot.Chat and bot.Directory), takes slash commands and
// clicks over Socket Mode or signed HTTP requests (Adapter), and draws the
// bot's messages in Block Kit (Render). It imports slack-go as slackapi.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Options tunes a Client. The zero value is what production wants.
type Options struct {
	// APIURL is the Web API base, ending in "/" (default Slack's).
	APIURL string
	// HTTPClient carries every call (default http.DefaultClient).
	HTTPClient *http.Client
	// AppToken (xapp-…) is needed for Socket Mode only.
	AppToken string
	// MaxRateLimitWaits bounds how often one call waits out a 429 before
	// giving up (default 3); RateLimitWaitCap bounds each wait (default 60 s).
	MaxRateLimitWaits int
	RateLimitWaitCap  time.Duration
	// ChannelBurst and ChannelInterval pace posts per channel: Slack allows
	// about one message per second per channel, with short bursts
	// (defaults 5 and 1 s).
	ChannelBurst    int
	ChannelInterval time.Duration
	// UsergroupTTL is how long user group members are cached (default 2 min).
	UsergroupTTL time.Duration
	Logger       *slog.Logger
	Metrics      *Metrics
}

// Client talks to the Slack Web API as the bot user. It is safe for
// concurrent use.
type Client struct {
	api  *slackapi.Client
	http *http.Client
	opt  Options
	log  *slog.Logger

	mu       sync.Mutex
	paces    map[string]*pacer
	groups   map[string]cachedGroup
	lastOK   bool
	lastErr  string
	lastCall time.Time
}

type cachedGroup struct {
	members []cs.Actor
	at      time.Time
}

var (
	_ bot.Chat      = (*Client)(nil)
	_ bot.Directory = (*Client)(nil)
)

// NewClient returns a client for the bot token (xoxb-…).
func NewClient(botToken string, o Options) *Client {
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.MaxRateLimitWaits <= 0 {
		o.MaxRateLimitWaits = 3
	}
	if o.RateLimitWaitCap <= 0 {
		o.RateLimitWaitCap = time.Minute
	}
	if o.ChannelBurst <= 0 {
		o.ChannelBurst = 5
	}
	if o.ChannelInterval <= 0 {
		o.ChannelInterval = time.Second
	}
	if o.UsergroupTTL <= 0 {
		o.UsergroupTTL = 2 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	opts := []slackapi.Option{slackapi.OptionHTTPClient(o.HTTPClient)}
	if o.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(o.APIURL))
	}
	if o.AppToken != "" {
		opts = append(opts, slackapi.OptionAppLevelToken(o.AppToken))
	}
	return &Client{
		api: slackapi.New(botToken, opts...), http: o.HTTPClient, opt: o, log: o.Logger,
		paces: map[string]*pacer{}, groups: map[string]cachedGroup{},
	}
}

// API is the underlying slack-go client (Socket Mode is built on it).
func (c *Client) API() *slackapi.Client { return c.api }

// call runs one Web API call, waiting out rate limits (at most
// MaxRateLimitWaits times), counts it, and classifies its error: a Slack
// refusal that retrying cannot fix wraps bot.ErrChatRejected.
func (c *Client) call(ctx context.Context, method string, fn func() error) error {
	for waits := 0; ; waits++ {
		err := fn()
		var rl *slackapi.RateLimitedError
		if errors.As(err, &rl) && waits < c.opt.MaxRateLimitWaits {
			c.opt.Metrics.call(method, "rate_limited")
			wait := min(max(rl.RetryAfter, time.Second), c.opt.RateLimitWaitCap)
			c.log.Info("slack rate limit; waiting", "method", method, "retry_after", wait)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			continue
		}
		c.record(method, err)
		return classify(method, err)
	}
}

// record counts the call and keeps the connection health.
func (c *Client) record(method string, err error) {
	result := "ok"
	var se slackapi.SlackErrorResponse
	switch {
	case err == nil:
	case errors.As(err, &se):
		result = "error_" + se.Err
	default:
		result = "failed"
	}
	c.opt.Metrics.call(method, result)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastCall = time.Now()
	// A Slack error answer proves Slack is reachable; only failed calls
	// (connection refused, 5xx, timeouts) mark it down.
	c.lastOK = result != "failed"
	if err != nil {
		c.lastErr = err.Error()
	}
}

// Healthy reports whether the last Web API call reached Slack, and the
// last error seen.
func (c *Client) Healthy() (ok bool, lastErr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastOK, c.lastErr
}

// rejected lists Slack errors that the same call will always get again.
var rejected = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "msg_too_long": true,
	"no_text": true, "invalid_blocks": true, "invalid_blocks_format": true, "message_not_found": true,
	"cant_update_message": true, "edit_window_closed": true, "user_not_in_channel": true,
	"restricted_action": true, "invalid_arguments": true, "too_many_attachments": true,
	"user_not_found": true, "messages_tab_disabled": true,
}

func classify(method string, err error) error {
	if err == nil {
		return nil
	}
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) && rejected[se.Err] {
		return fmt.Errorf("slack %s: %w: %s", method, bot.ErrChatRejected, se.Err)
	}
	return fmt.Errorf("slack %s: %w", method, err)
}

// Post posts msg (drawn in Block Kit) and returns its channel and ts.
func (c *Client) Post(ctx context.Context, msg bot.Message) (cs.MessageRef, error) {
	if err := c.pace(ctx, msg.Channel); err != nil {
		return cs.MessageRef{}, err
	}
	text, blocks := Render(msg)
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(blocks...), slackapi.MsgOptionDisableLinkUnfurl()}
	if msg.Thread.TS != "" {
		opts = append(opts, slackapi.MsgOptionTS(msg.Thread.TS))
	}
	var ch, ts string
	err := c.call(ctx, "chat.postMessage", func() (err error) {
		ch, ts, err = c.api.PostMessageContext(ctx, msg.Channel, opts...)
		return err
	})
	if err != nil {
		return cs.MessageRef{}, err
	}
	return cs.MessageRef{Channel: ch, TS: ts}, nil
}

// Update replaces the message at ref with msg (chat.update). A closed
// request's card has no actions block, so its buttons disappear.
func (c *Client) Update(ctx context.Context, ref cs.MessageRef, msg bot.Message) error {
	text, blocks := Render(msg)
	return c.call(ctx, "chat.update", func() error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, ref.Channel, ref.TS,
			slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(blocks...))
		return err
	})
}

// Ephemeral shows msg to one user: chat.postEphemeral, or the command's
// response_url where the bot cannot post (DMs, channels it is not in).
func (c *Client) Ephemeral(ctx context.Context, to bot.Caller, msg bot.Message) error {
	text, blocks := Render(msg)
	var err error
	if to.Channel != "" && !strings.HasPrefix(to.Channel, "D") {
		err = c.call(ctx, "chat.postEphemeral", func() error {
			_, err := c.api.PostEphemeralContext(ctx, to.Channel, string(to.User),
				slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(blocks...))
			return err
		})
		if err == nil || to.ReplyURL == "" || !errors.Is(err, bot.ErrChatRejected) {
			return err
		}
	}
	if to.ReplyURL == "" {
		return fmt.Errorf("slack ephemeral to %s in %s: %w: no channel the bot can post in and no response_url", to.User, to.Channel, bot.ErrChatRejected)
	}
	return c.call(ctx, "response_url", func() error {
		return slackapi.PostWebhookCustomHTTPContext(ctx, to.ReplyURL, c.http, &slackapi.WebhookMessage{
			ResponseType: slackapi.ResponseTypeEphemeral, Text: text, Blocks: &slackapi.Blocks{BlockSet: blocks},
		})
	})
}

// UsergroupMembers returns the members of a Slack user group, cached for
// UsergroupTTL. On failure the caller counts nobody from the group.
func (c *Client) UsergroupMembers(ctx context.Context, id string) ([]cs.Actor, error) {
	c.mu.Lock()
	g, ok := c.groups[id]
	c.mu.Unlock()
	if ok && time.Since(g.at) < c.opt.UsergroupTTL {
		return g.members, nil
	}
	var ids []string
	err := c.call(ctx, "usergroups.users.list", func() (err error) {
		ids, err = c.api.GetUserGroupMembersContext(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	members := make([]cs.Actor, len(ids))
	for i, u := range ids {
		members[i] = cs.Actor(u)
	}
	c.mu.Lock()
	c.groups[id] = cachedGroup{members: members, at: time.Now()}
	c.mu.Unlock()
	return members, nil
}

// OpenView opens a modal for the click or command with triggerID.
func (c *Client) OpenView(ctx context.Context, triggerID string, v slackapi.ModalViewRequest) error {
	return c.call(ctx, "views.open", func() error {
		_, err := c.api.OpenViewContext(ctx, triggerID, v)
		return err
	})
}

// pacer is a token bucket for one channel.
type pacer struct {
	tokens float64
	at     time.Time
}

// pace waits until the channel may take another post.
func (c *Client) pace(ctx context.Context, channel string) error {
	for {
		c.mu.Lock()
		p, ok := c.paces[channel]
		now := time.Now()
		if !ok {
			p = &pacer{tokens: float64(c.opt.ChannelBurst), at: now}
			c.paces[channel] = p
		}
		p.tokens = min(float64(c.opt.ChannelBurst), p.tokens+now.Sub(p.at).Seconds()/c.opt.ChannelInterval.Seconds())
		p.at = now
		if p.tokens >= 1 {
			p.tokens--
			c.mu.Unlock()
			return nil
		}
		wait := time.Duration((1 - p.tokens) * float64(c.opt.ChannelInterval))
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
