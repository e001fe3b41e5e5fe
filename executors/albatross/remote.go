package albatross

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/countersign/countersign/executors/sshclient"
	"golang.org/x/crypto/ssh"
)

// maxOutput bounds what is kept of a remote command's stdout (the index,
// info) and stderr (for error messages): a confused host cannot make the
// bot hold more.
const (
	maxOutput = 1 << 20
	maxDetail = 400
)

// CommandError is a remote command that failed: a non-zero exit, or no
// exit status at all (Code -1: the connection or the command was lost).
// For albatross-client, Error explains exit codes 116–125.
type CommandError struct {
	Command string // the command line as run on the host
	Code    int
	Output  string // the end of its stderr (or stdout when stderr is empty)
	Client  bool   // an albatross-client command
}

// clientExits explains albatross-client's documented exit codes.
var clientExits = map[int]string{
	116: "certificate chain rejected",
	117: "the albatross daemon refused the command",
	118: "HTTP error",
	119: "local authentication failed",
	120: "remote authentication failed",
	121: "communication with the albatross daemon failed",
	122: "cannot connect to the albatross daemon (is it running? is --socket right?)",
	124: "command-line usage error (check the unikernel's create arguments in the configuration)",
	125: "internal error in albatross-client",
	126: "albatross-client is not executable on the host",
	127: "albatross-client not found on the host (check albatross_client in the configuration)",
}

// Error says what failed, why, and what the command printed.
func (e *CommandError) Error() string {
	what := "`" + e.Command + "`"
	if e.Client {
		what = "albatross-client " + e.subcommand()
	}
	var s string
	switch {
	case e.Code < 0:
		s = what + ": no exit status (connection lost or command killed)"
	case e.Client && clientExits[e.Code] != "":
		s = fmt.Sprintf("%s: exit %d (%s)", what, e.Code, clientExits[e.Code])
	default:
		s = fmt.Sprintf("%s: exit %d", what, e.Code)
	}
	if e.Output != "" {
		s += ": " + e.Output
	}
	return s
}

// subcommand is the word after the client path: create, info, …
func (e *CommandError) subcommand() string {
	f := strings.Fields(e.Command)
	if len(f) > 1 {
		return f[1]
	}
	return "command"
}

// conn is one SSH connection to the host.
type conn struct {
	c    *ssh.Client
	host string // for messages
}

// dial connects with strict host-key checking.
func (e *Executor) dial(ctx context.Context) (*conn, error) {
	c, err := sshclient.Dial(ctx, sshclient.Config{
		Address: e.host.Address, User: e.host.User, Key: e.host.Key, KnownHosts: e.host.KnownHosts,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to albatross host %s: %w", e.where(), err)
	}
	return &conn{c: c, host: e.where()}, nil
}

// Close closes the connection.
func (c *conn) Close() error { return c.c.Close() }

// run runs cmd through the remote user's shell with stdin (may be nil)
// and returns its stdout. A non-zero exit is a *CommandError; client
// marks an albatross-client command. If ctx ends first, the session is
// closed and ctx's error returned.
func (c *conn) run(ctx context.Context, cmd string, stdin io.Reader, client bool) (string, error) {
	sess, err := c.c.NewSession()
	if err != nil {
		return "", fmt.Errorf("open ssh session on %s: %w", c.host, err)
	}
	defer sess.Close()
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxOutput, maxOutput
	sess.Stdout, sess.Stderr = &stdout, &stderr
	if stdin != nil {
		sess.Stdin = stdin
	}
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Close()
		<-done
		return "", fmt.Errorf("run `%s` on %s: %w", cmd, c.host, ctx.Err())
	}
	if err == nil {
		return stdout.String(), nil
	}
	detail := tail(stderr.String())
	if detail == "" {
		detail = tail(stdout.String())
	}
	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case errors.As(err, &exit):
		return "", &CommandError{Command: cmd, Code: exit.ExitStatus(), Output: detail, Client: client}
	case errors.As(err, &missing):
		return "", &CommandError{Command: cmd, Code: -1, Output: detail, Client: client}
	}
	// The command exited 0 but stdin could not be read to the end: the
	// caller's stream failed, and what the host got is incomplete.
	return "", fmt.Errorf("run `%s` on %s: %w", cmd, c.host, err)
}

// tail keeps the last maxDetail bytes of s, trimmed, on one line.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxDetail {
		s = "…" + s[len(s)-maxDetail:]
	}
	return strings.Join(strings.Fields(s), " ")
}

// limitedBuffer keeps the first max bytes written and drops the rest
// (but reports them written, so that the command is not disturbed). It
// has no ReadFrom, so io.Copy cannot go around Write.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// String returns what was kept.
func (b *limitedBuffer) String() string { return b.buf.String() }

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellJoin quotes every word and joins them with spaces.
func shellJoin(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shellQuote(w)
	}
	return strings.Join(q, " ")
}
