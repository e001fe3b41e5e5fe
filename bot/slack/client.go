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
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Options tunes a Client. The zero value is what production wants.
type Options struct {
	// APIURL is the Web API base, ending in "/" (default Slack's).
	APIURL string
	// HTTPClient carries every call (default a client with DefaultTimeout).
	HTTPClient *http.Client
	// CallTimeout bounds each Web API and response_url call, whatever
	// HTTPClient is (default DefaultTimeout): a stalled connection must
	// not hold the outbox's chat lane.
	CallTimeout time.Duration
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
	// api is the Web API client with the bot token in force: SetBotToken.
	api     atomic.Pointer[slackapi.Client]
	apiOpts []slackapi.Option
	http    *http.Client
	opt     Options
	log     *slog.Logger

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

// DefaultTimeout bounds one Slack call when Options leave it open.
const DefaultTimeout = 30 * time.Second

// NewClient returns a client for the bot token (xoxb-…).
func NewClient(botToken string, o Options) *Client {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultTimeout
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
	c := &Client{
		apiOpts: opts, http: o.HTTPClient, opt: o, log: o.Logger,
		paces: map[string]*pacer{}, groups: map[string]cachedGroup{},
	}
	c.api.Store(slackapi.New(botToken, opts...))
	return c
}

// SetBotToken replaces the bot token of the Web API calls made from now
// on (a config reload); a call already sent finishes with the old one.
// Socket Mode keeps the connection it has (its app token is not
// replaced). An empty token, or one with white space, is refused and the
// token in force stays.
func (c *Client) SetBotToken(token string) error {
	if err := CheckBotToken(token); err != nil {
		return err
	}
	c.api.Store(slackapi.New(token, c.apiOpts...))
	return nil
}

// WithBotToken returns a client made with c's options for another bot
// token, to try the token (Check) before SetBotToken puts it in force:
// its pacing, caches and call status are its own.
func (c *Client) WithBotToken(token string) (*Client, error) {
	if err := CheckBotToken(token); err != nil {
		return nil, err
	}
	return NewClient(token, c.opt), nil
}

// CheckBotToken says why token cannot be a bot token, or nil.
func CheckBotToken(token string) error {
	if token == "" || strings.ContainsAny(token, " \r\n\t") {
		return errors.New("slack: the bot token is empty or contains white space")
	}
	return nil
}

// API is the underlying slack-go client (Socket Mode is built on it).
func (c *Client) API() *slackapi.Client { return c.api.Load() }

// call runs one Web API call, each try bounded by CallTimeout, waiting
// out rate limits (at most MaxRateLimitWaits times), counts it, and
// classifies its error: whatever Slack may not answer again wraps
// bot.ErrChatRejected (see classify).
func (c *Client) call(ctx context.Context, method string, fn func(ctx context.Context) error) error {
	for waits := 0; ; waits++ {
		tctx, cancel := context.WithTimeout(ctx, c.opt.CallTimeout)
		err := fn(tctx)
		cancel()
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

// transient lists the Slack error codes worth trying again: Slack's own
// trouble, and the bot's credentials or scopes (not the message's fault:
// every message would get them until an operator fixes the app, and the
// outbox gives up on them after its limit anyway). Any other code is
// Slack refusing this call for good, including codes Slack adds later.
var transient = map[string]bool{
	"ratelimited": true, "service_unavailable": true, "internal_error": true, "fatal_error": true,
	"request_timeout": true, "team_added_to_org": true,
	"not_authed": true, "invalid_auth": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "missing_scope": true,
}

// classify marks err rejected unless it is known to heal: network errors
// and timeouts, HTTP 5xx, 408 and 429, and the codes in transient. A
// response_url that is expired or used up answers 404 and is rejected.
func classify(method string, err error) error {
	if err == nil {
		return nil
	}
	if temporary(err) {
		return fmt.Errorf("slack %s: %w", method, err)
	}
	return fmt.Errorf("slack %s: %w: %w", method, bot.ErrChatRejected, err)
}

func temporary(err error) bool {
	var se slackapi.SlackErrorResponse
	var sc slackapi.StatusCodeError
	var rl *slackapi.RateLimitedError
	switch {
	case errors.As(err, &se):
		return transient[se.Err]
	case errors.As(err, &rl):
		return true
	case errors.As(err, &sc):
		return sc.Code >= 500 || sc.Code == http.StatusTooManyRequests || sc.Code == http.StatusRequestTimeout
	}
	// No answer from Slack: the network, a timeout, a body that is not
	// Slack's (a proxy's error page).
	return true
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
	err := c.call(ctx, "chat.postMessage", func(ctx context.Context) (err error) {
		ch, ts, err = c.api.Load().PostMessageContext(ctx, msg.Channel, opts...)
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
	return c.call(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := c.api.Load().UpdateMessageContext(ctx, ref.Channel, ref.TS,
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
		err = c.call(ctx, "chat.postEphemeral", func(ctx context.Context) error {
			_, err := c.api.Load().PostEphemeralContext(ctx, to.Channel, string(to.User),
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
	return c.call(ctx, "response_url", func(ctx context.Context) error {
		return hideURL(slackapi.PostWebhookCustomHTTPContext(ctx, to.ReplyURL, c.http, &slackapi.WebhookMessage{
			ResponseType: slackapi.ResponseTypeEphemeral, Text: text, Blocks: &slackapi.Blocks{BlockSet: blocks},
		}))
	})
}

// hideURL takes the response_url out of a failed post's error: whoever
// holds it may answer the user as the app, and errors reach the log and
// the audit trail.
func hideURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: "(response_url)", Err: ue.Err}
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
	err := c.call(ctx, "usergroups.users.list", func(ctx context.Context) (err error) {
		ids, err = c.api.Load().GetUserGroupMembersContext(ctx, id)
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
	return c.call(ctx, "views.open", func(ctx context.Context) error {
		_, err := c.api.Load().OpenViewContext(ctx, triggerID, v)
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
