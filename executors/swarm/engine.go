package swarm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"

	"github.com/docker/docker/client"
	"golang.org/x/crypto/ssh"

	"github.com/countersign/countersign/executors/sshclient"
)

// remoteSocket is the Docker socket dialled on an ssh:// engine's host.
const remoteSocket = "/var/run/docker.sock"

// newAPIClient makes the Docker client for e: the unix socket, TCP with
// TLS client certificates, or the remote socket through SSH. Nothing is
// dialled yet.
func newAPIClient(e Engine) (*client.Client, *tunnel, error) {
	shown := redactHost(e.Host) // never a password in a message
	u, err := url.Parse(e.Host)
	if err != nil || u.Scheme == "" {
		return nil, nil, fmt.Errorf("%w: host %q: want unix:///path, tcp://host:port or ssh://user@host[:port]", ErrConfig, shown)
	}
	opts := []client.Opt{client.WithAPIVersionNegotiation(), client.WithUserAgent("countersign")}
	var tun *tunnel
	switch u.Scheme {
	case "unix":
		if u.Path == "" {
			return nil, nil, fmt.Errorf("%w: host %q: want unix:///absolute/path", ErrConfig, shown)
		}
		opts = append(opts, client.WithHost(e.Host))
	case "tcp":
		if e.CertFile == "" || e.KeyFile == "" {
			return nil, nil, fmt.Errorf("%w: tcp:// engines need TLS client certificates (cert_file and key_file); plain TCP to a Docker Engine is refused", ErrConfig)
		}
		if u.Port() == "" {
			return nil, nil, fmt.Errorf("%w: host %q: want tcp://host:port", ErrConfig, shown)
		}
		opts = append(opts, client.WithHost(e.Host), client.WithTLSClientConfig(e.CAFile, e.CertFile, e.KeyFile))
	case "ssh":
		if u.User == nil || u.User.Username() == "" || u.Hostname() == "" {
			return nil, nil, fmt.Errorf("%w: host %q: want ssh://user@host[:port]", ErrConfig, shown)
		}
		if _, ok := u.User.Password(); ok {
			return nil, nil, fmt.Errorf("%w: host must not contain a password (use ssh_key)", ErrConfig)
		}
		if e.KnownHosts == "" {
			return nil, nil, fmt.Errorf("%w: ssh:// engines need known_hosts (host keys are always checked)", ErrConfig)
		}
		port := u.Port()
		if port == "" {
			port = "22"
		}
		tun = &tunnel{cfg: sshclient.Config{
			Address: net.JoinHostPort(u.Hostname(), port), User: u.User.Username(),
			Key: e.SSHKey, KnownHosts: e.KnownHosts,
		}, socket: remoteSocket}
		// The unix host makes the client speak plain HTTP without a
		// proxy; the dialler then opens the remote socket over SSH.
		opts = append(opts, client.WithHost("unix://"+remoteSocket), client.WithDialContext(tun.dial))
	default:
		return nil, nil, fmt.Errorf("%w: host %q: unsupported scheme %q (want unix://, tcp:// or ssh://)", ErrConfig, shown, u.Scheme)
	}
	api, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return api, tun, nil
}

// tunnel keeps one SSH connection to an engine's host and opens the remote
// Docker socket over it ("direct-streamlocal", which sshd allows unless
// AllowStreamLocalForwarding is off). A dropped connection is re-dialled
// on the next use.
type tunnel struct {
	cfg    sshclient.Config
	socket string

	mu     sync.Mutex
	conn   *ssh.Client
	closed bool
	wg     sync.WaitGroup // the goroutines that wait for connections to end
}

// client returns the live SSH connection, dialling it if needed.
func (t *tunnel) client(ctx context.Context) (*ssh.Client, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, errors.New("engine client closed")
	}
	if t.conn != nil {
		return t.conn, nil
	}
	c, err := sshclient.Dial(ctx, t.cfg)
	if err != nil {
		return nil, err
	}
	t.conn = c
	// Forget the connection when it ends, so the next use re-dials. The
	// goroutine ends when the connection does; Close closes it and waits.
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		_ = c.Wait()
		t.drop(c)
	}()
	return c, nil
}

// drop forgets c if it is still the current connection, and closes it.
func (t *tunnel) drop(c *ssh.Client) {
	t.mu.Lock()
	if t.conn == c {
		t.conn = nil
	}
	t.mu.Unlock()
	c.Close()
}

// dial opens the remote Docker socket; it is the Docker client's dialler.
func (t *tunnel) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	var lastErr error
	for range 2 { // a second try with a fresh connection if the old one died
		c, err := t.client(ctx)
		if err != nil {
			return nil, err
		}
		conn, err := c.DialContext(ctx, "unix", t.socket)
		if err == nil {
			return conn, nil
		}
		lastErr = err
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) || ctx.Err() != nil {
			break // sshd refused the socket: a new connection will not help
		}
		t.drop(c)
	}
	return nil, fmt.Errorf("open %s on %s over ssh (sshd must allow AllowStreamLocalForwarding): %w", t.socket, t.cfg.Address, lastErr)
}

// Close closes the SSH connection and waits for its goroutine; later
// dials fail.
func (t *tunnel) Close() error {
	t.mu.Lock()
	c := t.conn
	t.conn, t.closed = nil, true
	t.mu.Unlock()
	var err error
	if c != nil {
		if err = c.Close(); errors.Is(err, net.ErrClosed) {
			err = nil // the server had closed it already
		}
	}
	t.wg.Wait()
	return err
}
