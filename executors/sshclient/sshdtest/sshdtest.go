// Package sshdtest starts a real OpenSSH server on loopback for tests:
// key authentication only, a fresh host key and client key, and a
// known_hosts file that trusts exactly that host key.
package sshdtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"golang.org/x/crypto/ssh"
)

// Server is a running sshd.
type Server struct {
	Addr          string // 127.0.0.1:port
	Dir           string // its private directory (keys, config, logs)
	KnownHosts    string // a known_hosts file trusting the server's host key
	ClientKey     cs.Secret
	ClientKeyFile string
	User          string
	HostKey       ssh.PublicKey
}

// Options tune the server.
type Options struct {
	// Config lines appended to sshd_config (e.g. "SetEnv PATH=/x:/usr/bin").
	Config []string
}

// Start starts sshd, or fails the test (CI set) or skips it (otherwise)
// when OpenSSH is not installed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
		if _, err := os.Stat(sshd); err != nil {
			msg := "OpenSSH server not installed: apt-get install -y --no-install-recommends openssh-server"
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	dir := t.TempDir()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	hostPub, hostPEM := newKey(t)
	clientPub, clientPEM := newKey(t)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatalf("sshdtest: %v", err)
		}
		return p
	}
	hostKey := write("host_ed25519", hostPEM)
	clientKey := write("client_ed25519", clientPEM)
	auth := write("authorized_keys", ssh.MarshalAuthorizedKey(clientPub))
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	// A port picked free may be taken before sshd binds it (tests run in
	// parallel packages): then sshd exits, or the dial reaches someone
	// else. Only sshd's own "Server listening" line proves it is ours.
	var addr string
	for attempt := 1; ; attempt++ {
		var ok bool
		var why string
		addr, ok, why = startSSHD(t, sshd, dir, write, hostKey, auth, opts.Config)
		if ok {
			break
		}
		if attempt == 5 {
			t.Fatalf("sshdtest: sshd did not start after %d tries: %s", attempt, why)
		}
	}
	kh := write("known_hosts", []byte(knownHostsLine(addr, hostPub)))
	return &Server{Addr: addr, Dir: dir, KnownHosts: kh, ClientKey: cs.NewSecret(string(clientPEM)),
		ClientKeyFile: clientKey, User: u.Username, HostKey: hostPub}
}

// knownHostsLine is the known_hosts line for addr's key.
func knownHostsLine(addr string, key ssh.PublicKey) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf("[%s]:%s %s", host, port, ssh.MarshalAuthorizedKey(key))
}

// KnownHostsWith writes a known_hosts file in the server's directory that
// lists key for the server's address (e.g. a wrong key, for tests of a
// changed host key) and returns its path.
func (s *Server) KnownHostsWith(t testing.TB, name string, key ssh.PublicKey) string {
	t.Helper()
	p := filepath.Join(s.Dir, name)
	if err := os.WriteFile(p, []byte(knownHostsLine(s.Addr, key)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// NewKey returns a fresh ed25519 public key and its private key in PEM.
func NewKey(t testing.TB) (ssh.PublicKey, []byte) { return newKey(t) }

func newKey(t testing.TB) (ssh.PublicKey, []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sp, pem.EncodeToMemory(block)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSSHD starts sshd on a free port and waits until it says it
// listens there. ok is false (why says why) when it exited first, e.g.
// because the port was taken meanwhile; the caller tries another.
func startSSHD(t testing.TB, sshd, dir string, write func(string, []byte) string, hostKey, auth string, extra []string) (addr string, ok bool, why string) {
	port := freePort(t)
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	conf := []string{
		fmt.Sprintf("Port %d", port), "ListenAddress 127.0.0.1", "HostKey " + hostKey,
		"PidFile " + filepath.Join(dir, "sshd.pid"), "AuthorizedKeysFile " + auth,
		"PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
		"UsePAM no", "StrictModes no", "Subsystem sftp internal-sftp", "LogLevel VERBOSE",
	}
	conf = append(conf, extra...)
	cfg := write("sshd_config", []byte(strings.Join(conf, "\n")+"\n"))
	logf, err := os.Create(filepath.Join(dir, "sshd.log"))
	if err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	cmd := exec.Command(sshd, "-D", "-e", "-f", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("sshdtest: start %s: %v", sshd, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
		logf.Close()
	}
	listening := fmt.Sprintf("Server listening on 127.0.0.1 port %d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, _ := os.ReadFile(logf.Name())
		select {
		case <-exited:
			logf.Close()
			return addr, false, fmt.Sprintf("sshd exited:\n%s", log)
		default:
		}
		if strings.Contains(string(log), listening) {
			if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
				c.Close()
				t.Cleanup(stop)
				return addr, true, ""
			}
		}
		if time.Now().After(deadline) {
			stop()
			return addr, false, fmt.Sprintf("sshd did not listen on %s in 10 s:\n%s", addr, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
