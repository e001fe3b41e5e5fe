package slacktest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// method is one Web API method the fake serves.
type method struct {
	token string                  // "bot" or "app": the token kind it takes
	scope func(url.Values) string // the scope it needs for these params, "" for none
	// serve runs the method under s.mu and returns the answer's fields, or
	// an error code (with optional extra fields).
	serve func(form url.Values) (reply, string)
}

// reply is the body of a Web API answer without "ok" and "error".
type reply map[string]any

// answer is what the server writes back for one Web API call.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (s *Server) methods() map[string]method {
	needs := func(scope string) func(url.Values) string {
		return func(url.Values) string { return scope }
	}
	return map[string]method{
		"auth.test":             {token: "bot", scope: needs(""), serve: s.authTest},
		"chat.postMessage":      {token: "bot", scope: needs("chat:write"), serve: s.postMessage},
		"chat.update":           {token: "bot", scope: needs("chat:write"), serve: s.updateMessage},
		"chat.postEphemeral":    {token: "bot", scope: needs("chat:write"), serve: s.postEphemeral},
		"views.open":            {token: "bot", scope: needs(""), serve: s.openView},
		"usergroups.users.list": {token: "bot", scope: needs("usergroups:read"), serve: s.usergroupUsers},
		"conversations.info":    {token: "bot", scope: conversationScope, serve: s.conversationInfo},
		"apps.connections.open": {token: "app", scope: needs("connections:write"), serve: s.openConnection},
	}
}

// serveAPI answers POST (or GET) /api/<method> the way Slack does: HTTP 200
// with {"ok":...} for everything but injected faults.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/api/")
	form, formErr := readParams(r)
	token := ""
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = strings.TrimSpace(auth)
	} else {
		token = form.Get("token")
	}

	s.mu.Lock()
	call := Call{Method: name, Token: s.tokenKindLocked(token), Form: form, At: s.opts.Now()}
	a := s.answerLocked(&call, token, formErr)
	s.calls = append(s.calls, call)
	s.notifyLocked()
	s.mu.Unlock()

	for k, vs := range a.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// answerLocked decides the answer to call and fills in its outcome. The
// caller holds s.mu.
func (s *Server) answerLocked(call *Call, token, formErr string) answer {
	if s.down {
		call.Status = http.StatusServiceUnavailable
		return textAnswer(http.StatusServiceUnavailable)
	}
	if f, ok := s.takeFaultLocked(call.Method); ok {
		switch {
		case f.code != "":
			return jsonAnswer(call, nil, f.code, nil)
		case f.status == http.StatusTooManyRequests:
			a := jsonAnswer(call, nil, "ratelimited", nil)
			a.status, call.Status = f.status, f.status
			a.header.Set("Retry-After", strconv.FormatInt(retryAfterSeconds(f.retryAfter), 10))
			return a
		default:
			call.Status = f.status
			return textAnswer(f.status)
		}
	}
	m, ok := s.api[call.Method]
	switch {
	case !ok:
		return jsonAnswer(call, nil, "unknown_method", nil)
	case formErr != "":
		return jsonAnswer(call, nil, formErr, nil)
	case token == "":
		return jsonAnswer(call, nil, "not_authed", nil)
	case call.Token == "":
		return jsonAnswer(call, nil, "invalid_auth", nil)
	}
	scopes := s.opts.BotScopes
	if call.Token == "app" {
		scopes = s.opts.AppScopes
	}
	header := http.Header{"X-Oauth-Scopes": {strings.Join(scopes, ",")}}
	if call.Token != m.token {
		return jsonAnswer(call, header, "not_allowed_token_type", nil)
	}
	if needed := m.scope(call.Form); needed != "" {
		header.Set("X-Accepted-Oauth-Scopes", needed)
		if !slices.Contains(scopes, needed) {
			return jsonAnswer(call, header, "missing_scope", reply{"needed": needed, "provided": strings.Join(scopes, ",")})
		}
	}
	fields, code := m.serve(call.Form)
	return jsonAnswer(call, header, code, fields)
}

// jsonAnswer renders an HTTP 200 Web API answer: ok with fields when code
// is "", else the error code with fields as extras.
func jsonAnswer(call *Call, header http.Header, code string, fields reply) answer {
	body := make(map[string]any, len(fields)+2)
	for k, v := range fields {
		body[k] = v
	}
	body["ok"] = code == ""
	if code != "" {
		body["error"] = code
	}
	b, err := json.Marshal(body)
	if err != nil {
		// Only our own reply values are marshalled; failing here is a bug.
		panic("slacktest: marshal web api answer: " + err.Error())
	}
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Type", "application/json; charset=utf-8")
	call.Status, call.OK, call.Error = http.StatusOK, code == "", code
	return answer{status: http.StatusOK, header: header, body: b}
}

// textAnswer is the non-JSON body Slack's edge sends with 5xx and friends.
func textAnswer(status int) answer {
	return answer{
		status: status,
		header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		body:   []byte(http.StatusText(status) + "\n"),
	}
}

// tokenKindLocked names the configured token tok is, or "". The caller
// holds s.mu.
func (s *Server) tokenKindLocked(tok string) string {
	switch tok {
	case "":
		return ""
	case s.opts.BotToken:
		return "bot"
	case s.opts.AppToken:
		return "app"
	}
	return ""
}

// readParams merges the query with the body, which may be a form or a JSON
// object as slack-go sends. It returns Slack's error code for a body it
// cannot read, else "".
func readParams(r *http.Request) (url.Values, string) {
	vals := r.URL.Query()
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return vals, "invalid_form_data"
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ctype {
	case "application/json":
		if len(bytes.TrimSpace(body)) == 0 {
			return vals, ""
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			return vals, "invalid_json"
		}
		for k, raw := range fields {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				vals.Add(k, str)
			} else {
				vals.Add(k, string(raw))
			}
		}
	case "", "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return vals, "invalid_form_data"
		}
		for k, vs := range form {
			vals[k] = append(vals[k], vs...)
		}
	default:
		return vals, "invalid_form_data"
	}
	return vals, ""
}
