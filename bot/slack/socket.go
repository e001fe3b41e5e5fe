package slack

import (
	"context"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// RunSocketMode receives commands and clicks over Socket Mode until ctx
// ends (or Close). Every envelope is acknowledged as soon as it is read,
// redeliveries of one envelope are handled once, and a dropped connection
// is reopened (slack-go reconnects; if it gives up, this starts it again
// after a pause). Connected tells whether the connection is up.
func (a *Adapter) RunSocketMode(ctx context.Context) error {
	a.socket.Store(true)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-a.ctx.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	for pause := time.Second; ctx.Err() == nil; pause = min(2*pause, time.Minute) {
		sm := socketmode.New(a.client.API(), socketmode.OptionDialer(a.cfg.Dialer))
		done := make(chan error, 1)
		go func() { done <- sm.RunContext(ctx) }()
		err := a.events(ctx, sm, done)
		a.setUp(false)
		if ctx.Err() != nil {
			break
		}
		a.log.Warn("slack socket mode stopped; starting again", "err", err, "in", pause)
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
	return nil
}

func (a *Adapter) setUp(up bool) {
	a.up.Store(up)
}

// events handles one socketmode client's events until it stops.
func (a *Adapter) events(ctx context.Context, sm *socketmode.Client, done <-chan error) error {
	for {
		select {
		case err := <-done:
			return err
		case evt := <-sm.Events:
			a.event(sm, evt)
		}
	}
}

func (a *Adapter) event(sm *socketmode.Client, evt socketmode.Event) {
	start := time.Now()
	switch evt.Type {
	case socketmode.EventTypeHello, socketmode.EventTypeConnected:
		a.setUp(true)
	case socketmode.EventTypeConnecting, socketmode.EventTypeDisconnect, socketmode.EventTypeConnectionError:
		a.setUp(false)
	case socketmode.EventTypeInvalidAuth:
		a.setUp(false)
		a.log.Error("slack socket mode: the app token was refused (invalid_auth); check slack.app_token")
	case socketmode.EventTypeSlashCommand:
		// Handing over starts a goroutine and does no I/O, so it goes
		// before the ack: whoever sees the ack can wait for the work.
		cmd, ok := evt.Data.(slackapi.SlashCommand)
		var answer any
		if ok && a.fresh(evt) && !a.slashCommand(a.ctx, cmd) {
			answer = map[string]string{"text": foreignText}
		}
		a.ack(sm, evt, answer, "command", start)
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slackapi.InteractionCallback)
		if !ok || !a.fresh(evt) {
			a.ack(sm, evt, nil, "interaction", start)
			return
		}
		// The acknowledgement carries the modal's errors, if any, so the
		// interaction is read first; that is a parse, no I/O.
		a.ack(sm, evt, a.interaction(a.ctx, cb), "interaction", start)
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if ok && a.fresh(evt) {
			a.mention(ev)
		}
		a.ack(sm, evt, nil, "event", start)
	}
}

// fresh reports whether the envelope is new, not a redelivery of one
// already handled.
func (a *Adapter) fresh(evt socketmode.Event) bool {
	return evt.Request != nil && !a.seen.check("envelope:"+evt.Request.EnvelopeID)
}

func (a *Adapter) ack(sm *socketmode.Client, evt socketmode.Event, payload any, kind string, start time.Time) {
	if evt.Request == nil {
		return
	}
	var err error
	if payload != nil {
		err = sm.Ack(*evt.Request, payload)
	} else {
		err = sm.Ack(*evt.Request)
	}
	if err != nil {
		a.log.Warn("slack ack", "envelope", evt.Request.EnvelopeID, "err", err)
	}
	a.m.ack("socket", kind, time.Since(start))
}

// mention takes "@countersign deploy www" in a channel as a command.
func (a *Adapter) mention(ev slackevents.EventsAPIEvent) {
	m, ok := ev.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !ok || m.User == "" || m.BotID != "" {
		return
	}
	if a.foreign(a.ctx, "mention", m.User, ev.TeamID, m.UserTeam) {
		return
	}
	text := strings.TrimSpace(m.Text)
	if strings.HasPrefix(text, "<@") {
		if i := strings.IndexByte(text, '>'); i > 0 {
			text = strings.TrimSpace(text[i+1:])
		}
	}
	if a.seen.check("mention:" + m.Channel + ":" + m.TimeStamp) {
		return
	}
	c := bot.Caller{User: actor(m.User), Channel: m.Channel}
	a.async(func(ctx context.Context) { a.bot.HandleCommand(ctx, c, text) })
}

// actor is the chat user of a verified payload's user ID.
func actor(id string) cs.Actor { return cs.Actor(id) }
