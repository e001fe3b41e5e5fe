package slack

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	slackapi "github.com/slack-go/slack"

	"github.com/countersign/countersign/bot"
)

// Handler is the bot as the adapter drives it; *bot.Bot implements it.
type Handler interface {
	HandleCommand(ctx context.Context, c bot.Caller, text string)
	HandleButton(ctx context.Context, c bot.Caller, action, value string)
	HandleDeny(ctx context.Context, c bot.Caller, value, reason string)
	CheckDeny(ctx context.Context, c bot.Caller, value string) error
	RefuseChat(ctx context.Context, reason string, detail map[string]any) error
}

// Config says how the adapter listens.
type Config struct {
	// Command is the slash command ("/cs"). A command of another name is
	// taken as a verb registered as its own command ("/deploy www").
	Command string
	// SigningSecret verifies HTTP-mode requests.
	SigningSecret string
	// TeamID is the workspace the bot token belongs to, as auth.test
	// names it (Identity.TeamID). Commands, clicks and mentions from any
	// other workspace are refused and audited; empty refuses them all.
	TeamID string
	// MaxBody caps an HTTP-mode request body (default 1 MiB).
	MaxBody int64
	// Bodies bounds the memory that HTTP-mode bodies not yet verified
	// hold at once (default: a budget of bot.DefaultBodyBudget of the
	// adapter's own); a request that does not fit is answered 503.
	Bodies *bot.BodyBudget
	// Dialer dials Socket Mode (default websocket.DefaultDialer).
	Dialer *websocket.Dialer
	// Now is the clock that checks request timestamps (default time.Now).
	Now func() time.Time
}

// Adapter takes commands and clicks from Slack, acknowledges each at once
// and hands it to the bot on a context of its own, so that the work
// outlives the acknowledgement. Close cancels that work and waits for it.
type Adapter struct {
	client *Client
	bot    Handler
	cfg    Config
	log    *slog.Logger
	m      *Metrics

	ctx    context.Context
	cancel context.CancelFunc
	work   inflight // handed-over work still running
	seen   *dedup
	up     atomic.Bool // Socket Mode connected
	socket atomic.Bool // running in Socket Mode
	limit  *bot.RefusalLimiter
	bodies *bot.BodyBudget
	// signing is the signing secret in force: SetSigningSecret.
	signing atomic.Pointer[string]
}

// NewAdapter returns an adapter that posts with client and drives h.
func NewAdapter(client *Client, h Handler, cfg Config) *Adapter {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Dialer == nil {
		cfg.Dialer = websocket.DefaultDialer
	}
	if cfg.Bodies == nil {
		cfg.Bodies = &bot.BodyBudget{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Adapter{
		client: client, bot: h, cfg: cfg, log: client.log, m: client.opt.Metrics,
		ctx: ctx, cancel: cancel, seen: newDedup(10 * time.Minute), limit: &bot.RefusalLimiter{Max: refusalsPerMinute}, bodies: cfg.Bodies,
	}
	a.SetSigningSecret(cfg.SigningSecret)
	a.m.watch(a.Connected)
	return a
}

// SetSigningSecret replaces the secret HTTP-mode requests must be signed
// with (a config reload): from now on a request signed with the old one
// is refused. An empty secret refuses every HTTP-mode request.
func (a *Adapter) SetSigningSecret(secret string) { a.signing.Store(&secret) }

// Close stops taking work, cancels what is running and waits for it.
func (a *Adapter) Close() {
	a.cancel()
	a.work.wait(context.Background())
}

// Idle returns when the work handed to the bot so far has been handed
// over (the bot's own Idle then waits for what it started).
func (a *Adapter) Idle(ctx context.Context) error { return a.work.wait(ctx) }

// Connected reports whether Slack is reachable: the Socket Mode connection
// is up, or in HTTP mode the last Web API call got an answer.
func (a *Adapter) Connected() bool {
	if a.socket.Load() {
		return a.up.Load()
	}
	ok, _ := a.client.Healthy()
	return ok
}

// async runs fn after the acknowledgement, on the adapter's context.
func (a *Adapter) async(fn func(ctx context.Context)) {
	a.work.add()
	go func() {
		defer a.work.done()
		fn(a.ctx)
	}()
}

// inflight counts running work; unlike a WaitGroup it may be waited on
// while work is added.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{}
}

func (f *inflight) add() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n--; f.n == 0 {
		close(f.idle)
	}
}

func (f *inflight) wait(ctx context.Context) error {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return nil
	}
	ch := f.idle
	f.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// slashCommand hands a slash command to the bot, once per trigger. It
// returns false when the command was refused because it comes from
// another workspace; the refusal is audited even if ctx (the request's)
// has ended.
func (a *Adapter) slashCommand(ctx context.Context, cmd slackapi.SlashCommand) bool {
	if a.foreign(ctx, "command", cmd.UserID, cmd.TeamID, "") {
		return false
	}
	if cmd.TriggerID != "" && a.seen.check("trigger:"+cmd.TriggerID) {
		return true
	}
	text := strings.TrimSpace(cmd.Text)
	if name := strings.TrimPrefix(cmd.Command, "/"); cmd.Command != a.cfg.Command && name != "" {
		text = strings.TrimSpace(name + " " + text)
	}
	c := bot.Caller{User: actor(cmd.UserID), Channel: cmd.ChannelID, ReplyURL: cmd.ResponseURL}
	a.async(func(ctx context.Context) { a.bot.HandleCommand(ctx, c, text) })
	return true
}

// interaction handles a click or a modal submission and returns what the
// acknowledgement must carry (nil: nothing; for a deny reason that is
// missing, the modal's field errors). One from another workspace is
// refused and audited.
func (a *Adapter) interaction(ctx context.Context, cb slackapi.InteractionCallback) any {
	if a.foreign(ctx, "interaction", cb.User.ID, cb.Team.ID, cb.User.TeamID) {
		return nil
	}
	switch cb.Type {
	case slackapi.InteractionTypeBlockActions:
		c := bot.Caller{User: actor(cb.User.ID), Channel: cb.Channel.ID, ReplyURL: cb.ResponseURL}
		for _, act := range cb.ActionCallback.BlockActions {
			if a.seen.check("action:" + cb.TriggerID + ":" + act.ActionID + ":" + act.ActionTs) {
				continue
			}
			a.click(c, cb.TriggerID, act.ActionID, act.Value)
		}
	case slackapi.InteractionTypeViewSubmission:
		if cb.View.CallbackID != DenyCallbackID {
			return nil
		}
		meta, reason, err := DenyFromSubmission(cb)
		if err != nil {
			return slackapi.NewErrorsViewSubmissionResponse(map[string]string{DenyReasonBlockID: err.Error()})
		}
		if a.seen.check("view:" + cb.View.ID + ":" + cb.View.Hash) {
			return nil
		}
		value, channel := parseDenyMeta(meta)
		c := bot.Caller{User: actor(cb.User.ID), Channel: channel}
		a.async(func(ctx context.Context) { a.bot.HandleDeny(ctx, c, value, reason) })
	}
	return nil
}

// click is one button. Deny asks for a reason in a modal. Slack takes a
// click's trigger_id for 3 s only, and CheckDeny may read user groups
// (and wait out their rate limits), so the modal opens first; when the
// clicker may not deny, it is turned into a refusal and the bot refuses
// the click (audited).
func (a *Adapter) click(c bot.Caller, triggerID, actionID, value string) {
	switch actionID {
	case bot.ButtonApprove:
		a.async(func(ctx context.Context) { a.bot.HandleButton(ctx, c, bot.ButtonApprove, value) })
	case bot.ButtonDeny:
		a.async(func(ctx context.Context) {
			id, _, _ := bot.ParseButtonValue(value)
			modal := DenyModal(denyMeta(value, c.Channel), id)
			modal.ExternalID = "deny." + triggerID
			openErr := a.client.OpenView(ctx, triggerID, modal)
			if err := a.bot.CheckDeny(ctx, c, value); err != nil {
				if openErr == nil {
					if err := a.client.UpdateView(ctx, modal.ExternalID, DenyRefusedModal(id)); err != nil {
						a.log.Warn("turn deny dialog into a refusal", "request", id, "err", err)
					}
				}
				a.bot.HandleDeny(ctx, c, value, "denied with the button")
				return
			}
			if openErr != nil {
				a.log.Warn("open deny dialog", "request", id, "err", openErr)
				a.client.Ephemeral(ctx, c, bot.Message{Channel: c.Channel,
					Text: bot.Textf("⚠️ could not open the dialog for a reason (%v); deny with `%s deny %s REASON…`", openErr, a.cfg.Command, id)})
			}
		})
	}
}

// denyMeta keeps the button value and the channel in the modal, so that
// the reply to the submission can go to the channel of the click.
func denyMeta(value, channel string) string { return value + " " + channel }

func parseDenyMeta(meta string) (value, channel string) {
	value, channel, _ = strings.Cut(meta, " ")
	return value, channel
}

// dedup remembers keys for a while: Socket Mode redeliveries, retried
// requests and double clicks carry the same envelope, trigger or action.
type dedup struct {
	mu   sync.Mutex
	ttl  time.Duration
	keys map[string]time.Time
}

func newDedup(ttl time.Duration) *dedup { return &dedup{ttl: ttl, keys: map[string]time.Time{}} }

// check records key and reports whether it was seen within the TTL.
func (d *dedup) check(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if at, ok := d.keys[key]; ok && now.Sub(at) < d.ttl {
		return true
	}
	if len(d.keys) > 10000 {
		for k, at := range d.keys {
			if now.Sub(at) >= d.ttl {
				delete(d.keys, k)
			}
		}
	}
	d.keys[key] = now
	return false
}
