package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	buildtypes "github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	registrytypes "github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/google/go-containerregistry/pkg/name"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// run is one Build: what it is doing, and what it made on the engine.
type run struct {
	b        *Builder
	spec     bot.BuildSpec
	ref      string // Image:Tag
	progress func(string)
	log      *slog.Logger

	stage string // what is going on, for a timeout's message
	tail  tail   // the log of the stage
	// images are the IDs of the stages' results and of the last step's
	// image, in the order made, for the cleanup.
	images      []string
	lastIsStage bool   // the last of images is a stage's result
	built       string // the final image's ID
}

// cleanupTimeout bounds removing what a build left on the engine.
const cleanupTimeout = 30 * time.Second

// do builds, pushes and confirms the push; it returns Image@digest.
func (r *run) do(ctx context.Context) (string, error) {
	if err := r.build(ctx); err != nil {
		return "", err
	}
	r.progress("Pushing " + r.ref)
	digest, err := r.push(ctx)
	if err != nil {
		return "", err
	}
	r.stage = "confirm the digest"
	pinned := r.b.cfg.Image + "@" + digest
	if err := r.b.resolver.Check(ctx, pinned); err != nil {
		return "", fmt.Errorf("%w: the registry does not confirm %s: %w", ErrPush, pinned, err)
	}
	return pinned, nil
}

// build fetches the commit and builds it as r.ref.
func (r *run) build(ctx context.Context) error {
	r.stage = "fetch the commit"
	body, err := r.b.src.Tarball(ctx, r.spec.Repo, r.spec.SHA)
	if err != nil {
		return fmt.Errorf("%w: tarball of %s at %s: %w", ErrSource, r.spec.Repo, r.spec.SHA, err)
	}
	dockerfile, _ := dockerfilePath(r.b.cfg.Dockerfile) // checked by Build
	bc := newBuildContext(body, dockerfile)
	defer bc.Close()

	r.stage = "docker build"
	args := make(map[string]*string, len(r.b.cfg.Args))
	for k, v := range r.b.cfg.Args {
		args[k] = &v
	}
	// Only a reader: the HTTP client must not close the context, Close
	// is ours to call once the engine has answered.
	resp, err := r.b.docker.ImageBuild(ctx, struct{ io.Reader }{bc}, buildtypes.ImageBuildOptions{
		Tags:        []string{r.ref},
		Dockerfile:  dockerfile,
		Target:      r.b.cfg.Target,
		BuildArgs:   args,
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		// No layer cache: cleanup removes each build's intermediate
		// images, and a concurrent build that had picked one of them up
		// from the cache would fail ("unknown parent image"). A build
		// from scratch is also what was reviewed: the commit, nothing else.
		NoCache: true,
		// The classic builder: its JSON message stream is what is
		// read below (BuildKit's needs a session and speaks another).
		Version: buildtypes.BuilderV1,
	})
	if err != nil {
		if cerr := bc.Close(); cerr != nil {
			return cerr
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s", ErrBuild, r.b.scrub(err.Error()))
	}
	defer resp.Body.Close()
	err = readStream(resp.Body, r.buildMessage)
	if cerr := bc.Close(); cerr != nil {
		return cerr
	}
	if err == nil && r.built == "" {
		err = errors.New("the engine's log ended without an image")
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &LogError{Err: fmt.Errorf("%w: %s", ErrBuild, r.b.scrub(err.Error())), Lines: r.logLines()}
	}
	return nil
}

// stepImage matches the classic builder's " ---> 0123456789ab", the image
// a step made.
var stepImage = regexp.MustCompile(`^ ---> ([0-9a-f]{12,64})$`)

// buildMessage follows one message of the build's stream.
func (r *run) buildMessage(m *jsonmessage.JSONMessage) error {
	if m.Stream != "" {
		r.tail.write(m.Stream, func(line string) {
			if strings.HasPrefix(line, "Step ") {
				r.progress(line)
			}
			if sm := stepImage.FindStringSubmatch(line); sm != nil {
				r.noteImage(sm[1], false)
			}
		})
	}
	if m.Status != "" { // pulling a base image
		r.tail.add(statusLine(m))
	}
	if m.Aux != nil {
		// The result of each stage, the last one the image built.
		var aux struct{ ID string }
		if err := json.Unmarshal(*m.Aux, &aux); err == nil && aux.ID != "" {
			r.noteImage(aux.ID, true)
			r.built = aux.ID
		}
	}
	return nil
}

// noteImage remembers an image the build made (id: a short or a full
// ID). Of the steps' images only the last is kept: removing it removes
// its untagged parents.
func (r *run) noteImage(id string, stageResult bool) {
	for i, have := range r.images {
		if sameID(have, id) {
			if len(id) > len(have) {
				r.images[i] = id
			}
			if i == len(r.images)-1 {
				r.lastIsStage = r.lastIsStage || stageResult
			}
			return
		}
	}
	if n := len(r.images); n > 0 && !r.lastIsStage && !stageResult {
		r.images[n-1] = id
	} else {
		r.images = append(r.images, id)
	}
	r.lastIsStage = stageResult
}

// sameID reports whether two image IDs, short ("c79e0d93fc12") or full
// ("sha256:c79e…"), name the same image.
func sameID(a, b string) bool {
	a, b = strings.TrimPrefix(a, "sha256:"), strings.TrimPrefix(b, "sha256:")
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

// pushDigest matches the push's "TAG: digest: sha256:… size: N".
var pushDigest = regexp.MustCompile(`^\S+: digest: (sha256:[0-9a-f]{64}) size: \d+$`)

// push pushes r.ref and returns the digest the engine reported.
func (r *run) push(ctx context.Context) (string, error) {
	r.stage = "docker push"
	r.tail = tail{}
	auth, err := r.registryAuth(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrPush, err)
	}
	rc, err := r.b.docker.ImagePush(ctx, r.ref, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("%w: %s", ErrPush, r.b.scrub(err.Error()))
	}
	defer rc.Close()
	rep := pushReport{tail: &r.tail}
	err = readStream(rc, rep.message)
	digest := rep.digest()
	if err == nil && digest == "" {
		err = errors.New("the engine reported no digest")
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", &LogError{Err: fmt.Errorf("%w: %s", ErrPush, r.b.scrub(err.Error())), Lines: r.logLines()}
	}
	return digest, nil
}

// pushReport follows a push's stream: the digest the engine reported,
// and the log without its progress bars.
type pushReport struct {
	tail                *tail
	fromAux, fromStatus string
	retrying            string // the layer whose retry countdown is the last line
}

// message follows one message of the push's stream.
func (p *pushReport) message(m *jsonmessage.JSONMessage) error {
	if m.Aux != nil {
		var res types.PushResult
		if err := json.Unmarshal(*m.Aux, &res); err == nil && cs.ValidDigest(res.Digest) {
			p.fromAux = res.Digest
		}
	}
	if m.Status == "" || m.Progress != nil && (m.Progress.Current > 0 || m.Progress.Total > 0) {
		return nil // a progress bar
	}
	if sm := pushDigest.FindStringSubmatch(m.Status); sm != nil {
		p.fromStatus = sm[1]
	}
	line := statusLine(m)
	// A failed upload counts down to its retry once a second: keep
	// only where the countdown got to.
	if strings.HasPrefix(m.Status, "Retrying in ") && p.retrying == m.ID {
		p.tail.dropLast()
	}
	p.retrying = ""
	if strings.HasPrefix(m.Status, "Retrying in ") {
		p.retrying = m.ID
	}
	p.tail.add(line)
	return nil
}

// digest is the manifest's digest the engine reported: in the aux
// message (a types.PushResult), or else in the status line of engines
// that send no aux. "" if neither.
func (p *pushReport) digest() string {
	if p.fromAux != "" {
		return p.fromAux
	}
	return p.fromStatus
}

// registryAuth is the X-Registry-Auth the engine pushes with: the
// credentials the Resolver uses for the same registry.
func (r *run) registryAuth(ctx context.Context) (string, error) {
	a, err := r.b.resolver.Auth(ctx, r.b.cfg.Image)
	if err != nil {
		return "", err
	}
	repo, err := name.NewRepository(r.b.cfg.Image)
	if err != nil {
		return "", err
	}
	return registrytypes.EncodeAuthConfig(registrytypes.AuthConfig{
		Username:      a.Username,
		Password:      a.Password,
		Auth:          a.Auth,
		IdentityToken: a.IdentityToken,
		RegistryToken: a.RegistryToken,
		ServerAddress: repo.RegistryStr(),
	})
}

// statusLine is a status message as the Docker CLI prints it.
func statusLine(m *jsonmessage.JSONMessage) string {
	if m.ID != "" {
		return m.ID + ": " + m.Status
	}
	return m.Status
}

// logLines returns the last lines of the stage's log, without secrets.
func (r *run) logLines() []string {
	lines := r.tail.last()
	for i, l := range lines {
		lines[i] = r.b.scrub(l)
	}
	return lines
}

// failed turns the error of a run that ctx ended into the context's: a
// timeout, with the log so far, or the cancellation.
func (r *run) failed(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	cause := context.Cause(ctx)
	if errors.Is(cause, ErrTimeout) {
		return &LogError{Err: fmt.Errorf("%s: %w", r.stage, cause), Lines: r.logLines()}
	}
	return fmt.Errorf("%s: %w", r.stage, cause)
}

// cleanup removes what the build left on the engine, best effort: the
// tag (and with it the image and its untagged parents, unless something
// else uses them), then the other stages' results and the last step's
// image of a failed build, when nothing tags them (a stage that is only
// "FROM alpine" has alpine as its result, which must stay).
func (r *run) cleanup(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	rm := image.RemoveOptions{PruneChildren: true}
	if _, err := r.b.docker.ImageRemove(ctx, r.ref, rm); err != nil && !cerrdefs.IsNotFound(err) {
		r.log.Debug("remove built tag", "ref", r.ref, "err", err)
	}
	for i := len(r.images) - 1; i >= 0; i-- {
		id := r.images[i]
		im, err := r.b.docker.ImageInspect(ctx, id)
		if err != nil || len(im.RepoTags) > 0 || len(im.RepoDigests) > 0 {
			continue // gone with the tag, or someone else's
		}
		if _, err := r.b.docker.ImageRemove(ctx, id, rm); err != nil && !cerrdefs.IsNotFound(err) {
			r.log.Debug("remove build image", "id", id, "err", err)
		}
	}
}
