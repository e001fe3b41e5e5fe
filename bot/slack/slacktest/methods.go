package slacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// The serve functions below run under s.mu, called by answerLocked.

func (s *Server) authTest(url.Values) (reply, string) {
	return reply{
		"url":                   "https://slacktest.slack.com/",
		"team":                  "slacktest",
		"user":                  "countersign",
		"team_id":               s.opts.TeamID,
		"user_id":               s.opts.BotUserID,
		"bot_id":                s.opts.BotID,
		"is_enterprise_install": false,
	}, ""
}

func (s *Server) postMessage(form url.Values) (reply, string) {
	ch := form.Get("channel")
	if code := s.checkChannelLocked(ch, s.canPostPublicLocked(ch)); code != "" {
		return nil, code
	}
	blocks, code := formBlocks(form)
	if code != "" {
		return nil, code
	}
	text := form.Get("text")
	if text == "" && blocks == nil && form.Get("attachments") == "" {
		return nil, "no_text"
	}
	if code := checkSize(text, blocks); code != "" {
		return nil, code
	}
	m := &Message{Channel: ch, TS: s.nextTSLocked(), ThreadTS: form.Get("thread_ts"), Text: text, Blocks: blocks}
	s.messages[ch] = append(s.messages[ch], m)
	return reply{"channel": ch, "ts": m.TS, "message": s.messageJSON(m)}, ""
}

func (s *Server) updateMessage(form url.Values) (reply, string) {
	ch, ts := form.Get("channel"), form.Get("ts")
	if code := s.checkChannelLocked(ch, true); code != "" {
		return nil, code
	}
	m := s.findLocked(ch, ts)
	if m == nil {
		return nil, "message_not_found"
	}
	blocks, code := formBlocks(form)
	if code != "" {
		return nil, code
	}
	_, hasText := form["text"]
	_, hasBlocks := form["blocks"]
	if !hasText && !hasBlocks && form.Get("attachments") == "" {
		return nil, "no_text"
	}
	if code := checkSize(form.Get("text"), blocks); code != "" {
		return nil, code
	}
	next := *m
	if hasText {
		next.Text = form.Get("text")
	}
	if hasBlocks {
		next.Blocks = blocks
	}
	if next.Text != m.Text || !sameJSON(next.Blocks, m.Blocks) {
		prev := m.clone()
		prev.History, prev.Updates = nil, 0
		m.History = append(m.History, prev)
		m.Text, m.Blocks = next.Text, next.Blocks
		m.Updates++
	}
	return reply{"channel": ch, "ts": m.TS, "text": m.Text, "message": s.messageJSON(m)}, ""
}

func (s *Server) postEphemeral(form url.Values) (reply, string) {
	ch, user := form.Get("channel"), form.Get("user")
	if code := s.checkChannelLocked(ch, false); code != "" {
		return nil, code
	}
	if user == "" {
		return nil, "user_not_found"
	}
	blocks, code := formBlocks(form)
	if code != "" {
		return nil, code
	}
	text := form.Get("text")
	if text == "" && blocks == nil && form.Get("attachments") == "" {
		return nil, "no_text"
	}
	if code := checkSize(text, blocks); code != "" {
		return nil, code
	}
	e := Ephemeral{Channel: ch, User: user, TS: s.nextTSLocked(), ThreadTS: form.Get("thread_ts"), Text: text, Blocks: blocks}
	s.ephemerals = append(s.ephemerals, e)
	return reply{"message_ts": e.TS}, ""
}

func (s *Server) openView(form url.Values) (reply, string) {
	trigger := form.Get("trigger_id")
	if trigger == "" {
		return nil, "invalid_trigger_id"
	}
	raw := json.RawMessage(form.Get("view"))
	var view map[string]any
	if err := json.Unmarshal(raw, &view); err != nil || view == nil {
		return nil, "invalid_arguments"
	}
	id := fmt.Sprintf("V%08d", len(s.views)+1)
	s.views = append(s.views, View{ID: id, TriggerID: trigger, View: slices.Clone(raw)})
	view["id"] = id
	view["team_id"] = s.opts.TeamID
	view["app_id"] = s.opts.AppID
	view["bot_id"] = s.opts.BotID
	view["app_installed_team_id"] = s.opts.TeamID
	view["root_view_id"] = id
	view["previous_view_id"] = nil
	view["hash"] = "1700000000." + randomID(4)
	view["state"] = map[string]any{"values": map[string]any{}}
	return reply{"view": view}, ""
}

func (s *Server) usergroupUsers(form url.Values) (reply, string) {
	users, ok := s.opts.Usergroups[form.Get("usergroup")]
	if !ok {
		return nil, "no_such_subteam"
	}
	return reply{"users": append([]string{}, users...)}, ""
}

// conversationScope is the read scope conversations.info needs for the
// kind of channel asked about, told by its ID's first letter.
func conversationScope(form url.Values) string {
	switch ch := form.Get("channel"); {
	case strings.HasPrefix(ch, "G"):
		return "groups:read"
	case strings.HasPrefix(ch, "D"):
		return "im:read"
	}
	return "channels:read"
}

func (s *Server) conversationInfo(form url.Values) (reply, string) {
	ch := form.Get("channel")
	if ch == "" {
		return nil, "channel_not_found"
	}
	member := true
	if s.opts.Members != nil {
		var ok bool
		if member, ok = s.opts.Members[ch]; !ok {
			return nil, "channel_not_found"
		}
	}
	return reply{"channel": map[string]any{
		"id":         ch,
		"is_member":  member,
		"is_channel": strings.HasPrefix(ch, "C"),
		"is_group":   strings.HasPrefix(ch, "G"),
		"is_im":      strings.HasPrefix(ch, "D"),
		"is_private": !strings.HasPrefix(ch, "C"),
	}}, ""
}

func (s *Server) openConnection(url.Values) (reply, string) {
	ticket := randomID(16)
	s.tickets[ticket] = false
	q := url.Values{"ticket": {ticket}, "app_id": {s.opts.AppID}}
	return reply{"url": "wss://" + s.ts.Listener.Addr().String() + "/link/?" + q.Encode()}, ""
}

// checkChannelLocked returns Slack's error for posting in ch, or "".
// nonMemberOK skips the membership check, for chat:write.public and edits.
func (s *Server) checkChannelLocked(ch string, nonMemberOK bool) string {
	if ch == "" {
		return "channel_not_found"
	}
	if s.opts.Members == nil {
		return ""
	}
	member, ok := s.opts.Members[ch]
	switch {
	case !ok:
		return "channel_not_found"
	case !member && !nonMemberOK:
		return "not_in_channel"
	}
	return ""
}

// canPostPublicLocked reports whether chat:write.public lets the bot post
// in ch without joining it, as Slack allows for public channels.
func (s *Server) canPostPublicLocked(ch string) bool {
	return strings.HasPrefix(ch, "C") && slices.Contains(s.opts.BotScopes, "chat:write.public")
}

// messageJSON is the "message" object Slack returns from chat.postMessage
// and chat.update.
func (s *Server) messageJSON(m *Message) map[string]any {
	out := map[string]any{
		"type":   "message",
		"user":   s.opts.BotUserID,
		"bot_id": s.opts.BotID,
		"team":   s.opts.TeamID,
		"text":   m.Text,
		"ts":     m.TS,
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.Blocks != nil {
		out["blocks"] = json.RawMessage(slices.Clone(m.Blocks))
	}
	return out
}

// formBlocks reads the blocks form field, a JSON array sent as a string.
// An empty array, slack-go's way of clearing blocks, gives nil.
func formBlocks(form url.Values) (json.RawMessage, string) {
	raw := strings.TrimSpace(form.Get("blocks"))
	if raw == "" {
		return nil, ""
	}
	var blocks []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return nil, "invalid_blocks"
	}
	if len(blocks) == 0 {
		return nil, ""
	}
	return json.RawMessage(raw), ""
}

// Slack's limits on a message's size, in characters.
const (
	MaxText       = 40000 // the text argument: msg_too_long beyond
	MaxBlockText  = 12000 // every text in the blocks together: msg_blocks_too_long beyond
	MaxBlocks     = 50    // blocks in a message: invalid_blocks beyond
	MaxBlockChars = 3000  // one section's or context element's text: invalid_blocks beyond
)

// checkSize returns Slack's error for a message too long to take, or "".
// Slack counts the blocks' texts together as well as one by one: a
// message can break the total with every block inside its own limit.
func checkSize(text string, blocks json.RawMessage) string {
	if utf8.RuneCountInString(text) > MaxText {
		return "msg_too_long"
	}
	if blocks == nil {
		return ""
	}
	var list []any
	if json.Unmarshal(blocks, &list) != nil {
		return "invalid_blocks"
	}
	if len(list) > MaxBlocks {
		return "invalid_blocks"
	}
	total, tooLong := 0, false
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if t, ok := e.(string); ok && k == "text" {
					n := utf8.RuneCountInString(t)
					total += n
					tooLong = tooLong || n > MaxBlockChars
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(list)
	switch {
	case tooLong:
		return "invalid_blocks"
	case total > MaxBlockText:
		return "msg_blocks_too_long"
	}
	return ""
}

func sameJSON(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
