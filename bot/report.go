package bot

import (
	"context"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/policies"
)

// Reporter tells the code host (GitHub) how pushes and deploys went:
// commit statuses, deployments and deployment statuses. The bot never
// calls it from the workflow: reports wait in the outbox like chat
// messages (in a lane of their own, so that a GitHub outage does not hold
// up Slack), and a deploy never waits for GitHub.
type Reporter interface {
	// Report sends one report. For a new deployment it returns the code
	// host's ID of it, which later DeploymentStatus reports refer to
	// (the outbox resolves the bot's ID to it). An error wrapping
	// ErrChatRejected is not retried.
	Report(ctx context.Context, r Report) (remoteID string, err error)
}

// Report is one thing to tell the code host about a commit of Repo.
// Exactly one of Status, Deployment, DeploymentStatus and Gate is set.
type Report struct {
	Repo string // owner/name
	SHA  string // full commit SHA
	// Status is a commit status.
	Status *CommitStatus `json:",omitempty"`
	// Deployment creates a deployment of SHA.
	Deployment *Deployment `json:",omitempty"`
	// DeploymentStatus is a status of an earlier Deployment report.
	DeploymentStatus *DeploymentStatus `json:",omitempty"`
	// Gate answers a deployment protection rule (gate.go).
	Gate *GateAnswer `json:",omitempty"`
}

// CommitStatus is a GitHub commit status.
type CommitStatus struct {
	Context     string // "countersign/<service>"
	State       StatusState
	Description string // at most 140 characters
	TargetURL   string // the request's page or the Slack thread; may be empty
}

// Deployment is a GitHub deployment of a service.
type Deployment struct {
	Environment string // the service name
	Description string
	// Payload is extra data for whoever watches deployments (request ID,
	// image digest).
	Payload map[string]string
}

// DeploymentStatus is a status of a deployment.
type DeploymentStatus struct {
	// Deployment is the bot's ID of the deployment (what Report returned
	// is looked up for it).
	Deployment  string
	State       string // queued, in_progress, success, failure, error, inactive
	Description string
	LogURL      string
}

// reportStatus queues the commit status countersign/<service> of sha,
// for services whose pushes GitHub sends.
func (b *Bot) reportStatus(ctx context.Context, s Service, sha string, st CommitStatus) {
	if s.Repo == "" || sha == "" || s.BuildOnly() { // never deployed: its deployability is all there is
		return
	}
	st.Context = "countersign/" + s.Name
	b.report(ctx, Report{Repo: s.Repo, SHA: sha, Status: &st})
}

// maxDescription is GitHub's limit for status descriptions.
const maxDescription = 140

// reportRequest tells the code host where a deploy or rollback of a
// commit stands: the commit status countersign/<service>, and once the
// request is approved a deployment with its statuses (queued,
// in_progress, success, failure, error). GitHub marks the deployment it
// replaced inactive itself when the new one succeeds.
func (b *Bot) reportRequest(ctx context.Context, r cs.Request) {
	b.answerGate(ctx, r)
	s, ok := b.service(r.Action.Target)
	k := r.Action.Kind
	if b.cfg.Reporter == nil || !ok || s.Repo == "" || r.Action.Commit == "" || (k != cs.ActionDeploy && k != cs.ActionRollback) {
		return
	}
	state := StatusPending
	switch r.State {
	case cs.StateSucceeded:
		state = StatusSuccess
	case cs.StateFailed, cs.StateRefused, cs.StateDenied:
		state = StatusFailure
	case cs.StateExpired, cs.StateSuperseded, cs.StateInterrupted:
		state = StatusError
	}
	desc := string(r.ID) + " " + stateLabel(r)
	if r.State == cs.StatePending {
		desc += " (" + policies.Progress(r.Decision, r.Approvals) + ")"
	} else if r.Outcome != "" && !r.State.Open() {
		desc += ": " + PlainText(Markup(r.Outcome))
	}
	depState := map[cs.State]string{cs.StateApproved: "queued", cs.StateExecuting: "in_progress", cs.StateSucceeded: "success",
		cs.StateFailed: "failure", cs.StateInterrupted: "error"}[r.State]
	if note, ok := b.verifyingNote(r); ok { // deployed, not yet verified
		state, depState, desc = StatusPending, "in_progress", note
	}
	url := b.requestURL(r)
	b.reportStatus(ctx, s, r.Action.Commit, CommitStatus{State: state, Description: cut(desc, maxDescription), TargetURL: url})

	dep := "deploy:" + string(r.ID)
	if r.State == cs.StateApproved {
		b.reportOnce(ctx, dep, Report{Repo: s.Repo, SHA: r.Action.Commit, Deployment: &Deployment{
			Environment: s.Name, Description: cut(PlainText(describeChange(r.Action)), maxDescription),
			Payload: map[string]string{"request": string(r.ID), "image": r.Action.Image, "kind": string(k)},
		}})
	}
	if depState != "" && b.queuedOrDone(ctx, dep) {
		b.report(ctx, Report{Repo: s.Repo, SHA: r.Action.Commit, DeploymentStatus: &DeploymentStatus{
			Deployment: dep, State: depState, Description: cut(desc, maxDescription), LogURL: url}})
	}
}

// requestURL is the request's web page, when the bot has a public URL.
func (b *Bot) requestURL(r cs.Request) string {
	if b.cfg.PublicURL == "" {
		return ""
	}
	return strings.TrimSuffix(b.cfg.PublicURL, "/") + "/requests/" + string(r.ID)
}

// reportOnce queues a report under the bot's ID id unless one with that
// ID was queued or delivered before (a restart re-enqueues approved
// requests; their deployment must not be created twice).
func (b *Bot) reportOnce(ctx context.Context, id string, r Report) {
	err := b.update(ctx, func(u *update) error {
		if done, err := reportExists(u, id); err != nil || done {
			return err
		}
		_, err := u.report(id, r)
		return err
	})
	if err != nil {
		b.log.Error("queue report", "id", id, "err", err)
	}
}

// queuedOrDone reports whether the report id was queued or delivered.
func (b *Bot) queuedOrDone(ctx context.Context, id string) bool {
	var ok bool
	err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		ok, err = reportExists(tx, id)
		return err
	})
	return err == nil && ok
}

func reportExists(tx ReadTx, id string) (bool, error) {
	if _, ok, err := tx.MessageRef(id); err != nil || ok {
		return ok, err
	}
	q, err := tx.Outbox(0)
	for _, o := range q {
		if o.ID == id {
			return true, err
		}
	}
	return false, err
}

// cut shortens s to n runes, marking the cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
