package github

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	gh "github.com/google/go-github/v60/github"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Intake is what the webhook hands verified deliveries to, and where it
// audits the ones it refuses. *bot.Bot implements it. Implementations
// must be safe for concurrent use; an error means the store failed.
type Intake interface {
	// HandlePush records the push (deduplicated by its Delivery) and
	// starts the deploy threads of the services that follow its branch.
	HandlePush(ctx context.Context, p bot.Push) (bot.PushResult, error)
	// WebhookIgnored audits an acknowledged, ignored delivery; a
	// delivery ID seen before is a duplicate and is not audited again.
	WebhookIgnored(ctx context.Context, d bot.Delivery, reason string) (duplicate bool, err error)
	// WebhookRefused audits a delivery refused before it was read.
	WebhookRefused(ctx context.Context, d bot.Delivery, reason string) error
}

var _ Intake = (*bot.Bot)(nil)

// ErrNoSecret is returned by NewWebhook when no webhook secret is
// configured: the intake fails closed and must not start.
var ErrNoSecret = errors.New("github webhook: no secret configured")

// DefaultMaxBody is GitHub's own cap on a delivery's payload.
const DefaultMaxBody = 25 << 20

// WebhookOptions are the tunables of a Webhook; the zero value is fine.
type WebhookOptions struct {
	// MaxBody caps a delivery's body (default DefaultMaxBody); larger
	// ones are answered 413 and audited as refused.
	MaxBody int64
	// Logger receives refusals, deliveries without an ID and store
	// failures; nil discards.
	Logger *slog.Logger
	// Now is the clock of the refusal rate limit (default time.Now).
	Now func() time.Time
	// Bodies bounds the memory that bodies not yet verified hold at once
	// (default: a budget of bot.DefaultBodyBudget of the webhook's own);
	// a delivery that does not fit is answered 503 at once. Its Size must
	// be at least MaxBody.
	Bodies *bot.BodyBudget
}

// Webhook serves POST /webhooks/github. It verifies each delivery's
// X-Hub-Signature-256 with the secret (never SHA-1, never unsigned),
// turns pushes into bot.Push for the Intake (pull requests and
// deployment protection rules for the intakes of pullrequest.go and
// gate.go) and audits everything else as ignored or refused. It answers once the delivery is recorded (one
// store write); the deploy work runs after. Safe for concurrent use.
//
// Responses: 200 for a recorded, ignored or duplicate delivery, 400 for
// a signed delivery that is not a valid payload, 401 for a missing or
// wrong signature, 405 for a method other than POST, 413 for an
// oversized body, 503 when the store failed (GitHub may redeliver;
// deduplication by delivery ID makes that safe) or, with Retry-After,
// when unverified bodies already hold the whole memory budget.
//
// The body is hashed as it is read, within the budget, so that whatever
// unauthenticated clients send, their bodies hold at most Bodies' bytes.
type Webhook struct {
	// secret is the webhook secret in force: SetSecret replaces it.
	secret  atomic.Pointer[[]byte]
	in      Intake
	maxBody int64
	log     *slog.Logger
	now     func() time.Time
	limit   *bot.RefusalLimiter
	bodies  *bot.BodyBudget
}

// NewWebhook returns the intake for deliveries signed with secret. An
// empty secret returns ErrNoSecret: an unsigned intake is never served.
func NewWebhook(secret string, in Intake, opts WebhookOptions) (*Webhook, error) {
	if secret == "" {
		return nil, ErrNoSecret
	}
	if in == nil {
		return nil, errors.New("github webhook: no intake")
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Bodies == nil {
		opts.Bodies = &bot.BodyBudget{}
	}
	if opts.Bodies.Size() < opts.MaxBody {
		return nil, fmt.Errorf("github webhook: the body budget (%d bytes) is smaller than the body cap (%d bytes)", opts.Bodies.Size(), opts.MaxBody)
	}
	h := &Webhook{in: in, maxBody: opts.MaxBody, log: opts.Logger, now: opts.Now,
		limit: &bot.RefusalLimiter{Max: hookRefusalsPerMinute}, bodies: opts.Bodies}
	h.SetSecret(secret)
	return h, nil
}

// SetSecret replaces the secret deliveries must be signed with (a config
// reload): from now on a delivery signed with the old one is refused.
// An empty secret refuses every delivery (fail closed).
func (h *Webhook) SetSecret(secret string) {
	b := []byte(secret)
	h.secret.Store(&b)
}

// currentSecret is the secret in force; nil when there is none.
func (h *Webhook) currentSecret() []byte {
	if p := h.secret.Load(); p != nil {
		return *p
	}
	return nil
}

// ServeHTTP handles one delivery.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The headers are not covered by the signature: clip them so that a
	// forger cannot write long strings into the audit trail or the store.
	d := bot.Delivery{ID: hookClip(r.Header.Get("X-GitHub-Delivery")), Event: hookClip(r.Header.Get("X-GitHub-Event")), Remote: r.RemoteAddr}
	secret := h.currentSecret()
	if len(secret) == 0 || h.in == nil {
		// A Webhook not made by NewWebhook, or whose secret a reload
		// removed: nothing to verify with, nowhere to audit.
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if r.ContentLength > h.maxBody {
		h.refuseOversized(w, r, d)
		return
	}
	// Decide what can be decided from the headers before reading up to
	// MaxBody of a body that could never verify.
	sig, reason := hookSignature(r.Header)
	if reason != "" {
		h.refuseUnauthorized(w, r, d, reason)
		return
	}
	mac := hmac.New(sha256.New, secret)
	body, err := h.bodies.Read(http.MaxBytesReader(w, r.Body, h.maxBody), r.ContentLength, mac)
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, bot.ErrBodyBudget):
		h.refuseBusy(w, r, d)
		return
	case errors.As(err, &tooBig):
		h.refuseOversized(w, r, d)
		return
	case err != nil:
		h.log.Warn("read github delivery", "delivery", d.ID, "event", d.Event, "remote", d.Remote, "err", err)
		http.Error(w, "could not read the request body", http.StatusBadRequest)
		return
	}
	defer body.Release()
	if !hmac.Equal(sig, mac.Sum(nil)) {
		body.Release()
		h.refuseUnauthorized(w, r, d, "bad signature")
		return
	}
	if d.ID == "" {
		h.log.Warn("github delivery without X-GitHub-Delivery: it cannot be deduplicated", "event", d.Event, "remote", d.Remote)
	}
	// The verified MAC names the payload: the same body again, under
	// whatever delivery ID, has the same one.
	d.Payload = hex.EncodeToString(sig)
	status, text := h.deliver(r.Context(), d, r.Header.Get("Content-Type"), body.Bytes)
	body.Release()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, text+"\n")
}

// deliver handles a verified delivery and returns the response.
func (h *Webhook) deliver(ctx context.Context, d bot.Delivery, contentType string, body []byte) (int, string) {
	payload, err := hookPayload(contentType, body)
	if err != nil {
		return h.malformed(ctx, d, err)
	}
	switch d.Event {
	case "push":
		return h.push(ctx, d, payload)
	case "pull_request":
		return h.pullRequest(ctx, d, payload)
	case "deployment_protection_rule":
		return h.deploymentGate(ctx, d, payload)
	case "deployment_status":
		return h.deploymentStatus(ctx, d, payload)
	case "ping":
		ev, err := gh.ParseWebHook("ping", payload)
		if err != nil {
			return h.malformed(ctx, d, err)
		}
		ping := ev.(*gh.PingEvent)
		d.Repo, d.Sender = hookName(ping.GetRepo().GetFullName()), hookName(ping.GetSender().GetLogin())
		return h.ignore(ctx, d, "ping", http.StatusOK)
	case "":
		return h.ignore(ctx, d, "no event type", http.StatusOK)
	default:
		// Not parsed by go-github: only what the audit record names.
		var env struct {
			Repository struct {
				FullName string `json:"full_name"`
			} `json:"repository"`
			Sender struct {
				Login string `json:"login"`
			} `json:"sender"`
		}
		if err := json.Unmarshal(payload, &env); err != nil {
			return h.malformed(ctx, d, err)
		}
		d.Repo, d.Sender = hookName(env.Repository.FullName), hookName(env.Sender.Login)
		return h.ignore(ctx, d, "event "+d.Event+" not handled", http.StatusOK)
	}
}

// repoEvent is a webhook event of go-github's that names its repository
// and sender.
type repoEvent interface {
	GetRepo() *gh.Repository
	GetSender() *gh.User
}

// hookEvent parses payload as GitHub's event name into E, and names the
// delivery's repository and sender from it; it returns the repository's
// full name, uncut.
func hookEvent[E repoEvent](name string, payload []byte, d *bot.Delivery) (ev E, repo string, err error) {
	parsed, err := gh.ParseWebHook(name, payload)
	if err != nil {
		return ev, "", err
	}
	ev = parsed.(E)
	repo = ev.GetRepo().GetFullName()
	d.Repo, d.Sender = hookName(repo), hookName(ev.GetSender().GetLogin())
	return ev, repo, nil
}

// push turns a push delivery into a bot.Push, or says why it is ignored.
func (h *Webhook) push(ctx context.Context, d bot.Delivery, payload []byte) (int, string) {
	var ev pushPayload
	if err := ev.decode(payload); err != nil {
		return h.malformed(ctx, d, err)
	}
	repo := ev.Repository.FullName
	d.Repo, d.Sender = hookName(repo), hookName(ev.Sender.Login)
	pusher := hookName(ev.Pusher.Name)
	if pusher == "" {
		pusher = d.Sender
	}
	if d.Sender == "" {
		d.Sender = pusher
	}
	ref := ev.Ref
	if repo == "" || ref == "" {
		return h.malformed(ctx, d, errors.New("no repository.full_name or ref"))
	}
	// Names that select the services are refused rather than cut: a cut
	// one would name something else.
	if len(repo) > hookMaxName || len(ref) > hookMaxRef {
		return h.malformed(ctx, d, fmt.Errorf("repository.full_name or ref %q… longer than GitHub allows", hookClip(ref)))
	}
	branch, isBranch := strings.CutPrefix(ref, "refs/heads/")
	switch {
	case strings.HasPrefix(ref, "refs/tags/"):
		return h.ignore(ctx, d, "tag push", http.StatusOK)
	case !isBranch || branch == "":
		return h.ignore(ctx, d, "ref "+hookClip(ref)+" is not a branch", http.StatusOK)
	case ev.Deleted || hookZeroSHA(ev.After):
		return h.ignore(ctx, d, "branch deleted", http.StatusOK)
	case ev.HeadCommit == nil:
		return h.ignore(ctx, d, "no head commit", http.StatusOK)
	}
	p, err := hookPush(&ev, branch, pusher, d)
	if err != nil {
		return h.malformed(ctx, d, err)
	}
	res, err := h.in.HandlePush(ctx, p)
	if err != nil {
		return h.storeFailed(d, err)
	}
	return pushAnswer(res)
}

// hookPush is the bot.Push of a push event to branch, whose head commit
// is there; it refuses commit hashes that are not.
func hookPush(ev *pushPayload, branch, pusher string, d bot.Delivery) (bot.Push, error) {
	hc := ev.HeadCommit
	// Only the title of the message is kept, and only so much of it: a
	// commit message can be megabytes.
	title, _, _ := strings.Cut(hc.Message, "\n")
	link := hc.URL
	if len(link) > hookMaxURL {
		link = "" // a cut address leads nowhere
	}
	p := bot.Push{
		Repo: ev.Repository.FullName, Branch: branch,
		SHA: hc.ID, Before: ev.Before,
		Pusher: pusher, Author: hookName(hc.Author.Username),
		Title: cs.Clip(strings.TrimSuffix(title, "\r"), bot.MaxCommitTitle), URL: link, Delivery: d.ID,
		Payload: d.Payload,
	}
	if p.Before != "" && !hookIsSHA(p.Before) {
		return p, fmt.Errorf("before %q is not a commit hash", hookClip(p.Before))
	}
	if !hookIsSHA(p.SHA) {
		return p, fmt.Errorf("head_commit.id %q is not a commit hash", hookClip(p.SHA))
	}
	return p, nil
}

// pushAnswer is the webhook's answer to a push the bot has handled.
func pushAnswer(res bot.PushResult) (int, string) {
	if res.Duplicate {
		return http.StatusOK, "duplicate delivery"
	}
	if res.Repeat {
		return http.StatusOK, "ignored: " + res.Ignored
	}
	if len(res.Services) == 0 {
		// HandlePush audited the push with the reason, in one record.
		return http.StatusOK, "ignored: " + res.Ignored
	}
	return http.StatusOK, "ok: deploy threads for " + strings.Join(res.Services, ", ")
}

// ignore audits an acknowledged delivery and answers status, or 200 for
// a duplicate.
func (h *Webhook) ignore(ctx context.Context, d bot.Delivery, reason string, status int) (int, string) {
	dup, err := h.in.WebhookIgnored(ctx, d, reason)
	if err != nil {
		return h.storeFailed(d, err)
	}
	if dup {
		return http.StatusOK, "duplicate delivery"
	}
	return status, "ignored: " + reason
}

func (h *Webhook) malformed(ctx context.Context, d bot.Delivery, err error) (int, string) {
	h.log.Warn("malformed github delivery", "delivery", d.ID, "event", d.Event, "err", err)
	return h.ignore(ctx, d, "malformed payload", http.StatusBadRequest)
}

func (h *Webhook) storeFailed(d bot.Delivery, err error) (int, string) {
	h.log.Error("record github delivery", "delivery", d.ID, "event", d.Event, "err", err)
	return http.StatusServiceUnavailable, "could not record the delivery; try again later"
}

func (h *Webhook) refuseOversized(w http.ResponseWriter, r *http.Request, d bot.Delivery) {
	h.refuse(r.Context(), d, "oversized")
	http.Error(w, fmt.Sprintf("request body over %d bytes", h.maxBody), http.StatusRequestEntityTooLarge)
}

// refuseBusy answers a delivery that does not fit in the body budget:
// at once, rather than queued behind the bodies being read.
func (h *Webhook) refuseBusy(w http.ResponseWriter, r *http.Request, d bot.Delivery) {
	h.refuse(r.Context(), d, "busy: too many unverified bodies in flight")
	w.Header().Set("Retry-After", bot.BusyRetryAfter)
	http.Error(w, "busy; try again later", http.StatusServiceUnavailable)
}

func (h *Webhook) refuseUnauthorized(w http.ResponseWriter, r *http.Request, d bot.Delivery, reason string) {
	h.refuse(r.Context(), d, reason)
	// Never more than this: details would help forgers.
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// refuse audits a refused delivery as webhook.refused. Floods are only
// counted, so that forged deliveries cannot fill the audit trail; the
// count goes into the reason of the next record written (bot.Delivery
// has no field for it).
func (h *Webhook) refuse(ctx context.Context, d bot.Delivery, reason string) {
	suppressed, ok := h.limit.Allow(h.now())
	if !ok {
		h.log.Debug("github delivery refused, not audited (rate limit)", "delivery", d.ID, "event", d.Event, "remote", d.Remote, "reason", reason)
		return
	}
	h.log.Warn("github delivery refused", "delivery", d.ID, "event", d.Event, "remote", d.Remote, "reason", reason)
	audited := reason
	if suppressed > 0 {
		audited = fmt.Sprintf("%s; %d more refused before, not audited", reason, suppressed)
	}
	// A forger who hangs up must not escape the record.
	if err := h.in.WebhookRefused(context.WithoutCancel(ctx), d, audited); err != nil {
		h.log.Error("audit refused github delivery", "delivery", d.ID, "reason", audited, "err", err)
	}
}

// hookSignature returns the MAC a delivery claims from its headers, or
// why there is no usable one.
func hookSignature(hd http.Header) (mac []byte, reason string) {
	v := hd.Get("X-Hub-Signature-256")
	if v == "" {
		if hd.Get("X-Hub-Signature") != "" {
			return nil, "sha1 only"
		}
		return nil, "unsigned"
	}
	hexMAC, ok := strings.CutPrefix(v, "sha256=")
	if !ok || len(hexMAC) != 2*sha256.Size {
		return nil, "bad signature"
	}
	mac, err := hex.DecodeString(hexMAC)
	if err != nil {
		return nil, "bad signature"
	}
	return mac, ""
}

// hookPayload returns the JSON of a delivery: the body, or its payload
// field when the webhook is set to application/x-www-form-urlencoded.
func hookPayload(contentType string, body []byte) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("form body: %w", err)
	}
	p := form.Get("payload")
	if p == "" {
		return nil, errors.New("form body without payload")
	}
	return []byte(p), nil
}

// hookZeroSHA reports whether sha is GitHub's all-zero "no commit".
func hookZeroSHA(sha string) bool {
	return sha != "" && strings.Trim(sha, "0") == ""
}

// hookIsSHA reports whether s is a SHA-1 or SHA-256 commit hash in hex.
func hookIsSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// What is kept of a delivery's names: GitHub's own limits (a login is at
// most 39 characters, a repository's full name 39+1+100; git refs are
// rarely past 255), with room to spare. Longer ones are malformed.
const (
	hookMaxName = 200
	hookMaxRef  = 1024
	hookMaxURL  = 2048
)

// hookName is a login or repository name from a verified payload, cut to
// hookMaxName so that the audit trail and the store stay bounded.
func hookName(s string) string { return cs.Clip(s, hookMaxName) }

// hookMaxHeader bounds the unsigned header values kept: a GitHub
// delivery ID is a 36-character UUID.
const hookMaxHeader = 128

func hookClip(s string) string {
	if len(s) > hookMaxHeader {
		s = s[:hookMaxHeader]
	}
	return strings.ToValidUTF8(s, "")
}

// hookRefusalsPerMinute bounds the webhook.refused records written a minute.
const hookRefusalsPerMinute = 20
