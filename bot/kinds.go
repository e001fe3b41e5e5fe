package bot

// ServiceKind is how a service is deployed. (The config's kinds are
// mapped to these by the wiring: bot does not import config.)
type ServiceKind string

const (
	KindSwarm     ServiceKind = "swarm"     // a Docker Swarm service
	KindAlbatross ServiceKind = "albatross" // a unikernel on an Albatross host
	// KindBuild is a build-only service: it has no deploy target; its
	// pushes and pull requests are checked and their images built, and
	// nothing is ever deployed.
	KindBuild ServiceKind = "build"
)

// BuildMode is how a push becomes an image.
type BuildMode string

const (
	BuildWait   BuildMode = "wait"   // wait for an image built elsewhere
	BuildDocker BuildMode = "docker" // build the commit with Build.Builder
)

// StatusState is the state of a GitHub commit status.
type StatusState string

const (
	StatusPending StatusState = "pending"
	StatusSuccess StatusState = "success"
	StatusFailure StatusState = "failure"
	StatusError   StatusState = "error"
)
