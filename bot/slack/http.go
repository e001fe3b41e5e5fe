package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/countersign/countersign/bot"
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
// 413, or 503 when unverified bodies hold the whole body budget) and
// audits chat.refused when they fail, and otherwise hands the form to
// next, timing the acknowledgement. The headers are checked before the
// body is read, and the body is hashed as it is read.
func (a *Adapter) verified(kind string, next func(http.ResponseWriter, *http.Request, url.Values)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if r.ContentLength > a.cfg.MaxBody {
			a.refuseOversized(w, r)
			return
		}
		mac, sig, reason := a.signatureHeaders(r.Header)
		if reason != "" {
			a.refuseUnauthorized(w, r, reason)
			return
		}
		body, err := a.bodies.Read(http.MaxBytesReader(w, r.Body, a.cfg.MaxBody), r.ContentLength, mac)
		var tooBig *http.MaxBytesError
		switch {
		case errors.Is(err, bot.ErrBodyBudget):
			a.refuseHTTP(r, "busy", "too many unverified bodies in flight")
			w.Header().Set("Retry-After", bot.BusyRetryAfter)
			http.Error(w, "busy; try again later", http.StatusServiceUnavailable)
			return
		case errors.As(err, &tooBig):
			a.refuseOversized(w, r)
			return
		case err != nil:
			http.Error(w, "could not read the request body", http.StatusBadRequest)
			return
		}
		defer body.Release()
		if !hmac.Equal(sig, mac.Sum(nil)) {
			body.Release()
			a.refuseUnauthorized(w, r, "bad signature")
			return
		}
		form, err := url.ParseQuery(string(body.Bytes))
		body.Release()
		if err != nil {
			http.Error(w, "body: not form-encoded", http.StatusBadRequest)
			return
		}
		next(w, r, form)
		a.m.ack("http", kind, time.Since(start))
	})
}

func (a *Adapter) refuseOversized(w http.ResponseWriter, r *http.Request) {
	a.refuseHTTP(r, "oversized", fmt.Sprintf("body over %d bytes", a.cfg.MaxBody))
	http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
}

func (a *Adapter) refuseUnauthorized(w http.ResponseWriter, r *http.Request, reason string) {
	a.refuseHTTP(r, reason, "")
	// Never say more than "unauthorized": details would help forgers.
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// signatureHeaders checks what can be checked of a request's Slack
// signature before its body is read: it returns the MAC to write the body
// into and the signature to compare it with, or why the request cannot
// be signed by Slack with the signing secret.
func (a *Adapter) signatureHeaders(h http.Header) (mac hash.Hash, sig []byte, reason string) {
	v, ts := h.Get("X-Slack-Signature"), h.Get("X-Slack-Request-Timestamp")
	if v == "" || ts == "" {
		return nil, nil, "unsigned"
	}
	secret := *a.signing.Load()
	if secret == "" {
		return nil, nil, "no signing secret configured"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, nil, "bad timestamp"
	}
	if d := a.cfg.Now().Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return nil, nil, "stale timestamp"
	}
	hexSig, ok := strings.CutPrefix(v, "v0=")
	if sig, err = hex.DecodeString(hexSig); err != nil || !ok {
		return nil, nil, "bad signature"
	}
	mac = hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	return mac, sig, ""
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
