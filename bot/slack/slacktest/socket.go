package slacktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Envelope is one Socket Mode message from Slack to the app. Build one with
// [SlashCommand], [BlockAction] or [ViewSubmission], or by hand for
// "events_api".
type Envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"` // "slash_commands", "interactive" or "events_api"
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// Ack is the app's acknowledgement of an envelope:
// {"envelope_id":"…","payload":…}.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // nil when the ack carried no payload
	At         time.Time
	// Elapsed is the time from Send to the ack's arrival; 0 for an envelope
	// not sent with Send.
	Elapsed time.Duration
}

// debugInfo is what Slack puts in hello and disconnect messages.
type debugInfo struct {
	Host                      string `json:"host"`
	BuildNumber               int    `json:"build_number,omitempty"`
	ApproximateConnectionTime int    `json:"approximate_connection_time,omitempty"`
}

type hello struct {
	Type           string    `json:"type"`
	NumConnections int       `json:"num_connections"`
	DebugInfo      debugInfo `json:"debug_info"`
	ConnectionInfo struct {
		AppID string `json:"app_id"`
	} `json:"connection_info"`
}

type disconnect struct {
	Type      string    `json:"type"`
	Reason    string    `json:"reason"`
	DebugInfo debugInfo `json:"debug_info"`
}

const linkHost = "applink-slacktest-0"

// conn is one live Socket Mode connection. Data frames go through write;
// control frames and Close are safe alongside it (gorilla/websocket).
type conn struct {
	ws   *websocket.Conn
	wmu  sync.Mutex
	gone chan struct{} // closed when the server stops reading from ws
}

func (c *conn) write(v any, deadline time.Time) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("marshal socket message: %w", err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(deadline)
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// shutdown starts a clean close: a close frame, then a bounded wait for the
// client's reply, after which the handler's read fails and it cleans up.
func (c *conn) shutdown() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	_ = c.ws.SetReadDeadline(time.Now().Add(2 * time.Second))
}

// close drops the connection at once, as an outage would.
func (c *conn) close() { _ = c.ws.Close() }

// serveLink is the WebSocket endpoint behind the URL apps.connections.open
// hands out. Each ticket is good for one dial.
func (s *Server) serveLink(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	if s.closed || s.down {
		s.mu.Unlock()
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	if used, ok := s.tickets[ticket]; !ok || used {
		s.mu.Unlock()
		http.Error(w, "invalid_ticket", http.StatusUnauthorized)
		return
	}
	s.tickets[ticket] = true
	s.wg.Add(1)
	live := len(s.conns)
	s.mu.Unlock()
	defer s.wg.Done()

	// socketmode sends Origin: https://api.slack.com, which the default
	// same-origin check would refuse.
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	c := &conn{ws: ws, gone: make(chan struct{})}
	defer c.close()

	h := hello{Type: "hello", NumConnections: live + 1, DebugInfo: debugInfo{Host: linkHost, BuildNumber: 1, ApproximateConnectionTime: 18060}}
	h.ConnectionInfo.AppID = s.opts.AppID
	if err := c.write(h, time.Now().Add(10*time.Second)); err != nil {
		return
	}
	s.mu.Lock()
	if s.closed || s.down {
		s.mu.Unlock()
		return
	}
	s.conns = append(s.conns, c)
	s.connected++
	s.notifyLocked()
	s.mu.Unlock()

	done := make(chan struct{})
	var pinger sync.WaitGroup
	pinger.Go(func() { s.ping(c, done) })
	s.readAcks(c)
	close(c.gone)
	close(done)
	pinger.Wait()

	s.mu.Lock()
	s.conns = slices.DeleteFunc(s.conns, func(x *conn) bool { return x == c })
	s.notifyLocked()
	s.mu.Unlock()
}

// ping sends WebSocket pings until done: socketmode reconnects when Slack
// has not pinged it for its OptionPingInterval.
func (s *Server) ping(c *conn, done <-chan struct{}) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
			return
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// readAcks records acks until the connection fails or closes.
func (s *Server) readAcks(c *conn) {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var msg struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &msg) != nil || msg.EnvelopeID == "" {
			continue
		}
		if string(msg.Payload) == "null" {
			msg.Payload = nil
		}
		s.mu.Lock()
		if _, dup := s.acks[msg.EnvelopeID]; !dup {
			ack := Ack{EnvelopeID: msg.EnvelopeID, Payload: msg.Payload, At: s.opts.Now()}
			if sent, ok := s.sent[msg.EnvelopeID]; ok {
				ack.Elapsed = ack.At.Sub(sent)
			}
			s.acks[msg.EnvelopeID] = ack
			s.notifyLocked()
		}
		s.mu.Unlock()
	}
}

// WaitConnected blocks until a Socket Mode client is connected and has
// been sent its hello. It returns ctx's error or ErrClosed.
func (s *Server) WaitConnected(ctx context.Context) error {
	if err := s.waitFor(ctx, func() bool { return len(s.conns) > 0 }); err != nil {
		return fmt.Errorf("wait for socket mode connection: %w", err)
	}
	return nil
}

// Connections reports how many Socket Mode connections were ever
// established (got their hello), reconnects included.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Send writes env to the newest live Socket Mode connection, waiting for
// one if there is none. env.EnvelopeID must be set; the builders set it.
// It returns ctx's error, ErrClosed, or the write's error.
func (s *Server) Send(ctx context.Context, env Envelope) error {
	if env.EnvelopeID == "" {
		return errors.New("send envelope: no envelope_id")
	}
	if env.Payload == nil {
		env.Payload = json.RawMessage(`{}`)
	}
	var c *conn
	err := s.waitFor(ctx, func() bool {
		if n := len(s.conns); n > 0 {
			c = s.conns[n-1]
			return true
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("send envelope %s: %w", env.EnvelopeID, err)
	}
	s.mu.Lock()
	s.sent[env.EnvelopeID] = s.opts.Now()
	s.mu.Unlock()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	if err := c.write(env, deadline); err != nil {
		return fmt.Errorf("send envelope %s: %w", env.EnvelopeID, err)
	}
	return nil
}

// WaitAck blocks until the client acks envelopeID (or has already) and
// returns the ack. It returns ctx's error or ErrClosed.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var ack Ack
	err := s.waitFor(ctx, func() bool {
		var ok bool
		ack, ok = s.acks[envelopeID]
		return ok
	})
	if err != nil {
		return Ack{}, fmt.Errorf("wait for ack of envelope %s: %w", envelopeID, err)
	}
	return ack, nil
}

// disconnectGrace is how long Disconnect lets a client close the socket
// itself after the disconnect message before the server closes it.
const disconnectGrace = 2 * time.Second

// Disconnect sends every live connection a disconnect message with reason
// ("refresh_requested" if empty) and closes it, as Slack does before it
// rotates a connection. The server gives the client up to 2s to act on the
// message and hang up first, so socketmode reconnects because it was asked
// to rather than because the socket broke; Disconnect returns once the old
// sockets are closed. socketmode then reconnects through
// apps.connections.open; WaitConnected waits for that new connection.
func (s *Server) Disconnect(reason string) {
	if reason == "" {
		reason = "refresh_requested"
	}
	s.mu.Lock()
	live := s.conns
	s.conns = nil
	s.notifyLocked()
	s.mu.Unlock()
	msg := disconnect{Type: "disconnect", Reason: reason, DebugInfo: debugInfo{Host: linkHost}}
	for _, c := range live {
		_ = c.write(msg, time.Now().Add(time.Second))
	}
	grace := time.NewTimer(disconnectGrace)
	defer grace.Stop()
	expired := false
	for _, c := range live {
		if !expired {
			select {
			case <-c.gone:
				continue
			case <-grace.C:
				expired = true
			}
		}
		c.shutdown()
		<-c.gone // the read deadline shutdown sets bounds this
	}
}
