package bottest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// MaxText is the longest message text Slack's chat.postMessage and
// chat.update take, in characters (beyond it Slack answers msg_too_long;
// bot/slack/slacktest enforces the same limit on the wire).
const MaxText = 40000

// ErrDown is what every call of a Chat that is down returns: the chat
// could not be reached, which the outbox retries.
var ErrDown = errors.New("chat unreachable (test stand-in)")

// Chat is a recording stand-in for the Slack adapter (bot.Chat). It
// keeps what the bot says and refuses, with bot.ErrChatRejected and
// Slack's error code, what the real adapter cannot deliver: a message
// without channel (channel_not_found) or text (no_text), text longer than
// MaxText (msg_too_long: Slack's own limit; bot/slack cuts longer text
// before sending, so a bot message this long is a bug worth seeing), an
// update without a message reference (message_not_found), an ephemeral
// reply without user (user_not_found) or with neither a channel the bot
// can post in nor a reply URL. It can also be made to fail: SetDown,
// Reject, Stick. Safe for concurrent use.
type Chat struct {
	mu       sync.Mutex
	down     bool
	rejected string
	stuck    string
	calls    int
	n        int
	posts    []bot.Message
	updates  map[string]bot.Message
	nupdates int
	ephem    []string
}

// NewChat returns a Chat that is up and takes every valid message.
func NewChat() *Chat { return &Chat{} }

// SetDown makes every call fail with ErrDown (down) or succeed again. It
// returns c.
func (c *Chat) SetDown(down bool) *Chat {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = down
	return c
}

// Reject makes every call for channel fail for good, as Slack's
// channel_not_found does. It returns c.
func (c *Chat) Reject(channel string) *Chat {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rejected = channel
	return c
}

// Stick makes every call for channel fail as if the chat were down. It
// returns c.
func (c *Chat) Stick(channel string) *Chat {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stuck = channel
	return c
}

// TS is the timestamp of the nth message a Chat posts (from 1).
func TS(n int) string { return fmt.Sprintf("1700000000.%06d", n) }

// fails says how the current call fails, if it does; c.mu is held.
func (c *Chat) fails(channel string) error {
	c.calls++
	if c.down || channel != "" && channel == c.stuck {
		return ErrDown
	}
	if channel != "" && channel == c.rejected {
		return refused("channel_not_found")
	}
	return nil
}

func refused(code string) error {
	return fmt.Errorf("%w: %s (test stand-in)", bot.ErrChatRejected, code)
}

// invalid returns the Slack error for a message Slack would not take.
func invalid(channel string, m bot.Message) error {
	switch {
	case channel == "":
		return refused("channel_not_found")
	case m.Text == "":
		return refused("no_text")
	case utf8.RuneCountInString(string(m.Text)) > MaxText:
		return refused("msg_too_long")
	}
	return nil
}

// Post records m and returns a Slack-like reference ("1700000000.000001").
func (c *Chat) Post(_ context.Context, m bot.Message) (cs.MessageRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fails(m.Channel); err != nil {
		return cs.MessageRef{}, err
	}
	if err := invalid(m.Channel, m); err != nil {
		return cs.MessageRef{}, err
	}
	c.n++
	c.posts = append(c.posts, m)
	return cs.MessageRef{Channel: m.Channel, TS: TS(c.n)}, nil
}

// Update records m as the latest version of the message at ref.TS.
func (c *Chat) Update(_ context.Context, ref cs.MessageRef, m bot.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fails(ref.Channel); err != nil {
		return err
	}
	if ref.TS == "" {
		return refused("message_not_found")
	}
	if err := invalid(ref.Channel, m); err != nil {
		return err
	}
	c.nupdates++
	if c.updates == nil {
		c.updates = map[string]bot.Message{}
	}
	c.updates[ref.TS] = m
	return nil
}

// Ephemeral records m as "USER: text".
func (c *Chat) Ephemeral(_ context.Context, to bot.Caller, m bot.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.fails(to.Channel); err != nil {
		return err
	}
	switch {
	case to.User == "":
		return refused("user_not_found")
	case (to.Channel == "" || strings.HasPrefix(to.Channel, "D")) && to.ReplyURL == "":
		return refused("no channel the bot can post in and no response_url")
	case m.Text == "":
		return refused("no_text")
	}
	c.ephem = append(c.ephem, string(to.User)+": "+string(m.Text))
	return nil
}

// Calls is the number of calls made, failed ones included.
func (c *Chat) Calls() int { c.mu.Lock(); defer c.mu.Unlock(); return c.calls }

// Posts returns the messages posted, oldest first.
func (c *Chat) Posts() []bot.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bot.Message(nil), c.posts...)
}

// Cards returns the messages posted as request id's card, oldest first.
func (c *Chat) Cards(id cs.RequestID) []bot.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []bot.Message
	for _, m := range c.posts {
		if m.Request != nil && m.Request.ID == id {
			out = append(out, m)
		}
	}
	return out
}

// PostsContaining counts the messages posted whose text contains s.
func (c *Chat) PostsContaining(s string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.posts {
		if strings.Contains(string(m.Text), s) {
			n++
		}
	}
	return n
}

// PostTexts returns the text of each message posted, oldest first.
func (c *Chat) PostTexts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.posts))
	for i, m := range c.posts {
		out[i] = string(m.Text)
	}
	return out
}

// Updated returns the latest update of the message with timestamp ts.
func (c *Chat) Updated(ts string) (bot.Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.updates[ts]
	return m, ok
}

// UpdateCount is the number of updates made.
func (c *Chat) UpdateCount() int { c.mu.Lock(); defer c.mu.Unlock(); return c.nupdates }

// Ephemerals returns the ephemeral replies as "USER: text", oldest first.
func (c *Chat) Ephemerals() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ephem...)
}

// LastEphemeral returns the newest ephemeral reply to user.
func (c *Chat) LastEphemeral(user cs.Actor) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.ephem) - 1; i >= 0; i-- {
		if s, ok := strings.CutPrefix(c.ephem[i], string(user)+": "); ok {
			return s
		}
	}
	return ""
}

// AllText is everything posted, updated and said ephemerally.
func (c *Chat) AllText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, m := range c.posts {
		b.WriteString(string(m.Text) + "\n")
	}
	for _, m := range c.updates {
		b.WriteString(string(m.Text) + "\n")
	}
	for _, e := range c.ephem {
		b.WriteString(e + "\n")
	}
	return b.String()
}

// Threads returns the service of each push thread's parent posted, sorted.
func (c *Chat) Threads() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.posts {
		if m.Push != nil && m.Thread.TS == "" {
			out = append(out, m.Push.Service)
		}
	}
	sort.Strings(out)
	return out
}
