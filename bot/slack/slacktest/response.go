package slacktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// serveResponse accepts a reply POSTed to a ResponseURL, as Slack's
// hooks.slack.com does: a JSON message, answered {"ok":true}.
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
