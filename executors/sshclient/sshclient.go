// Package sshclient dials SSH servers for the executors, with strict
// host-key checking against a known_hosts file: an unknown host or a
// changed key is refused, and the error shows the key's fingerprint so an
// operator can check it out of band before adding it.
package sshclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	cs "github.com/countersign/countersign"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Config says where to connect and how to authenticate.
type Config struct {
	Address string // host:port
	User    string
	// Key is a PEM private key (OpenSSH or PKCS#8); empty means use the
	// SSH agent at $SSH_AUTH_SOCK.
	Key cs.Secret
	// KnownHosts is the known_hosts file the host key must be in. Required.
	KnownHosts string
	// Timeout bounds connecting and the handshake (default 15s).
	Timeout time.Duration
}

// Errors callers branch on.
var (
	ErrUnknownHost    = errors.New("host key unknown")
	ErrHostKeyChanged = errors.New("host key changed")
	ErrAuth           = errors.New("ssh authentication failed")
	ErrConfig         = errors.New("bad ssh configuration")
)

// Dial connects and authenticates. The caller closes the client.
func Dial(ctx context.Context, c Config) (*ssh.Client, error) {
	if c.Address == "" || c.User == "" {
		return nil, fmt.Errorf("ssh %s@%s: %w: address and user are required", c.User, c.Address, ErrConfig)
	}
	if c.KnownHosts == "" {
		return nil, fmt.Errorf("ssh %s: %w: no known_hosts file (host keys are always checked)", c.Address, ErrConfig)
	}
	hostKeys, err := knownhosts.New(c.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: read known_hosts: %w", c.Address, err)
	}
	auth, closeAuth, err := authMethod(c)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", c.Address, err)
	}
	defer closeAuth()
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	algos, err := hostKeyAlgorithms(c.KnownHosts, c.Address)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: read known_hosts: %w", c.Address, err)
	}
	cfg := &ssh.ClientConfig{
		User:              c.User,
		Auth:              []ssh.AuthMethod{auth},
		HostKeyCallback:   strict(hostKeys, c.KnownHosts),
		HostKeyAlgorithms: algos,
		Timeout:           timeout,
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", c.Address)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: connect: %w", c.Address, err)
	}
	deadline, _ := dctx.Deadline()
	conn.SetDeadline(deadline)
	sc, chans, reqs, err := ssh.NewClientConn(conn, c.Address, cfg)
	if err != nil {
		conn.Close()
		if errors.Is(err, ErrUnknownHost) || errors.Is(err, ErrHostKeyChanged) {
			return nil, fmt.Errorf("ssh %s: %w", c.Address, err)
		}
		var nerr net.Error
		if errors.As(err, &nerr) && nerr.Timeout() {
			return nil, fmt.Errorf("ssh %s: handshake timed out after %s", c.Address, timeout)
		}
		return nil, fmt.Errorf("ssh %s@%s: %w: %v", c.User, c.Address, ErrAuth, err)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

// strict wraps a known_hosts callback so that its refusals say what to do.
func strict(check ssh.HostKeyCallback, file string) ssh.HostKeyCallback {
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := check(host, remote, key)
		if err == nil {
			return nil
		}
		fp := ssh.FingerprintSHA256(key)
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			if len(ke.Want) == 0 {
				return fmt.Errorf("%w: %s offered %s key %s, which is not in %s; verify it out of band, then add it (refused)",
					ErrUnknownHost, host, key.Type(), fp, file)
			}
			return fmt.Errorf("%w: %s offered %s key %s, but %s:%d has a different key for it; this may be an attack (refused)",
				ErrHostKeyChanged, host, key.Type(), fp, ke.Want[0].Filename, ke.Want[0].Line)
		}
		var re *knownhosts.RevokedError
		if errors.As(err, &re) {
			return fmt.Errorf("%w: %s offered revoked key %s (refused)", ErrHostKeyChanged, host, fp)
		}
		return fmt.Errorf("check host key of %s: %w", host, err)
	}
}

// authMethod returns the key or agent authentication.
func authMethod(c Config) (ssh.AuthMethod, func(), error) {
	if !c.Key.IsZero() {
		signer, err := ssh.ParsePrivateKey([]byte(c.Key.Reveal()))
		if err != nil {
			// The parser's message never contains key material, but keep
			// ours generic anyway.
			return nil, nil, fmt.Errorf("%w: the private key cannot be parsed (want an unencrypted PEM key)", ErrConfig)
		}
		return ssh.PublicKeys(signer), func() {}, nil
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil, fmt.Errorf("%w: no private key configured and no SSH agent ($SSH_AUTH_SOCK unset)", ErrConfig)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the SSH agent: %w", err)
	}
	return ssh.PublicKeysCallback(agent.NewClient(conn).Signers), func() { conn.Close() }, nil
}

// hostKeyAlgorithms lists the key types known_hosts has for address, so
// that the server presents a key we can check rather than another type
// it prefers. Nil (the library default) when there are none: the
// handshake then fails as an unknown host, as it should.
func hostKeyAlgorithms(file, address string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	want := knownhosts.Normalize(address)
	var algos []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			algos = append(algos, a)
		}
	}
	for len(data) > 0 {
		marker, hosts, key, _, rest, err := ssh.ParseKnownHosts(data)
		if err != nil {
			break // io.EOF or a line the checker will also reject
		}
		data = rest
		if marker == "@revoked" {
			continue
		}
		for _, h := range hosts {
			if knownhosts.Normalize(h) != want {
				continue
			}
			switch t := key.Type(); t {
			case ssh.KeyAlgoRSA:
				add(ssh.KeyAlgoRSASHA512)
				add(ssh.KeyAlgoRSASHA256)
				add(ssh.KeyAlgoRSA)
			default:
				add(t)
			}
		}
	}
	return algos, nil
}
