package bot

import "context"

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
// Exactly one of Status, Deployment and DeploymentStatus is set.
type Report struct {
	Repo string // owner/name
	SHA  string // full commit SHA
	// Status is a commit status.
	Status *CommitStatus `json:",omitempty"`
	// Deployment creates a deployment of SHA.
	Deployment *Deployment `json:",omitempty"`
	// DeploymentStatus is a status of an earlier Deployment report.
	DeploymentStatus *DeploymentStatus `json:",omitempty"`
}

// CommitStatus is a GitHub commit status.
type CommitStatus struct {
	Context     string // "countersign/<service>"
	State       string // pending, success, failure, error
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
