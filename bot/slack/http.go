package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
)

// maxSkew is how far a request's timestamp may be from now (Slack's own
// advice), so that a captured request cannot be replayed later.
const maxSkew = 5 * time.Minute

// Commands serves POST /slack/commands: slash commands in HTTP mode.
func (a *Adapter) Commands() http.Handler {
	return a.verified("command", func(w http.ResponseWriter, r *http.Request, form url.Values) {
		cmd := slackapi.SlashCommand{
			Command: form.Get("command"), Text: form.Get("text"), UserID: form.Get("user_id"),
			ChannelID: form.Get("channel_id"), ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"),
			TeamID: form.Get("team_id"),
		}
		if cmd.UserID == "" || cmd.Command == "" {
			http.Error(w, "missing command or user_id", http.StatusBadRequest)
			return
		}
		if !a.slashCommand(r.Context(), cmd) {
			// Slack shows a slash command's plain-text answer to its user.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, foreignText)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// Interactions serves POST /slack/interactions: clicks and modal
// submissions in HTTP mode.
func (a *Adapter) Interactions() http.Handler {
	return a.verified("interaction", func(w http.ResponseWriter, r *http.Request, form url.Values) {
		var cb slackapi.InteractionCallback
		if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
			http.Error(w, "payload: not an interaction", http.StatusBadRequest)
			return
		}
		resp := a.interaction(r.Context(), cb)
		if resp == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	})
}

// verified checks a request's size and Slack signature, answers 401 (or
// 413) and audits chat.refused when they fail, and otherwise hands the
// form to next, timing the acknowledgement.
func (a *Adapter) verified(kind string, next func(http.ResponseWriter, *http.Request, url.Values)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBody))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.refuseHTTP(r, "oversized", fmt.Sprintf("body over %d bytes", a.cfg.MaxBody))
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil {
			http.Error(w, "could not read the request body", http.StatusBadRequest)
			return
		}
		if reason := a.checkSignature(r.Header, body); reason != "" {
			// Never say more than "unauthorized": details would help forgers.
			a.refuseHTTP(r, reason, "")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, "body: not form-encoded", http.StatusBadRequest)
			return
		}
		next(w, r, form)
		a.m.ack("http", kind, time.Since(start))
	})
}

// checkSignature returns why the request is not signed by Slack with the
// signing secret, or "" when it is.
func (a *Adapter) checkSignature(h http.Header, body []byte) string {
	sig, ts := h.Get("X-Slack-Signature"), h.Get("X-Slack-Request-Timestamp")
	if sig == "" || ts == "" {
		return "unsigned"
	}
	if a.cfg.SigningSecret == "" {
		return "no signing secret configured"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "bad timestamp"
	}
	if d := a.cfg.Now().Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return "stale timestamp"
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "v0="))
	if err != nil || !strings.HasPrefix(sig, "v0=") {
		return "bad signature"
	}
	mac := hmac.New(sha256.New, []byte(a.cfg.SigningSecret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return "bad signature"
	}
	return ""
}

// refuseHTTP audits a refused HTTP-mode request as chat.refused.
func (a *Adapter) refuseHTTP(r *http.Request, reason, detail string) {
	d := map[string]any{"path": r.URL.Path, "remote": r.RemoteAddr}
	if detail != "" {
		d["detail"] = detail
	}
	a.refuse(r.Context(), reason, d)
}

// refuse audits a refused request as chat.refused with detail; floods of
// them are only counted, so that forged requests cannot fill the audit
// trail. The record is written even when ctx ends (a client that hangs
// up must not escape it).
func (a *Adapter) refuse(ctx context.Context, reason string, detail map[string]any) {
	a.log.Warn("slack request refused", "reason", reason, "detail", detail)
	suppressed, ok := a.limit.Allow(time.Now())
	if !ok {
		return
	}
	if suppressed > 0 {
		detail["suppressed_before"] = suppressed
	}
	if err := a.bot.RefuseChat(context.WithoutCancel(ctx), reason, detail); err != nil {
		a.log.Error("audit refused slack request", "err", err)
	}
}

// refusalsPerMinute bounds the chat.refused records written a minute.
const refusalsPerMinute = 20
