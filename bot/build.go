package bot

import (
	"context"
	"time"
)

// Builder builds a service's image for a commit (build mode "docker"):
// it fetches the repository at exactly that commit, builds it with a
// Docker Engine and pushes the image. executors/build implements it.
type Builder interface {
	// Build builds and pushes spec's commit and returns the image pinned
	// by the digest the registry reported. It reports progress lines
	// (build steps) through progress, returns when ctx ends (a newer push
	// cancels an older build), and on failure returns an error whose text
	// ends with the last lines of the build log.
	Build(ctx context.Context, spec BuildSpec, progress func(line string)) (Built, error)
}

// BuildSpec is the commit to build.
type BuildSpec struct {
	Service string
	Repo    string // owner/name on GitHub
	SHA     string // full commit SHA
	Branch  string
	// Tag is the tag to push, rendered from the service's tag template.
	Tag string
}

// Built is what a build produced.
type Built struct {
	Image string // repo@sha256:…
	Size  int64  // bytes of the pushed image (config and layers), if known
	Took  time.Duration
}

// ImageChecker is implemented by executors that can tell before approval
// whether an image can be deployed at all (the Albatross executor checks
// the unikernel binary is in it).
type ImageChecker interface {
	CheckImage(ctx context.Context, image string) error
}
