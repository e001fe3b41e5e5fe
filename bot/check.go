package bot

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	cs "github.com/countersign/countersign"
)

// Checks says which pull requests of a service's repository get a
// deployability check.
type Checks struct {
	// PullRequests: pull requests whose head is in the service's own
	// repository are checked.
	PullRequests bool
	// Forks: pull requests from forks are checked too (their Dockerfile
	// runs on the build engine).
	Forks bool
	// Channel, if set, gets each check's result; otherwise checks never
	// post in chat.
	Channel string
}

// PullRequest is a GitHub pull_request delivery, as the intake hands it
// over: an action that puts a new head up for review.
type PullRequest struct {
	Repo   string // the base repository, owner/name
	Number int
	Action string // opened, synchronize or reopened
	SHA    string // the head commit
	// HeadRepo is the head's repository, owner/name ("" when its fork
	// was deleted): another than Repo makes it a pull request from a fork.
	HeadRepo   string
	HeadBranch string
	Sender     string // sender.login
	Title      string // at most MaxCommitTitle characters
	Delivery   string // X-GitHub-Delivery, if any
	// Payload is a digest of the verified delivery, as in Push.
	Payload string `json:"-"`
}

// Fork reports whether the head is in another repository than the base.
func (pr PullRequest) Fork() bool { return !strings.EqualFold(pr.HeadRepo, pr.Repo) }

// CheckResult says what HandlePullRequest did.
type CheckResult struct {
	Duplicate bool     // the delivery ID was seen before; nothing was done
	Services  []string // the services checked (or told why not)
	// Ignored says why nothing was checked (no service checks the
	// repository's pull requests, or the payload is a repeat).
	Ignored string
}

// CheckContext is the commit status context of a service's
// deployability, on pull request heads and on pushes to its branch.
func CheckContext(service string) string { return "countersign/deployability: " + service }

// notForks is the status of a fork's pull request that is not built.
const notForks = "not checked: pull request from a fork"

// maxCheckReason bounds the reason kept in the audit trail: it ends with
// the build log's last lines, which are enough to see why.
const maxCheckReason = 4000

type runningCheck struct {
	sha    string
	cancel context.CancelCauseFunc
}

// errSuperseded is the cause of a check cancelled by a newer head.
var errSuperseded = errors.New("superseded by a newer head")

// HandlePullRequest checks the head of a pull request for every service
// that checks its repository's pull requests: the commit status
// CheckContext is pending at once, then success or failure. A check
// never makes a request and never posts in chat, except in a service's
// Checks.Channel. A newer head of the same pull request cancels the
// older one's check. It returns once the delivery is recorded; the check
// runs after (Idle waits for it).
func (b *Bot) HandlePullRequest(ctx context.Context, pr PullRequest) (CheckResult, error) {
	pr.SHA = strings.ToLower(pr.SHA)
	pr.Title = cs.Clip(pr.Title, MaxCommitTitle)
	var res CheckResult
	if b.stopping() {
		return res, errShuttingDown
	}
	var build, forks []Service
	res.Services, build, forks = b.checkersOf(pr)
	ignored := ""
	if len(res.Services) == 0 {
		ignored = fmt.Sprintf("no service checks the pull requests of %s", pr.Repo)
	}
	d := Delivery{ID: pr.Delivery, Event: "pull_request", Repo: pr.Repo, Sender: pr.Sender}
	err := b.store.Update(ctx, func(tx Tx) error {
		res.Duplicate, res.Ignored = false, ignored
		dup, rep, err := b.seen(tx, pr.Delivery, pr.Payload)
		if err != nil || dup {
			res.Duplicate = dup
			return err
		}
		if rep.Repeats > 0 {
			res.Ignored = repeatReason(rep)
			return b.auditRepeat(tx, d, rep)
		}
		detail := map[string]any{"event": "pull_request", "action": pr.Action, "repo": pr.Repo, "number": pr.Number,
			"sha": pr.SHA, "head_repo": pr.HeadRepo, "delivery": pr.Delivery, "services": res.Services}
		if res.Ignored != "" {
			detail["ignored"] = res.Ignored
		}
		if _, err := tx.Append(b.event(cs.EventWebhookReceived, deliveryActor(d), nil, detail)); err != nil {
			return err
		}
		for _, s := range build {
			if _, err := tx.Append(b.checkEvent(cs.EventCheckStarted, s, pr, nil)); err != nil {
				return err
			}
		}
		for _, s := range forks {
			if _, err := tx.Append(b.checkEvent(cs.EventCheckFailed, s, pr, map[string]any{"reason": notForks})); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, b.storeFailure(err)
	}
	if res.Duplicate || res.Ignored != "" {
		return res, nil
	}
	for _, s := range forks {
		b.reportCheck(ctx, s, pr.SHA, CommitStatus{State: StatusFailure, Description: notForks, TargetURL: b.checkURL(s, cs.EventCheckFailed)})
	}
	for _, s := range build {
		b.startCheck(s, pr)
	}
	return res, nil
}

// checkersOf returns the services that check pull request pr (names, in
// config order): those that build it, and those that refuse it as
// coming from a fork.
func (b *Bot) checkersOf(pr PullRequest) (names []string, build, forks []Service) {
	for _, s := range b.rules().Services {
		if !s.Checks.PullRequests || !strings.EqualFold(s.Repo, pr.Repo) {
			continue
		}
		names = append(names, s.Name)
		if pr.Fork() && !s.Checks.Forks {
			forks = append(forks, s)
		} else {
			build = append(build, s)
		}
	}
	return names, build, forks
}

func (b *Bot) checkEvent(kind cs.EventKind, s Service, pr PullRequest, extra map[string]any) cs.Event {
	detail := map[string]any{"pull_request": pr.Number, "sha": pr.SHA, "repo": pr.Repo, "head_repo": pr.HeadRepo, "head_branch": pr.HeadBranch}
	for k, v := range extra {
		detail[k] = v
	}
	e := b.event(kind, cs.ActorBot, nil, detail)
	e.Target = s.Name
	return e
}

// startCheck runs s's check of pr's head in the background, cancelling
// the check of an older head of the same pull request. The same head
// already being checked is left to that check.
func (b *Bot) startCheck(s Service, pr PullRequest) {
	key := fmt.Sprintf("%s#%d", s.Name, pr.Number)
	ctx, cancel := context.WithCancelCause(b.ctx)
	b.mu.Lock()
	if b.checks == nil {
		b.checks = map[string]runningCheck{}
	}
	old, running := b.checks[key]
	if running && old.sha == pr.SHA {
		b.mu.Unlock()
		cancel(nil)
		return
	}
	if running {
		old.cancel(fmt.Errorf("%w: %s", errSuperseded, cs.ShortSHA(pr.SHA)))
	}
	b.checks[key] = runningCheck{sha: pr.SHA, cancel: cancel}
	b.mu.Unlock()
	b.reportCheck(ctx, s, pr.SHA, CommitStatus{State: StatusPending, Description: "getting the image and checking it can be deployed", TargetURL: b.checkURL(s, cs.EventCheckStarted)})
	b.work.add()
	go func() {
		defer b.work.done()
		defer func() {
			b.mu.Lock()
			if cur, ok := b.checks[key]; ok && cur.sha == pr.SHA {
				delete(b.checks, key)
			}
			b.mu.Unlock()
			cancel(nil)
		}()
		b.runCheck(ctx, s, pr)
	}()
}

// runCheck gets the head's image as the service's build says and checks
// its executor can deploy it, then records and reports the outcome.
func (b *Bot) runCheck(ctx context.Context, s Service, pr PullRequest) {
	img, err := b.checkImage(ctx, s, pr)
	if b.ctx.Err() != nil {
		return // shutting down: the outcome is unknown, and the status stays pending
	}
	// Recorded even when superseded: the older head has its answer.
	rctx := context.WithoutCancel(ctx)
	if cause := context.Cause(ctx); errors.Is(cause, errSuperseded) {
		err = fmt.Errorf("not checked: %w", cause)
	}
	kind, extra, state, desc := cs.EventCheckSucceeded, map[string]any{"image": img}, StatusSuccess, deployableText(img)
	if err != nil {
		reason := err.Error()
		kind, extra, state, desc = cs.EventCheckFailed, map[string]any{"reason": cut(reason, maxCheckReason)}, StatusFailure, firstLine(reason)
	}
	if err := b.store.Update(rctx, func(tx Tx) error {
		_, err := tx.Append(b.checkEvent(kind, s, pr, extra))
		return err
	}); err != nil {
		b.log.Error("record check", "service", s.Name, "pull_request", pr.Number, "sha", pr.SHA, "err", err)
	}
	b.reportCheck(rctx, s, pr.SHA, CommitStatus{State: state, Description: cut(desc, maxDescription), TargetURL: b.checkURL(s, kind)})
	if s.Checks.Channel != "" {
		mark := "✅"
		if err != nil {
			mark = "❌"
		}
		b.post(rctx, Message{Channel: s.Checks.Channel,
			Text: Textf("%s %s pull request #%d (%s): %s", mark, s.Name, pr.Number, cs.ShortSHA(pr.SHA), desc)})
	}
}

// checkImage builds pr's head under a tag naming the pull request (never
// the deploy tag) or waits for it under the service's tag template, then
// checks the executor can deploy it. Builds hold one of the engine's
// check slots, not the service's build lock: deploy builds never queue
// behind checks.
func (b *Bot) checkImage(ctx context.Context, s Service, pr PullRequest) (string, error) {
	var img string
	switch s.Build.Mode {
	case BuildWait:
		var err error
		if img, err = b.waitImage(ctx, s, pr.SHA, pr.HeadBranch, nil); err != nil {
			return "", err
		}
	case BuildDocker:
		if s.Build.Builder == nil {
			return "", fmt.Errorf("service %s builds with docker but no builder is configured", s.Name)
		}
		release, err := b.checkSlot(ctx, s.Build.Engine)
		if err != nil {
			return "", err
		}
		defer release()
		built, err := s.Build.Builder.Build(ctx, BuildSpec{Service: s.Name, Repo: s.Repo, SHA: pr.SHA, Branch: pr.HeadBranch,
			Tag: PullRequestTag(pr.Number)}, func(string) {})
		if err != nil {
			return "", fmt.Errorf("build failed: %w", err)
		}
		img = built.Image
	default:
		return "", fmt.Errorf("service %s has no build configured", s.Name)
	}
	return img, b.deployable(ctx, s, img)
}

// waitImage waits for the image that the service's tag template names
// for (sha, branch); waiting, if set, is told the tag first.
func (b *Bot) waitImage(ctx context.Context, s Service, sha, branch string, waiting func(tag string)) (string, error) {
	if b.images == nil || s.Build.Tag == nil {
		return "", fmt.Errorf("no registry access configured to wait for the image")
	}
	tag, err := s.Build.Tag(sha, branch)
	if err != nil {
		return "", fmt.Errorf("image tag: %w", err)
	}
	if waiting != nil {
		waiting(tag)
	}
	img, err := b.images.Wait(ctx, s.Image, tag, s.Build.Timeout)
	if err != nil {
		return "", fmt.Errorf("no image for %s: %w", cs.ShortSHA(sha), err)
	}
	return img, nil
}

// PullRequestTag is the tag a pull request's check build is pushed
// under: it names the pull request, so that it never moves a deploy tag.
func PullRequestTag(number int) string { return fmt.Sprintf("pr-%d", number) }

// deployable checks, where the executor can tell, that img can be
// deployed to s (the Albatross executor checks the unikernel is in it).
func (b *Bot) deployable(ctx context.Context, s Service, img string) error {
	if c, ok := s.Executor.(ImageChecker); ok {
		if err := c.CheckImage(ctx, img); err != nil {
			return fmt.Errorf("image %s cannot be deployed to %s: %w", img, s.Name, err)
		}
	}
	return nil
}

// checkSlot waits for one of engine's check slots (Config.ChecksPerEngine)
// and returns its release.
func (b *Bot) checkSlot(ctx context.Context, engine string) (func(), error) {
	b.mu.Lock()
	if b.checkSlots == nil {
		b.checkSlots = map[string]chan struct{}{}
	}
	slots, ok := b.checkSlots[engine]
	if !ok {
		n := b.cfg.ChecksPerEngine
		if n <= 0 {
			n = 1
		}
		slots = make(chan struct{}, n)
		b.checkSlots[engine] = slots
	}
	b.mu.Unlock()
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// reportCheck queues the commit status CheckContext(s) of sha.
func (b *Bot) reportCheck(ctx context.Context, s Service, sha string, st CommitStatus) {
	if s.Repo == "" || sha == "" {
		return
	}
	st.Context = CheckContext(s.Name)
	b.report(ctx, Report{Repo: s.Repo, SHA: sha, Status: &st})
}

// reportPushImage reports a push's image check as the deployability of
// its commit: whatever later happens to the deploy does not change it.
func (b *Bot) reportPushImage(ctx context.Context, s Service, sha, image string, err error) {
	if b.ctx.Err() != nil {
		return // shutting down: the push is taken up again on start
	}
	if err != nil {
		b.reportCheck(ctx, s, sha, CommitStatus{State: StatusFailure, Description: cut(firstLine(err.Error()), maxDescription)})
		return
	}
	b.reportCheck(ctx, s, sha, CommitStatus{State: StatusSuccess, Description: deployableText(image)})
}

// deployableText is a success's description: the image, or only its
// digest when the whole reference does not fit in a status.
func deployableText(image string) string {
	text := "deployable: " + image
	if _, digest, ok := strings.Cut(image, "@"); ok && len([]rune(text)) > maxDescription {
		text = "deployable: " + digest
	}
	return cut(text, maxDescription)
}

// checkURL is the audit page of s's check records of kind, where the
// reason (with the build log's last lines) is, when the bot has a public
// URL.
func (b *Bot) checkURL(s Service, kind cs.EventKind) string {
	if b.cfg.PublicURL == "" {
		return ""
	}
	q := url.Values{"target": {s.Name}, "kind": {string(kind)}}
	return strings.TrimSuffix(b.cfg.PublicURL, "/") + "/audit?" + q.Encode()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
