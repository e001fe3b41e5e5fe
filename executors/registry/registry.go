// Package registry resolves container images to immutable digests.
//
// Countersign never deploys a tag: a push becomes "repo@sha256:…" here,
// either at once (Resolve) or after waiting for an image built elsewhere to
// appear (Wait), and a digest someone typed is checked before it is offered
// for approval (Check). The registry is spoken to with go-containerregistry;
// the package also holds an in-process registry for `countersign demo`.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	cs "github.com/countersign/countersign"
)

// Errors that callers branch on. Every error this package returns about a
// registry wraps at most one of them, with a message that names the image.
var (
	// ErrNotFound: the tag or digest is not in the registry. It also
	// matches cs.ErrNotFound.
	ErrNotFound = fmt.Errorf("image %w", cs.ErrNotFound)
	// ErrTimeout: Wait gave up before the tag appeared.
	ErrTimeout = errors.New("timed out")
	// ErrNotDigest: a reference is not "repo@sha256:<64 hex>".
	ErrNotDigest = errors.New("not a digest reference")
	// ErrUnauthorized: the registry refused our credentials (HTTP 401 or 403).
	ErrUnauthorized = errors.New("registry refused the credentials")
	// ErrUnreachable: no connection to the registry (refused, DNS, dial timeout).
	ErrUnreachable = errors.New("registry unreachable")
	// ErrBadTag: a tag template is malformed or renders an invalid tag.
	ErrBadTag = errors.New("bad image tag")
)

// DefaultPollInterval is the time between checks in Wait when
// Resolver.PollInterval is zero.
const DefaultPollInterval = 10 * time.Second

// userAgent identifies the bot in registry logs.
const userAgent = "countersign"

// Credential is a username and password for one registry host, as in the
// registries: section of the configuration.
type Credential struct {
	// Host is the registry host, with a port if not the default
	// ("registry.example.org", "127.0.0.1:5000"). "docker.io" means Docker Hub.
	Host     string
	Username string
	Password cs.Secret
}

// Resolver looks images up in registries. The zero value is ready to use;
// set the fields before the first call and do not change them afterwards.
// Its methods are safe to call concurrently.
type Resolver struct {
	// Credentials for named registry hosts. A host listed here is only
	// ever sent these credentials; other hosts get those of Keychain.
	Credentials []Credential
	// Keychain supplies credentials for hosts not in Credentials; nil
	// means authn.DefaultKeychain (the Docker config and its helpers).
	Keychain authn.Keychain
	// PollInterval between checks while waiting for a tag (default 10s).
	PollInterval time.Duration
	// Insecure allows plain HTTP to any registry. Loopback registries
	// (127.0.0.0/8, localhost, [::1]) may always use plain HTTP, as with
	// Docker.
	Insecure bool
	// Logger gets the details of failures (nil: discard).
	Logger *slog.Logger
}

// Resolve looks repo:tag up once, without waiting, and returns
// "repo@sha256:…" with the digest of the manifest or index the tag names.
// repo is returned as given. Errors wrap ErrNotFound, ErrUnauthorized or
// ErrUnreachable where they apply, or the context's error.
func (r *Resolver) Resolve(ctx context.Context, repo, tag string) (string, error) {
	op := "resolve " + repo + ":" + tag
	ref, err := r.tagRef(repo, tag)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	digest, err := r.head(ctx, ref, true)
	if err != nil {
		return "", r.fail(ctx, op, ref.Context().RegistryStr(), err)
	}
	return repo + "@" + digest, nil
}

// Check confirms that ref, an exact "repo@sha256:…", is in the registry.
// A tag reference (or anything else that is not a digest reference) is
// refused with ErrNotDigest without asking the registry. Other errors wrap
// ErrNotFound, ErrUnauthorized or ErrUnreachable where they apply.
func (r *Resolver) Check(ctx context.Context, ref string) error {
	op := "check " + ref
	repo, digest, err := SplitDigest(ref)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	d, err := name.NewDigest(repo+"@"+digest, r.nameOptions(repo)...)
	if err != nil {
		return fmt.Errorf("%s: %w: %v", op, ErrNotDigest, err)
	}
	if _, err := r.head(ctx, d, true); err != nil {
		return r.fail(ctx, op, d.Context().RegistryStr(), err)
	}
	return nil
}

// SplitDigest splits "registry.example.org/x/y@sha256:<64 hex>" into its
// repository and digest. Anything else, including a tag reference or a
// reference with both a tag and a digest, is an error wrapping ErrNotDigest.
func SplitDigest(ref string) (repo, digest string, err error) {
	i := strings.LastIndex(ref, "@")
	if i < 0 {
		return "", "", fmt.Errorf("%q: %w: want repo@sha256:<64 hex digits>", ref, ErrNotDigest)
	}
	repo, digest = ref[:i], ref[i+1:]
	if !cs.ValidDigest(digest) {
		return "", "", fmt.Errorf("%q: %w: the digest must be sha256: and 64 lower-case hex digits", ref, ErrNotDigest)
	}
	if _, err := name.NewRepository(repo); err != nil {
		if _, terr := name.NewTag(repo); terr == nil {
			return "", "", fmt.Errorf("%q: %w: give the digest without a tag", ref, ErrNotDigest)
		}
		return "", "", fmt.Errorf("%q: %w: bad repository %q", ref, ErrNotDigest, repo)
	}
	return repo, digest, nil
}

// tagRef parses repo and tag into a reference, refusing a repo that
// already carries a tag or digest.
func (r *Resolver) tagRef(repo, tag string) (name.Tag, error) {
	if _, err := name.NewRepository(repo); err != nil {
		return name.Tag{}, fmt.Errorf("bad repository %q (want host/path, without tag or digest)", repo)
	}
	if !validTag(tag) {
		return name.Tag{}, fmt.Errorf("%w %q", ErrBadTag, tag)
	}
	return name.NewTag(repo+":"+tag, r.nameOptions(repo)...)
}

// nameOptions allows plain HTTP where the Resolver or the host permits it.
func (r *Resolver) nameOptions(repo string) []name.Option {
	if r.Insecure || isLoopback(repoHost(repo)) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// repoHost returns the registry host of a repository name as written
// ("" for a Docker Hub short name).
func repoHost(repo string) string {
	host, _, ok := strings.Cut(repo, "/")
	if !ok || !strings.ContainsAny(host, ".:") && host != "localhost" {
		return ""
	}
	return host
}

// isLoopback reports whether host[:port] is localhost or a loopback address.
func isLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// head asks the registry for the digest of ref. Without retries, a failed
// request is reported at once (Wait polls anyway and must keep its
// deadline, which go-containerregistry's retry sleeps do not honour).
func (r *Resolver) head(ctx context.Context, ref name.Reference, retry bool) (string, error) {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(r.keychain()),
		remote.WithUserAgent(userAgent),
	}
	if !retry {
		opts = append(opts, remote.WithRetryBackoff(remote.Backoff{Steps: 1}))
	}
	desc, err := remote.Head(ref, opts...)
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

// keychain puts the configured credentials before the fallback keychain.
func (r *Resolver) keychain() authn.Keychain {
	fallback := r.Keychain
	if fallback == nil {
		fallback = authn.DefaultKeychain
	}
	return authn.NewMultiKeychain(credentials(r.Credentials), fallback)
}

// credentials is a keychain over the configured hosts. It never falls
// through for a listed host: a configured host that gets the Docker
// config's credentials instead would be a surprise.
type credentials []Credential

// Resolve implements authn.Keychain.
func (c credentials) Resolve(res authn.Resource) (authn.Authenticator, error) {
	for _, cred := range c {
		if sameHost(cred.Host, res.RegistryStr()) {
			return authn.FromConfig(authn.AuthConfig{
				Username: cred.Username,
				Password: cred.Password.Reveal(),
			}), nil
		}
	}
	return authn.Anonymous, nil
}

// sameHost compares registry hosts the way go-containerregistry names
// them (so "docker.io" is Docker Hub's "index.docker.io").
func sameHost(configured, registry string) bool {
	reg, err := name.NewRegistry(configured)
	if err != nil {
		return false
	}
	return strings.EqualFold(reg.RegistryStr(), registry)
}

// hasCredential reports whether host is listed in Credentials.
func (r *Resolver) hasCredential(host string) bool {
	for _, c := range r.Credentials {
		if sameHost(c.Host, host) {
			return true
		}
	}
	return false
}

// logger returns the Logger or one that discards.
func (r *Resolver) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// pollInterval returns PollInterval or its default.
func (r *Resolver) pollInterval() time.Duration {
	if r.PollInterval > 0 {
		return r.PollInterval
	}
	return DefaultPollInterval
}
