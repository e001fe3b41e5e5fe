// Package bot is the workflow: request → policy → approval → execution →
// audit → chat, and push → image → deploy request. It owns no I/O of its
// own: chats, executors, the registry and the store come in through the
// small interfaces declared in this package.
package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/policies"
)

// Service is one deployable thing, as the workflow needs to know it.
type Service struct {
	Name    string
	Kind    ServiceKind
	Repo    string // GitHub owner/name whose pushes deploy it
	Branch  string
	Channel string
	Image   string // repository, without tag or digest
	// Where and Place say where it runs, for the approval message:
	// "engine" or "host", and its name and address.
	Where, Place string
	Build        Build
	// Executor runs its deploys, rollbacks and scales.
	Executor Executor
	// Verify, if set, is checked after each deploy (verify.go).
	Verify *Verify
	// Checks says which pull requests get a deployability check.
	Checks Checks
	// Runs names exactly what it changes (kind, engine or host, Swarm
	// service or unikernel): a reload that changes it is looser (rules.go).
	Runs string
}

// Build says how a push becomes an image.
type Build struct {
	Mode BuildMode
	// Tag renders the tag to wait for from a commit and branch.
	Tag     func(sha, branch string) (string, error)
	Timeout time.Duration
	// Builder builds the commit's image (BuildDocker).
	Builder Builder
	// Engine names the build engine: pull request checks are bounded per
	// engine, so that deploy builds never queue behind them.
	Engine string
}

// Zone is a DNS zone the bot may change.
type Zone struct {
	Name     string // lower case, fully qualified with trailing dot
	Executor Executor
	// Runs names the server, key and record types it changes: a reload
	// that changes it is looser (rules.go).
	Runs string
}

// Config is what the bot is given at start-up. cmd/countersign builds it
// from the config file.
type Config struct {
	Services []Service
	Zones    []Zone
	Policy   *policies.Engine
	// Identities maps GitHub logins (lower case) to chat users, so that commit authors
	// cannot approve their own pushes.
	Identities map[string]cs.Actor
	// DryRun marks every request as a dry run (the executors are dry-run ones).
	DryRun bool
	// DefaultExpiry applies when a policy gives none (default 1h).
	DefaultExpiry time.Duration
	// Reporter, if set, gets commit statuses and deployments for services
	// with a repository (GitHub).
	Reporter Reporter
	// Comparer, if set, lists the commits a deploy changes on its card;
	// CompareTimeout bounds how long a request waits for it (default
	// DefaultCompareTimeout) before it says "changes unknown".
	Comparer       Comparer
	CompareTimeout time.Duration
	// Directory resolves Slack user groups named in groups and policies;
	// nil: "usergroup:…" entries match nobody.
	Directory Directory
	// PublicURL, if set, is the bot's web address: messages link to the
	// request pages under it. GitHubURL is GitHub's web address for
	// commit links (default https://github.com/).
	PublicURL, GitHubURL string
	// AuditChannel, if set, gets the audit chain's anchor once every
	// AnchorEvery (default a day) and on `audit anchor`.
	AuditChannel string
	AnchorEvery  time.Duration
	// GiveUpAfter is how long the outbox retries an entry that keeps
	// failing before it sets it aside (default DefaultGiveUpAfter).
	GiveUpAfter time.Duration
	// DriftInterval is how often every target is compared with what the
	// bot approved and carried out (drift.go); 0: never.
	DriftInterval time.Duration
	// Clock tells the time (default the system clock; tests set theirs).
	Clock Clock
	// Prober answers services' verify probes; Sleeper waits between
	// them (default the system clock).
	Prober  Prober
	Sleeper Sleeper
	// ConfigHash and ConfigPath are audited as config.loaded on Start.
	ConfigHash string
	ConfigPath string
	// Branches, if set, reads the followed branches' heads at Start and
	// then every Poll (0: never), so that a push whose webhook was lost
	// is still taken (PollBranches).
	Branches BranchReader
	Poll     time.Duration
	// ChecksPerEngine bounds the pull request checks that build at once
	// on one build engine (default 1): deploy builds do not wait for
	// them.
	ChecksPerEngine int
	// Services, Zones, Policy, Identities and the config's hash and path
	// are the first Rules (rules.go); ConfigText and ConfigShown are the
	// file's bytes and its redacted form, Loader how reloads read it
	// (nil: no reloads; Start then takes the config as given).
	ConfigText  []byte
	ConfigShown []byte
	Loader      ConfigLoader
	// Gates are the GitHub environments whose deployments wait for the
	// bot's answer (gate.go).
	Gates []Gate
}

// Bot runs the workflow. Create it with New, call Start, and Close when done.
// Its methods are safe for concurrent use.
type Bot struct {
	cfg    Config
	store  Store
	chat   Chat
	images Images
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	work   tracker        // executions, image waits: what Idle waits for
	execs  tracker        // executions only: what Drain waits for
	loops  sync.WaitGroup // background loops, stopped by Close

	// lanes are the outbox's queues (chat, code host), each delivered by
	// a loop of its own.
	lanes map[Lane]*lane

	mu      sync.Mutex
	running map[string]*sync.Mutex        // one execution at a time per target
	pushes  map[string]context.CancelFunc // running push threads, by service@sha
	// verifying are the verifications after a deploy, by target.
	verifying map[string]*verification
	// draining: Drain was called; no new work starts.
	draining bool
	// handovers are the executions Drain may leave to the next start
	// (handover.go).
	handovers map[*handover]struct{}
	// unstarted are approved requests whose start could not be audited,
	// nor their closing: closeUnstarted tries again (notrun.go).
	unstarted map[cs.RequestID]Markup

	// live is the rules in force; reloadMu serialises reloads.
	live     atomic.Pointer[Rules]
	reloadMu sync.Mutex

	webRefusals *RefusalLimiter
	poll        poller
	drift       driftState

	// checks are the running pull request checks, by service#number;
	// checkSlots bound them per build engine (check.go).
	checks     map[string]runningCheck
	checkSlots map[string]chan struct{}
}

// New returns a bot. images may be nil when no service waits for images.
func New(cfg Config, store Store, chat Chat, images Images, log *slog.Logger) *Bot {
	if cfg.DefaultExpiry <= 0 {
		cfg.DefaultExpiry = time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Sleeper == nil {
		cfg.Sleeper = SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bot{
		cfg: cfg, store: store, chat: chat, images: images, log: log,
		ctx: ctx, cancel: cancel,
		running: map[string]*sync.Mutex{}, pushes: map[string]context.CancelFunc{}, lanes: newLanes(),
		verifying:   map[string]*verification{},
		unstarted:   map[cs.RequestID]Markup{},
		handovers:   map[*handover]struct{}{},
		webRefusals: &RefusalLimiter{Max: webRefusalsPerMinute},
	}
	b.live.Store(&Rules{Services: cfg.Services, Zones: cfg.Zones, Gates: cfg.Gates, Policy: cfg.Policy, Identities: cfg.Identities,
		Hash: cfg.ConfigHash, Path: cfg.ConfigPath, Text: cfg.ConfigText, Shown: cfg.ConfigShown})
	return b
}

// Start audits the loaded config, follows to their end the executions
// the bot was running when it last stopped whose target carries on
// without it (a Swarm update: see Resumer), marks the others interrupted
// (they are never run again), resumes approved requests that had not
// started, and starts expiring stale ones.
func (b *Bot) Start(ctx context.Context) error {
	st, err := b.startingRules(ctx)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	b.live.Store(st.rules)
	st.rules.swapCredentials()
	rec, err := b.recoverOpen(ctx, st)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	// What was queued before the stop is delivered first, in order.
	b.startDelivery(rec.queued)
	b.takeUp(ctx, rec)
	if err := b.resumeWork(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	b.startLoops()
	if st.waits != nil {
		b.proposeAtStart(ctx, st)
	}
	b.startPolling()
	return nil
}

// recovery is what Start found in the store, sorted by what it does
// with it.
type recovery struct {
	queued      map[Lane]int // outbox entries per lane
	interrupted []cs.Request // were executing, and cannot be followed
	resuming    []resumption // were executing, and can be followed
	approved    []cs.Request // approved, never started: run them
	closed      []cs.Request // approved, never started, and stale now
}

// recoverOpen records the start and sorts the open requests in one
// transaction: executions that cannot be followed are marked
// interrupted, stale approvals superseded.
func (b *Bot) recoverOpen(ctx context.Context, st startRules) (recovery, error) {
	var rec recovery
	err := b.store.Update(ctx, func(tx Tx) error {
		rec = recovery{queued: map[Lane]int{}}
		q, err := tx.Outbox(0)
		if err != nil {
			return err
		}
		for _, o := range q {
			rec.queued[o.Lane]++
		}
		if err := b.recordStart(tx, st); err != nil {
			return err
		}
		open, err := tx.OpenRequests("")
		if err != nil {
			return err
		}
		for _, r := range open {
			if err := b.recoverRequest(tx, r, &rec); err != nil {
				return err
			}
		}
		return nil
	})
	return rec, err
}

// recoverRequest sorts one open request into rec.
func (b *Bot) recoverRequest(tx Tx, r cs.Request, rec *recovery) error {
	switch r.State {
	case cs.StateExecuting:
		if f, ok, err := b.followable(tx, r); err != nil || ok {
			if ok {
				rec.resuming = append(rec.resuming, f)
			}
			return err
		}
		r, err := b.interruptTx(tx, r, "")
		if err != nil {
			return err
		}
		rec.interrupted = append(rec.interrupted, r)
	case cs.StateApproved:
		// Approved before the stop but never started (an audit
		// failure, a shutdown): check it again before it runs.
		reason := b.staleApproval(r)
		if reason == "" {
			rec.approved = append(rec.approved, r)
			return nil
		}
		r.State, r.Outcome, r.Updated = cs.StateSuperseded, reason, b.now()
		if err := tx.PutRequest(r); err != nil {
			return err
		}
		if _, err := tx.Append(b.event(cs.EventRequestSuperseded, cs.ActorBot, &r, map[string]any{"reason": reason, "at_start": true})); err != nil {
			return err
		}
		rec.closed = append(rec.closed, r)
	}
	return nil
}

// startDelivery starts each lane's delivery loop, counting the queued
// entries it has to deliver first.
func (b *Bot) startDelivery(queued map[Lane]int) {
	for _, l := range b.lanes {
		l.counted(queued[l.name], 0)
		b.goLoop(func() { b.deliverLoop(l) })
	}
}

// takeUp acts on what recoverOpen found: says what was interrupted,
// follows what carries on, closes what went stale and runs the rest.
func (b *Bot) takeUp(ctx context.Context, rec recovery) {
	for _, r := range rec.interrupted {
		b.tellInterrupted(ctx, r)
	}
	// Before anything queued: each holds its target until it ends.
	for _, f := range rec.resuming {
		b.resume(f)
	}
	for _, r := range rec.closed {
		b.reportAndShow(ctx, r)
		b.reply(ctx, r, cc(Textf("%s was not run: ", r.ID)+Markup(r.Outcome), r))
	}
	for _, r := range rec.approved {
		b.enqueue(r)
	}
}

// resumeWork takes up the pushes, checks and gate answers the stop cut
// short.
func (b *Bot) resumeWork(ctx context.Context) error {
	if err := b.resumePushes(ctx); err != nil {
		return fmt.Errorf("resume pushes: %w", err)
	}
	if err := b.resumeChecks(ctx); err != nil {
		return fmt.Errorf("resume checks: %w", err)
	}
	if err := b.resumeGateAnswers(ctx); err != nil {
		return fmt.Errorf("resume gate answers: %w", err)
	}
	return nil
}

// startLoops starts the loops that run on their own clock: expiry, and
// drift sweeps and audit anchors where configured.
func (b *Bot) startLoops() {
	b.goLoop(b.expireLoop)
	if b.cfg.DriftInterval > 0 {
		b.goLoop(b.driftLoop)
	}
	if b.cfg.AuditChannel != "" {
		b.goLoop(b.anchorLoop)
	}
}

// startPolling starts reading the followed branches, where configured.
func (b *Bot) startPolling() {
	if b.cfg.Branches != nil && b.cfg.Poll > 0 {
		b.work.add() // the first round: Idle waits for it
		b.goLoop(b.pollLoop)
	}
}

// goLoop runs loop in a goroutine that Close waits for.
func (b *Bot) goLoop(loop func()) {
	b.loops.Add(1)
	go func() {
		defer b.loops.Done()
		loop()
	}()
}

// staleApproval says why an approved request that never started must not
// run now (its approvals were for another policy, or it expired while the
// bot was down), or "".
func (b *Bot) staleApproval(r cs.Request) string {
	switch {
	case r.Decision.PolicyVersion != b.rules().Policy.Version():
		return "the policy changed before it could run; its approvals were for the old policy. Request it again."
	case !r.Expires.IsZero() && !b.now().Before(r.Expires):
		return string(Textf("it was approved but could not start before it expired at %s. Request it again.", fmtTime(r.Expires)))
	}
	return ""
}

// Drain stops taking new work (commands, clicks and pushes are answered
// that the bot is shutting down, approved requests wait for the next
// start) and waits, until ctx ends, for running executions to finish.
// Image waits and builds are not waited for (the next start takes them
// up again), nor the outbox (it is kept in the store), nor executions
// whose change is on a target that carries it on without the bot
// (ChangeSent): they stay executing, for the next start to follow, so
// that an update replacing the bot is not kept waiting by the bot.
// Call Close after.
func (b *Bot) Drain(ctx context.Context) error {
	b.mu.Lock()
	b.draining = true
	b.leaveSent()
	b.mu.Unlock()
	return b.execs.wait(ctx)
}

// stopping reports whether Drain was called.
func (b *Bot) stopping() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.draining
}

// errShuttingDown is what callers are told during Drain.
var errShuttingDown = errors.New("the bot is shutting down; nothing was done. Try again in a minute")

// Close stops background work and waits for it. Executions still in
// progress (Drain gives them time first) are cancelled; they show as
// interrupted on the next start if their outcome could not be recorded.
func (b *Bot) Close() {
	b.cancel()
	b.loops.Wait()
	b.work.wait(context.Background())
}

// Idle returns when no work the bot started is still running: executions,
// image waits and the messages about them, delivered. Requests waiting
// for people do not count. The shell uses it to handle each line to
// quiescence.
func (b *Bot) Idle(ctx context.Context) error {
	if err := b.work.wait(ctx); err != nil {
		return err
	}
	for _, l := range b.lanes {
		if err := l.q.wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bot) now() time.Time { return b.cfg.Clock.Now() }

// event builds an audit event about r (nil: not about a request).
func (b *Bot) event(kind cs.EventKind, actor cs.Actor, r *cs.Request, detail any) cs.Event {
	e := cs.Event{Time: b.now(), Kind: kind, Actor: actor}
	if r != nil {
		e.Request, e.Action, e.Target = r.ID, r.Action.Kind, r.Action.Target
	}
	d, err := cs.DetailJSON(detail)
	if err != nil {
		// Details are plain maps and structs of ours: a failure is a bug,
		// but the record must still be written, so say what was lost.
		d = []byte(`{"detail_error":"` + strings.ReplaceAll(err.Error(), `"`, `'`) + `"}`)
	}
	e.Detail = d
	return e
}

// targetMutex serialises executions per target.
func (b *Bot) targetMutex(target string) *sync.Mutex {
	b.mu.Lock()
	defer b.mu.Unlock()
	m, ok := b.running[target]
	if !ok {
		m = &sync.Mutex{}
		b.running[target] = m
	}
	return m
}

// errAudit marks failures to write the audit trail: the action must not run.
var errAudit = errors.New("could not write the audit trail; nothing was done")

// storeFailure is what a chat user is told when the store failed: a short,
// true cause. The log gets the whole error.
func (b *Bot) storeFailure(err error) error {
	b.log.Error("store", "err", err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errors.New("the bot is shutting down; nothing was done")
	}
	return errAudit
}

// RefuseChat audits a request from the chat that was refused before it
// reached the workflow (a bad signature, a stale timestamp, an oversized
// body) as chat.refused. Adapters call it: they do not reach the store.
func (b *Bot) RefuseChat(ctx context.Context, reason string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["reason"] = reason
	return b.audit(ctx, b.event(cs.EventChatRefused, cs.ActorBot, nil, detail))
}

// lastStep is the last execution.step recorded for request id, or "".
func lastStep(tx ReadTx, id cs.RequestID) (string, error) {
	evs, err := tx.Events(EventQuery{Request: id, Kind: cs.EventExecutionStep, Limit: 1})
	if err != nil || len(evs) == 0 {
		return "", err
	}
	var d struct {
		Step string `json:"step"`
	}
	if json.Unmarshal(evs[0].Detail, &d) != nil {
		return "", nil
	}
	return d.Step, nil
}

// audit appends e to the audit trail in a transaction of its own.
func (b *Bot) audit(ctx context.Context, e cs.Event) error {
	return b.store.Update(ctx, func(tx Tx) error {
		_, err := tx.Append(e)
		return err
	})
}
