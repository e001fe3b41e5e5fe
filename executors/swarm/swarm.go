// Package swarm is the Docker Swarm executor: it deploys an exact image
// digest to a Swarm service, rolls it back to an exact earlier digest, and
// scales it, through the Docker Engine API of the local socket, a TCP
// engine with TLS client certificates, or a remote engine reached over SSH.
//
// A deploy keeps the rest of the service spec and changes only
// TaskTemplate.ContainerSpec.Image, then follows Docker's UpdateStatus and
// the service's tasks until the update completes, pauses, rolls back or
// runs out of time, reporting "tasks running new image n/m" as it goes.
// Docker carries an update on without the bot: after a restart, Resume
// follows the one the bot had sent to its end, without sending it again. A
// rollback is a deploy of an earlier digest (the bot picks it from its
// deployment history), so that the audit trail names exactly what ran;
// Swarm's own PreviousSpec is only the fallback when there is no history.
package swarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Engine is one Docker Engine, as the configuration names it.
type Engine struct {
	// Name is the engine's key in the configuration, for messages.
	Name string
	// Host is "unix:///path", "tcp://host:port" or "ssh://user@host[:port]".
	Host string
	// SSHKey (PEM; empty: the SSH agent) and KnownHosts (required) are for
	// ssh:// hosts. The remote engine is reached through its
	// /var/run/docker.sock, forwarded over the SSH connection.
	SSHKey     cs.Secret
	KnownHosts string
	// CAFile, CertFile and KeyFile are for tcp:// hosts. CertFile and
	// KeyFile are required: plain TCP to an engine is refused. Without
	// CAFile the system roots verify the engine's certificate.
	CAFile, CertFile, KeyFile string
}

// Options tune a Client. The zero value is usable.
type Options struct {
	// Timeout bounds waiting for a deploy or scale to converge (default 10m).
	Timeout time.Duration
	// Poll is the time between looks at the service while waiting (default 1s).
	Poll time.Duration
	// DryRun makes every executor describe and report what it would do,
	// reading what it can, and change nothing.
	DryRun bool
	// Logger gets the details of failures (nil: discard).
	Logger *slog.Logger
}

// Defaults for Options.
const (
	DefaultTimeout = 10 * time.Minute
	DefaultPoll    = time.Second
)

// Errors callers branch on. Every error about a service wraps at most one
// of them, with a message that names the service and the engine.
var (
	// ErrUnreachable: the engine did not answer (refused, SSH failure, TLS failure).
	ErrUnreachable = errors.New("docker engine unreachable")
	// ErrServiceNotFound: the engine has no such Swarm service. It also
	// matches cs.ErrNotFound.
	ErrServiceNotFound = fmt.Errorf("swarm service %w", cs.ErrNotFound)
	// ErrNotDigest: an image is not "repo@sha256:<64 hex>" (a tag, or a tag and a digest).
	ErrNotDigest = errors.New("not an exact digest reference")
	// ErrWrongRepo: an image is not from the service's repository.
	ErrWrongRepo = errors.New("image from another repository")
	// ErrGlobalService: a global service cannot be scaled.
	ErrGlobalService = errors.New("global service")
	// ErrNoPrevious: there is nothing to roll back to.
	ErrNoPrevious = errors.New("nothing to roll back to")
	// ErrImageNotPullable: the engine cannot read the image from its registry.
	ErrImageNotPullable = errors.New("image not pullable")
	// ErrUpdatePaused: Docker paused the update (or the rollback) after task failures.
	ErrUpdatePaused = errors.New("update paused")
	// ErrRolledBack: Docker rolled the update back after task failures.
	ErrRolledBack = errors.New("update rolled back")
	// ErrTimeout: the service did not converge within Options.Timeout.
	ErrTimeout = errors.New("timed out")
	// ErrConfig: the engine's configuration cannot work.
	ErrConfig = errors.New("bad engine configuration")
)

// Client talks to one Docker Engine. Connect makes it without reaching
// the engine; every call connects as needed (an SSH connection is kept
// and re-dialled when it drops). Its methods, and its Executors', are safe
// to call concurrently.
type Client struct {
	engine Engine
	opts   Options
	log    *slog.Logger
	api    *client.Client
	tunnel *tunnel // nil unless the engine is ssh://
	// display is the engine's host for messages, without any password.
	display string
	// services are the executors made by Service, by Countersign's name,
	// for drift sweeps (drift.go).
	services sync.Map
}

// Connect returns a Client for e. It checks the configuration (host URL,
// TLS files, known_hosts given) but does not reach the engine: an engine
// that is down makes each request fail with ErrUnreachable, not the bot
// refuse to start. The API version is negotiated on the first call. ctx
// is not used yet: Connect does no I/O.
func Connect(ctx context.Context, e Engine, opts Options) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{engine: e, opts: opts, log: log.With("engine", e.Name), display: redactHost(e.Host)}
	api, tun, err := newAPIClient(e)
	if err != nil {
		return nil, fmt.Errorf("connect to engine %s: %w", c.where(), err)
	}
	c.api, c.tunnel = api, tun
	return c, nil
}

// Close releases the engine's connections (and the SSH connection).
func (c *Client) Close() error {
	err := c.api.Close()
	if c.tunnel != nil {
		err = errors.Join(err, c.tunnel.Close())
	}
	return err
}

// where names the engine in messages: "chives (ssh://root@chives…)".
func (c *Client) where() string {
	if c.engine.Name == "" {
		return c.display
	}
	return fmt.Sprintf("%s (%s)", c.engine.Name, c.display)
}

// redactHost hides a password in a host URL (the configuration refuses
// them, but a message must never show one).
func redactHost(host string) string {
	u, err := url.Parse(host)
	if err != nil {
		if strings.Contains(host, "@") {
			return "[unparsable host]"
		}
		return host
	}
	return u.Redacted()
}

// ready makes sure an SSH engine's connection is up, so that SSH errors
// (unknown host key, authentication) reach the caller intact rather than
// as the Docker client's generic "cannot connect".
func (c *Client) ready(ctx context.Context) error {
	if c.tunnel == nil {
		return nil
	}
	if _, err := c.tunnel.client(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return nil
}

// Executor deploys, rolls back and scales one Swarm service. It implements
// bot.Executor, bot.Preparer, bot.Statuser and bot.Resumer.
type Executor struct {
	c       *Client
	name    string // Countersign's name of the service
	service string // Docker's name of the service
	repo    string // the image repository, without tag or digest ("" : any)

	// beforeUpdate, when set (by tests), runs after the service was read
	// and before each update is sent: the window in which the engine, or
	// someone else, may change the service.
	beforeUpdate func()
}

var (
	_ bot.Executor = (*Executor)(nil)
	_ bot.Preparer = (*Executor)(nil)
	_ bot.Statuser = (*Executor)(nil)
	_ bot.Resumer  = (*Executor)(nil)
)

// Service returns the executor of a Countersign service name whose Swarm
// service is swarmService and whose images come from imageRepo (images
// from other repositories are refused; "" allows any).
func (c *Client) Service(name, swarmService, imageRepo string) *Executor {
	e := &Executor{c: c, name: name, service: swarmService, repo: imageRepo}
	c.services.Store(name, e)
	return e
}

// where names the service and its engine in messages.
func (e *Executor) where() string {
	return fmt.Sprintf("Swarm service %s on engine %s", e.service, e.c.where())
}

// checkTarget refuses an action for another service than this executor's.
func (e *Executor) checkTarget(target string) error {
	if target != e.name {
		return fmt.Errorf("swarm executor of %s cannot act on %q", e.name, target)
	}
	return nil
}
