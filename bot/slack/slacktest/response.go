package slacktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Slack's limits on a response_url: a few posts, within half an hour.
const (
	ResponseURLUses     = 5
	ResponseURLLifetime = 30 * time.Minute
)

// serveResponse accepts a reply POSTed to a ResponseURL, as Slack's
// hooks.slack.com does: a JSON message, answered {"ok":true}; a used up
// or expired URL gets 404 used_url or expired_url.
func (s *Server) serveResponse(w http.ResponseWriter, r *http.Request) {
	id, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/response/"))
	if err != nil {
		http.Error(w, "invalid_token", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method_not_allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	var msg struct {
		Text            string          `json:"text"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal any             `json:"replace_original"`
		DeleteOriginal  any             `json:"delete_original"`
		Blocks          json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if string(msg.Blocks) == "null" {
		msg.Blocks = nil
	}

	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	if code := s.spendResponseURLLocked(id); code != "" {
		s.mu.Unlock()
		http.Error(w, code, http.StatusNotFound)
		return
	}
	s.responses = append(s.responses, Response{
		ID:              id,
		Body:            body,
		Text:            msg.Text,
		ResponseType:    msg.ResponseType,
		ReplaceOriginal: truthy(msg.ReplaceOriginal),
		DeleteOriginal:  truthy(msg.DeleteOriginal),
		Blocks:          msg.Blocks,
		At:              s.opts.Now(),
	})
	s.notifyLocked()
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// spendResponseURLLocked counts a post to response_url id, or returns
// why Slack refuses it. The caller holds s.mu.
func (s *Server) spendResponseURLLocked(id string) string {
	now := s.opts.Now()
	issued, ok := s.issued[id]
	if !ok { // built by hand, not by ResponseURL: its life starts now
		issued, s.issued[id] = now, now
	}
	switch {
	case now.Sub(issued) >= ResponseURLLifetime:
		return "expired_url"
	case s.used[id] >= ResponseURLUses:
		return "used_url"
	}
	s.used[id]++
	return ""
}

// truthy reads a flag Slack accepts as a JSON boolean or the string "true".
func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}
