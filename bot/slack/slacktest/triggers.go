package slacktest

import (
	"encoding/json"
	"net/url"
	"slices"
	"time"
)

// TriggerLifetime is how long Slack accepts an interaction's trigger_id
// for views.open: three seconds.
const TriggerLifetime = 3 * time.Second

// triggerClock is the server's own clock for trigger_ids: Options.Now
// plus the time Slow calls took, so that a test can make a call slow
// without waiting for it.
type triggerClock struct {
	issued map[string]time.Time // trigger_id → when Trigger made it
	lag    time.Duration
	slow   []*slowCall
}

type slowCall struct {
	method string
	left   int
	took   time.Duration
}

// Trigger returns a fresh trigger_id, as Slack puts in an interaction,
// that views.open accepts for [TriggerLifetime] of the server's clock and
// then refuses with expired_trigger_id. trigger_ids the server did not
// make are accepted whenever they come.
func (s *Server) Trigger() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "trigger." + randomID(12)
	if s.trig.issued == nil {
		s.trig.issued = map[string]time.Time{}
	}
	s.trig.issued[id] = s.triggerNowLocked()
	return id
}

// Slow makes the next n calls of the Web API method take d on the
// server's clock, as a slow answer would (the real clock does not move):
// a trigger_id made before expires accordingly.
func (s *Server) Slow(method string, n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trig.slow = append(s.trig.slow, &slowCall{method: method, left: n, took: d})
}

func (s *Server) triggerNowLocked() time.Time { return s.opts.Now().Add(s.trig.lag) }

// tookLocked moves the server's clock on by what a Slow call of method
// takes. The caller holds s.mu.
func (s *Server) tookLocked(method string) {
	for i, c := range s.trig.slow {
		if c.method != method {
			continue
		}
		s.trig.lag += c.took
		if c.left--; c.left == 0 {
			s.trig.slow = slices.Delete(s.trig.slow, i, i+1)
		}
		return
	}
}

// withTriggers makes every method count its Slow time, views.open refuse
// an expired trigger_id, and adds views.update.
func (s *Server) withTriggers(api map[string]method) map[string]method {
	for name, m := range api {
		serve := m.serve
		m.serve = func(form url.Values) (reply, string) {
			s.tookLocked(name)
			if name == "views.open" {
				if at, ok := s.trig.issued[form.Get("trigger_id")]; ok && s.triggerNowLocked().Sub(at) > TriggerLifetime {
					return nil, "expired_trigger_id"
				}
			}
			return serve(form)
		}
		api[name] = m
	}
	api["views.update"] = method{token: "bot", scope: func(url.Values) string { return "" }, serve: s.updateView}
	return api
}

// updateView answers views.update: the view opened as view_id, or with
// external_id, is replaced.
func (s *Server) updateView(form url.Values) (reply, string) {
	id, ext := form.Get("view_id"), form.Get("external_id")
	i := slices.IndexFunc(s.views, func(v View) bool {
		var sent struct {
			ExternalID string `json:"external_id"`
		}
		_ = json.Unmarshal(v.View, &sent)
		return id != "" && v.ID == id || id == "" && ext != "" && sent.ExternalID == ext
	})
	if i < 0 {
		return nil, "not_found"
	}
	id = s.views[i].ID
	raw := json.RawMessage(form.Get("view"))
	var view map[string]any
	if err := json.Unmarshal(raw, &view); err != nil || view == nil {
		return nil, "invalid_arguments"
	}
	s.views[i].View = slices.Clone(raw)
	view["id"] = id
	view["hash"] = "1700000001." + randomID(4)
	return reply{"view": view}, ""
}
