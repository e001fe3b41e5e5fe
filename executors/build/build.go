// Package build builds a service's image for a commit with a Docker
// Engine and pushes it (build mode "docker"): it implements bot.Builder.
//
// A build fetches the repository at exactly the pushed commit as the
// tarball GitHub serves, streams it re-rooted (without GitHub's top-level
// "owner-repo-sha/" directory) to the engine as the build context, builds
// it with the engine's classic builder, pushes the tag and returns the
// image pinned by the digest the push reported, after the registry has
// confirmed it. The local image is removed afterwards, so that builds do
// not fill the engine (which also drops its layer cache for the next
// build).
//
// The classic builder, because its JSON message stream is what the
// package reads (BuildKit would need a session). Like that builder, and
// unlike the docker CLI, the package does not apply .dockerignore: every
// file of the commit reaches the engine (GitHub's tarballs hold no .git).
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"

	cs "github.com/countersign/countersign"

	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/executors/registry"
)

// Source fetches a repository's files at one commit. bot/github
// implements it with GitHub's tarball API.
type Source interface {
	// Tarball returns a gzip'd tar of repo ("owner/name") at exactly sha,
	// as GitHub's tarball API serves it: every entry inside one top-level
	// directory ("owner-name-sha/"), and maybe a pax global header. The
	// caller closes it; it is read as it arrives.
	Tarball(ctx context.Context, repo, sha string) (io.ReadCloser, error)
}

// Config says what to build and where to push it, for one service.
type Config struct {
	// Image is the repository to push to, without tag or digest, e.g.
	// "127.0.0.1:5000/org/app". Each build pushes Image:BuildSpec.Tag.
	Image string
	// Dockerfile is its path in the repository (default "Dockerfile").
	Dockerfile string
	// Target is the multi-stage target to build ("" : the last stage).
	Target string
	// Args are the build arguments (--build-arg), e.g. EXTRA_FLAGS.
	Args map[string]string
	// Timeout bounds a whole build, fetch to push (default 1h).
	Timeout time.Duration
}

// Defaults for Config.
const (
	DefaultDockerfile = "Dockerfile"
	DefaultTimeout    = time.Hour
)

// Options tune a Builder. The zero value is usable.
type Options struct {
	// Credentials for registry hosts, handed to the engine for the push
	// and used to confirm the digest. A host not listed gets those of the
	// bot's Docker config, as with registry.Resolver.
	Credentials []registry.Credential
	// Logger gets the details of failures (nil: discard).
	Logger *slog.Logger
}

// Errors callers branch on. A failed build wraps at most one of them (or
// the context's error), and wraps a *LogError when Docker's log explains
// the failure.
var (
	// ErrConfig: the Config or the BuildSpec cannot work (bad image
	// repository, tag or Dockerfile path).
	ErrConfig = errors.New("bad build configuration")
	// ErrSource: the repository's tarball could not be fetched or read.
	ErrSource = errors.New("cannot fetch the commit")
	// ErrNoDockerfile: the commit has no file at Config.Dockerfile.
	ErrNoDockerfile = errors.New("no Dockerfile")
	// ErrBuild: the engine refused or failed the build.
	ErrBuild = errors.New("docker build failed")
	// ErrPush: the engine failed to push the image, or the registry did
	// not confirm the digest the engine reported.
	ErrPush = errors.New("docker push failed")
	// ErrTimeout: the build ran out of Config.Timeout. It also matches
	// context.DeadlineExceeded.
	ErrTimeout = errors.New("build timed out")
)

// Builder builds and pushes one service's image with one Docker Engine.
// Build is safe to call concurrently; builds of the same tag wait for
// each other, as they would otherwise retag each other's image before
// the push. Builders that share an Image must not build the same tag at
// once.
type Builder struct {
	docker   *client.Client
	src      Source
	cfg      Config
	resolver *registry.Resolver
	log      *slog.Logger
	secrets  []string // the passwords, never to be shown
	locks    tagLocks
}

var _ bot.Builder = (*Builder)(nil)

// New returns a Builder that builds with docker (shared, not closed by
// the Builder), fetches commits from src and pushes to cfg.Image. The
// configuration is checked by each Build, which fails with ErrConfig.
func New(docker *client.Client, src Source, cfg Config, opts Options) *Builder {
	if cfg.Dockerfile == "" {
		cfg.Dockerfile = DefaultDockerfile
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var secrets []string
	for _, c := range opts.Credentials {
		if p := c.Password.Reveal(); p != "" {
			secrets = append(secrets, p)
		}
	}
	return &Builder{
		docker:   docker,
		src:      src,
		cfg:      cfg,
		resolver: &registry.Resolver{Credentials: opts.Credentials, Logger: log},
		log:      log.With("image", cfg.Image),
		secrets:  secrets,
	}
}

// Build builds spec's commit, pushes it as Config.Image:spec.Tag and
// returns Config.Image@sha256:… as the push reported it and the registry
// confirmed it. progress (may be nil) gets each build step ("Step 2/5 :
// COPY . /src") and the start of the push, from Build's goroutine.
//
// It returns when ctx ends (with the context's error) or Config.Timeout
// passes (ErrTimeout), and fails with ErrConfig, ErrSource,
// ErrNoDockerfile, ErrBuild or ErrPush; when Docker's log tells why, the
// error wraps a *LogError and its text ends with the log's last lines.
func (b *Builder) Build(ctx context.Context, spec bot.BuildSpec, progress func(line string)) (bot.Built, error) {
	start := time.Now()
	what := spec.Repo + "@" + cs.ShortSHA(spec.SHA)
	if progress == nil {
		progress = func(string) {}
	}
	ref, err := b.check(spec)
	if err != nil {
		return bot.Built{}, fmt.Errorf("build %s: %w", what, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, b.cfg.Timeout,
		fmt.Errorf("%w after %s: %w", ErrTimeout, b.cfg.Timeout, context.DeadlineExceeded))
	defer cancel()
	log := b.log.With("repo", spec.Repo, "sha", spec.SHA, "tag", spec.Tag)

	unlock, err := b.locks.lock(ctx, ref)
	if err != nil {
		return bot.Built{}, fmt.Errorf("build %s: wait for the other build of %s: %w", what, ref, context.Cause(ctx))
	}
	defer unlock()

	r := &run{b: b, spec: spec, ref: ref, progress: progress, log: log}
	defer r.cleanup(ctx)
	pinned, err := r.do(ctx)
	if err != nil {
		err = r.failed(ctx, err)
		if errors.Is(err, context.Canceled) {
			log.Info("build cancelled", "err", err)
		} else {
			log.Warn("build failed", "err", err)
		}
		return bot.Built{}, fmt.Errorf("build %s: %w", what, err)
	}
	// The size is for people; the registry has confirmed the digest, so
	// failing to tell the size does not fail the build.
	size, err := b.resolver.Size(ctx, pinned)
	if err != nil {
		log.Warn("size of pushed image unknown", "image", pinned, "err", err)
		size = 0
	}
	took := time.Since(start)
	log.Info("built", "pinned", pinned, "size", size, "took", took)
	return bot.Built{Image: pinned, Size: size, Took: took}, nil
}

// scrub removes every configured password from s: the engine's and the
// registry's own words are quoted in errors, and could echo what they
// were sent.
func (b *Builder) scrub(s string) string {
	for _, p := range b.secrets {
		s = strings.ReplaceAll(s, p, "[redacted]")
	}
	return s
}

// check validates the configuration and spec and returns Image:Tag.
func (b *Builder) check(spec bot.BuildSpec) (string, error) {
	if _, err := name.NewRepository(b.cfg.Image); err != nil || strings.ContainsAny(b.cfg.Image, "@") {
		return "", fmt.Errorf("%w: image %q: want host/path, without tag or digest", ErrConfig, b.cfg.Image)
	}
	ref := b.cfg.Image + ":" + spec.Tag
	if _, err := name.NewTag(ref, name.StrictValidation); err != nil || spec.Tag == "" {
		return "", fmt.Errorf("%w: tag %q", ErrConfig, spec.Tag)
	}
	if spec.Repo == "" || spec.SHA == "" {
		return "", fmt.Errorf("%w: the build needs a repository and a commit (got %q at %q)", ErrConfig, spec.Repo, spec.SHA)
	}
	if _, err := dockerfilePath(b.cfg.Dockerfile); err != nil {
		return "", err
	}
	return ref, nil
}

// dockerfilePath cleans a Dockerfile path and refuses one outside the
// repository.
func dockerfilePath(p string) (string, error) {
	c := path.Clean(strings.TrimPrefix(p, "./"))
	if path.IsAbs(p) || c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%w: dockerfile %q: want a path inside the repository", ErrConfig, p)
	}
	return c, nil
}
