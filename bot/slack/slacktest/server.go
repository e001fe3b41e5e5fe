// Package slacktest is a test fake of Slack: a local TLS server that speaks
// the Web API, response_url and Socket Mode wire formats closely enough for
// slack-go (and so our Slack adapter) to talk to it unchanged. It is for
// tests only; it keeps everything in memory and trusts whatever it is sent.
//
// Point a client at it with
//
//	api := slack.New(botToken,
//		slack.OptionAPIURL(srv.APIURL()),
//		slack.OptionHTTPClient(srv.HTTPClient()),
//		slack.OptionAppLevelToken(appToken))
//	sm := socketmode.New(api, socketmode.OptionDialer(srv.Dialer()))
//
// then drive it with [Server.Send], inspect what it did with [Server.Calls],
// [Server.Messages] and friends, and break it with [Server.RateLimit],
// [Server.Fail], [Server.FailWith] and [Server.Down].
//
// Every method of [Server] is safe for concurrent use.
package slacktest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ErrClosed is returned by waits and sends on a Server after Close.
var ErrClosed = errors.New("slacktest: server closed")

// Options configure a Server. Every field has a usable zero value; the
// effective values are reported by [Server.Options].
type Options struct {
	// BotToken is the xoxb- token the Web API accepts. Default "xoxb-slacktest".
	BotToken string
	// AppToken is the xapp- token apps.connections.open accepts.
	// Default "xapp-slacktest".
	AppToken string
	// BotScopes are the bot token's scopes, reported in X-OAuth-Scopes and
	// checked by each method. Nil means [DefaultBotScopes]; an empty non-nil
	// slice means no scopes at all.
	BotScopes []string
	// AppScopes are the app token's scopes. Nil means [DefaultAppScopes].
	AppScopes []string
	// BotUserID is the bot's user ID ("U…"). Default "U0BOT".
	BotUserID string
	// BotID is the bot's bot ID ("B…"). Default "B0BOT".
	BotID string
	// TeamID is the workspace ID ("T…"). Default "T0TEAM".
	TeamID string
	// AppID is the app's ID ("A…"), sent in the Socket Mode hello.
	// Default "A0APP".
	AppID string
	// Members says, per channel ID, whether the bot is a member. Nil means
	// every channel exists and the bot is in it; otherwise a channel not in
	// the map does not exist (channel_not_found) and one mapped to false
	// answers not_in_channel to chat.postMessage. New copies the map; change
	// it later with [Server.SetMember].
	Members map[string]bool
	// ChannelNames maps channel IDs to their names (without "#"), for
	// conversations.list; a channel not in it is not listed.
	ChannelNames map[string]string
	// Usergroups maps usergroup IDs ("S…") to their members' user IDs.
	Usergroups map[string][]string
	// PingInterval is how often the server sends WebSocket pings, which
	// socketmode needs to consider the connection alive. Default 1s; keep it
	// well below the client's socketmode.OptionPingInterval (30s default).
	PingInterval time.Duration
	// Now is the clock used to timestamp records. Default time.Now.
	Now func() time.Time
}

// DefaultBotScopes returns the bot token's scopes when Options.BotScopes is
// nil: enough for every method the fake serves.
func DefaultBotScopes() []string {
	return []string{"chat:write", "commands", "usergroups:read", "channels:read", "groups:read", "im:read", "mpim:read"}
}

// DefaultAppScopes returns the app token's scopes when Options.AppScopes is nil.
func DefaultAppScopes() []string { return []string{"connections:write"} }

// clone copies o deeply enough that the caller's slices and maps are not shared.
func (o Options) clone() Options {
	o.BotScopes = slices.Clone(o.BotScopes)
	o.AppScopes = slices.Clone(o.AppScopes)
	o.Members = maps.Clone(o.Members)
	o.ChannelNames = maps.Clone(o.ChannelNames)
	if o.Usergroups != nil {
		groups := make(map[string][]string, len(o.Usergroups))
		for id, users := range o.Usergroups {
			groups[id] = slices.Clone(users)
		}
		o.Usergroups = groups
	}
	return o
}

func (o Options) withDefaults() Options {
	o = o.clone()
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.BotToken, "xoxb-slacktest")
	def(&o.AppToken, "xapp-slacktest")
	def(&o.BotUserID, "U0BOT")
	def(&o.BotID, "B0BOT")
	def(&o.TeamID, defaultTeamID)
	def(&o.AppID, defaultAppID)
	if o.BotScopes == nil {
		o.BotScopes = DefaultBotScopes()
	}
	if o.AppScopes == nil {
		o.AppScopes = DefaultAppScopes()
	}
	if o.PingInterval <= 0 {
		o.PingInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Server is a running fake Slack. Create it with New and stop it with Close.
type Server struct {
	opts   Options
	ts     *httptest.Server
	dialer *websocket.Dialer
	api    map[string]method

	wg sync.WaitGroup // websocket handlers, which httptest does not track once hijacked

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change waiters care about
	closed     bool
	down       bool
	faults     []*fault
	seq        int // last ts sequence number handed out
	calls      []Call
	messages   map[string][]*Message
	ephemerals []Ephemeral
	views      []View
	responses  []Response
	issued     map[string]time.Time // response_url id → when ResponseURL handed it out
	used       map[string]int       // response_url id → posts it took
	tickets    map[string]bool      // apps.connections.open tickets; true once used
	conns      []*conn              // live sockets that got their hello
	connected  int                  // sockets that ever got their hello
	sent       map[string]time.Time
	acks       map[string]Ack
	trig       triggerClock // see triggers.go
}

// New starts a Server on 127.0.0.1 with a self-signed certificate that
// HTTPClient and Dialer trust. The caller must Close it.
func New(opts Options) *Server {
	s := &Server{
		opts:     opts.withDefaults(),
		changed:  make(chan struct{}),
		messages: make(map[string][]*Message),
		tickets:  make(map[string]bool),
		sent:     make(map[string]time.Time),
		acks:     make(map[string]Ack),
		issued:   make(map[string]time.Time),
		used:     make(map[string]int),
	}
	s.api = s.withTriggers(s.withConversationsList(s.methods()))
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/link/", s.serveLink)
	mux.HandleFunc("/response/", s.serveResponse)
	s.ts = httptest.NewTLSServer(mux)
	pool := x509.NewCertPool()
	pool.AddCert(s.ts.Certificate())
	s.dialer = &websocket.Dialer{
		TLSClientConfig:  &tls.Config{RootCAs: pool},
		HandshakeTimeout: 10 * time.Second,
	}
	return s
}

// Close drops every Socket Mode connection, stops the server and waits for
// its goroutines. Waits in progress return ErrClosed.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	live := s.conns
	s.conns = nil
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range live {
		c.close()
	}
	s.ts.Close()
	s.wg.Wait()
}

// APIURL is the Web API base for slack.OptionAPIURL; it ends in "/api/".
func (s *Server) APIURL() string { return s.ts.URL + "/api/" }

// HTTPClient returns a client that trusts the server's certificate, for
// slack.OptionHTTPClient and for posting signed requests to an adapter.
func (s *Server) HTTPClient() *http.Client { return s.ts.Client() }

// Dialer returns a websocket dialer that trusts the server's certificate,
// for socketmode.OptionDialer.
func (s *Server) Dialer() *websocket.Dialer { return s.dialer }

// ResponseURL returns a response_url under the server for id. Posts to it
// are recorded as [Response] values with that ID. As Slack's, it takes
// [ResponseURLUses] posts within [ResponseURLLifetime] of the first
// ResponseURL call for id (Options.Now's clock), and answers 404 after.
func (s *Server) ResponseURL(id string) string {
	s.mu.Lock()
	if _, ok := s.issued[id]; !ok {
		s.issued[id] = s.opts.Now()
	}
	s.mu.Unlock()
	return s.ts.URL + "/response/" + url.PathEscape(id)
}

// Options returns the effective options, defaults filled in.
// RotateBotToken makes token the only bot token the Web API accepts:
// the one before is answered invalid_auth from now on, as after rotating
// the token or reinstalling the app in Slack.
func (s *Server) RotateBotToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.BotToken = token
}

func (s *Server) Options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.clone()
}

// SetMember records whether the bot is a member of channel, creating the
// channel if needed. It turns a nil Options.Members into an explicit map
// holding only channel.
func (s *Server) SetMember(channel string, member bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Members == nil {
		s.opts.Members = make(map[string]bool)
	}
	s.opts.Members[channel] = member
}

// notifyLocked wakes every waiter. The caller holds s.mu.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond, evaluated under s.mu, holds; or ctx ends; or
// the server closes.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, closed, ch := cond(), s.closed, s.changed
		s.mu.Unlock()
		switch {
		case ok:
			return nil
		case closed:
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// nextTSLocked hands out Slack-style message timestamps, strictly increasing
// from "1700000000.000100". The caller holds s.mu.
func (s *Server) nextTSLocked() string {
	s.seq++
	micros := int64(s.seq) * 100
	return formatTS(1700000000+micros/1e6, micros%1e6)
}

func formatTS(sec, micros int64) string {
	return fmt.Sprintf("%d.%06d", sec, micros)
}

// randomID returns n random bytes as hex, for tickets and envelope IDs.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
