package slacktest

import (
	"encoding/json"
	"net/url"
	"slices"
	"time"
)

// Call is one Web API request as the server saw it, including requests
// answered by an injected fault.
type Call struct {
	Method string // e.g. "chat.postMessage"
	// Token is "bot" or "app" when the request carried the configured bot
	// or app token (Authorization: Bearer or the token form field), else "".
	Token string
	// Form holds the request's parameters: query, form body, and the
	// top-level keys of a JSON body (strings as is, other values as JSON).
	Form   url.Values
	Status int    // HTTP status answered
	OK     bool   // the JSON answer's "ok"
	Error  string // the JSON answer's "error", or "ratelimited" for a 429
	At     time.Time
}

// Message is a message the bot posted with chat.postMessage, as it stands
// after any chat.update.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // "" for a top-level message
	Text     string
	Blocks   json.RawMessage // the blocks JSON as sent; nil if none
	// Updates counts the chat.update calls that changed Text or Blocks.
	Updates int
	// History holds the earlier versions, oldest first; their own History
	// is empty.
	History []Message
}

// Ephemeral is a message posted with chat.postEphemeral.
type Ephemeral struct {
	Channel  string
	User     string
	TS       string // the message_ts answered
	ThreadTS string
	Text     string
	Blocks   json.RawMessage
}

// View is a modal opened with views.open.
type View struct {
	ID        string // the "V…" ID answered
	TriggerID string
	View      json.RawMessage // the view JSON as sent
}

// Response is a reply posted to a [Server.ResponseURL].
type Response struct {
	ID              string // the id given to ResponseURL
	Body            json.RawMessage
	Text            string
	ResponseType    string // "ephemeral", "in_channel" or ""
	ReplaceOriginal bool
	DeleteOriginal  bool
	Blocks          json.RawMessage
	At              time.Time
}

// Calls returns every Web API call so far, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Form = cloneValues(c.Form)
		out[i] = c
	}
	return out
}

// CallCount returns how many calls of method were made; "" counts all.
func (s *Server) CallCount(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			n++
		}
	}
	return n
}

// Messages returns every message posted in channel, thread replies
// included, in the order they were posted.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages[channel]))
	for _, m := range s.messages[channel] {
		out = append(out, m.clone())
	}
	return out
}

// Message returns the message with ts in channel.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findLocked(channel, ts); m != nil {
		return m.clone(), true
	}
	return Message{}, false
}

// Ephemerals returns every ephemeral message posted, in order.
func (s *Server) Ephemerals() []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.ephemerals)
	for i := range out {
		out[i].Blocks = slices.Clone(out[i].Blocks)
	}
	return out
}

// Views returns every view opened, in order.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.views)
	for i := range out {
		out[i].View = slices.Clone(out[i].View)
	}
	return out
}

// Responses returns every response_url post, in order.
func (s *Server) Responses() []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.responses)
	for i := range out {
		out[i].Body = slices.Clone(out[i].Body)
		out[i].Blocks = slices.Clone(out[i].Blocks)
	}
	return out
}

// findLocked returns the stored message, or nil. The caller holds s.mu.
func (s *Server) findLocked(channel, ts string) *Message {
	for _, m := range s.messages[channel] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

func (m *Message) clone() Message {
	c := *m
	c.Blocks = slices.Clone(m.Blocks)
	c.History = make([]Message, len(m.History))
	for i, h := range m.History {
		h.Blocks = slices.Clone(h.Blocks)
		c.History[i] = h
	}
	if len(c.History) == 0 {
		c.History = nil
	}
	return c
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
