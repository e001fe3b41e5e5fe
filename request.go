package countersign

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// State is where a request is in its life. Pending and approved requests
// are open; every other state is final.
type State string

const (
	StatePending     State = "pending"     // waiting for approvals
	StateApproved    State = "approved"    // approved (or allowed), waiting for its turn to run
	StateExecuting   State = "executing"   // the executor is running it
	StateSucceeded   State = "succeeded"   // ran and succeeded
	StateFailed      State = "failed"      // ran and failed, or could not start
	StateRefused     State = "refused"     // policy said no
	StateDenied      State = "denied"      // an approver said no
	StateExpired     State = "expired"     // nobody approved in time
	StateSuperseded  State = "superseded"  // a newer request for the same target replaced it
	StateInterrupted State = "interrupted" // the bot stopped while it was executing
)

// Open reports whether the request can still change state by approval or execution.
func (s State) Open() bool {
	return s == StatePending || s == StateApproved || s == StateExecuting
}

// Approval is one approver's click (or `approve` command).
type Approval struct {
	Actor Actor     `json:"actor"`
	Group string    `json:"group,omitempty"` // the requirement line it counted towards
	At    time.Time `json:"at"`
}

// MessageRef points at a chat message. ID is the bot's own name for it,
// given when it is queued; Channel and TS (Slack's ts) say where the chat
// put it, and TS is empty until it is delivered.
type MessageRef struct {
	ID      string `json:"id,omitempty"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// Request is one asked-for change and everything that happened to it.
type Request struct {
	ID        RequestID `json:"id"`
	Action    Action    `json:"action"`
	Source    Source    `json:"source"`
	Requester Actor     `json:"requester"`
	// Author is the chat user of the commit's author for a push, if the
	// GitHub login maps to one; AuthorLogin is the login itself.
	Author      Actor  `json:"author,omitempty"`
	AuthorLogin string `json:"author_login,omitempty"`

	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	Expires time.Time `json:"expires,omitempty"`

	State    State    `json:"state"`
	Decision Decision `json:"decision"`
	// Fingerprint binds approvals to the exact action and policy version.
	Fingerprint  string     `json:"fingerprint"`
	Approvals    []Approval `json:"approvals,omitempty"`
	SupersededBy RequestID  `json:"superseded_by,omitempty"`
	// Outcome is the final word (why it failed, was denied, …) in chat
	// markup: <@U…> mentions, and &amp; &lt; &gt; escapes in what people wrote.
	Outcome string `json:"outcome,omitempty"`
	DryRun  bool   `json:"dry_run,omitempty"`

	// Plan is what the executor said it would do, when the request was made.
	Plan string `json:"plan,omitempty"`
	// CommitTitle is the first line of the commit message of a push.
	CommitTitle string `json:"commit_title,omitempty"`
	// Changes are the commits a deploy adds or takes away, as found when
	// the request was made; nil for other actions.
	Changes *Changes `json:"changes,omitempty"`

	// Message is the request's own message (with the buttons), updated in
	// place; Thread is the parent of the thread it lives in (the push's
	// message, or Message itself).
	Message MessageRef `json:"message"`
	Thread  MessageRef `json:"thread"`

	// Gate, for a request GitHub asked for as a deployment protection
	// rule, is the deployment that waits for its answer; nil otherwise.
	Gate *GateDeployment `json:"gate,omitempty"`
}

// GateDeployment is a GitHub Actions deployment waiting at a custom
// deployment protection rule for the bot's answer.
type GateDeployment struct {
	Repo        string `json:"repo"`        // owner/name
	Environment string `json:"environment"` // the GitHub environment's name
	Deployment  int64  `json:"deployment"`  // GitHub's deployment ID
	Run         int64  `json:"run"`         // the workflow run that waits
	Ref         string `json:"ref,omitempty"`
	SHA         string `json:"sha"`
	Creator     string `json:"creator,omitempty"` // the deployment's creator's GitHub login
}

// Fingerprint returns the hex SHA-256 of the action and the policy version:
// an approval given for one fingerprint never counts for another.
func (a Action) Fingerprint(policyVersion string) string {
	b, err := json.Marshal(struct {
		Action        Action `json:"action"`
		PolicyVersion string `json:"policy_version"`
	}{a, policyVersion})
	if err != nil { // only plain data in Action: cannot happen
		panic("countersign: marshal action: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Lock blocks deploys to a target until it is released.
type Lock struct {
	Target string    `json:"target"`
	Actor  Actor     `json:"actor"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
	// AutoOnly locks only automatic deploys on push (set after a rollback);
	// requests by people still go through policy.
	AutoOnly bool      `json:"auto_only,omitempty"`
	Request  RequestID `json:"request,omitempty"` // the request that set it, if any
}

// Deployment is one execution of a deploy or rollback, kept as history so
// that rollbacks go to an exact earlier image. Its ID is the request's ID.
type Deployment struct {
	ID     RequestID  `json:"id"`
	Target string     `json:"target"`
	Kind   ActionKind `json:"kind"`
	Image  string     `json:"image"`
	Commit string     `json:"commit,omitempty"`
	// Replaced is the image that ran before this deployment, if known.
	Replaced  string    `json:"replaced,omitempty"`
	Requester Actor     `json:"requester"`
	Approvers []Actor   `json:"approvers,omitempty"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Succeeded bool      `json:"succeeded"`
	DryRun    bool      `json:"dry_run,omitempty"`
	// Verification is how the check after the deploy ended: "passed",
	// "failed", "cancelled"; "" when there was none. A deploy that failed
	// it still Succeeded: its image runs until something replaces it.
	Verification string `json:"verification,omitempty"`
}
