// Package bindtest starts a real BIND 9 name server on loopback for tests:
// the primary of one dynamic zone, updatable with a TSIG key, as Countersign
// finds it in production. It fails the test (env CI set) or skips it
// (otherwise) when named is not installed.
package bindtest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/miekg/dns"
)

// Install is the command that installs what Start needs (Debian).
const Install = "apt-get install -y --no-install-recommends bind9 bind9-utils bind9-dnsutils"

// Zone is the dynamic zone every server holds.
const Zone = "example.test"

// Server is a running named.
type Server struct {
	Addr      string // 127.0.0.1:port, TCP and UDP
	Dir       string // its private directory (config, zone, journal)
	Key       string // TSIG key allowed to change any name in the zone
	Algorithm string // hmac-sha256 or hmac-sha512
	Secret    cs.Secret
	// LimitedKey may only change A records of limited.example.test.
	// (same algorithm): anything else it asks for is REFUSED.
	LimitedKey    string
	LimitedSecret cs.Secret

	log *lockedBuffer
}

// Options tune the server.
type Options struct {
	// Algorithm of both keys; default hmac-sha256.
	Algorithm string
	// Records are zone-file lines added to the seed (relative names are
	// under example.test.). The seed holds the SOA (serial 1), NS
	// ns1.example.test., ns1 A 127.0.0.1, and www 300 A 192.0.2.1.
	Records []string
}

// Start starts named with a fresh key and zone and stops it when the test
// ends. It retries on another port when the one it picked was taken.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	named := lookNamed(t)
	if opts.Algorithm == "" {
		opts.Algorithm = "hmac-sha256"
	}
	s := &Server{
		Dir: t.TempDir(), Key: "countersign.", Algorithm: opts.Algorithm, Secret: newSecret(t),
		LimitedKey: "limited.", LimitedSecret: newSecret(t),
	}
	if err := os.WriteFile(filepath.Join(s.Dir, Zone+".zone"), []byte(zoneFile(opts.Records)), 0o644); err != nil {
		t.Fatalf("bindtest: %v", err)
	}
	var lastErr error
	for range 5 {
		port := freePort(t)
		s.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		if err := os.WriteFile(filepath.Join(s.Dir, "named.conf"), []byte(s.config(port)), 0o644); err != nil {
			t.Fatalf("bindtest: %v", err)
		}
		lastErr = s.run(t, named)
		if lastErr == nil {
			return s
		}
		if !strings.Contains(s.log.String(), "address in use") {
			break
		}
	}
	t.Fatalf("bindtest: start named: %v\nnamed log:\n%s", lastErr, s.log)
	return nil
}

// Log returns what named wrote so far (for failure messages).
func (s *Server) Log() string { return s.log.String() }

func lookNamed(t testing.TB) string {
	if p, err := exec.LookPath("named"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/named"); err == nil {
		return "/usr/sbin/named"
	}
	msg := "BIND 9 (named) not installed: " + Install
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// run starts named in the foreground and waits until it answers for the
// zone, or exits.
func (s *Server) run(t testing.TB, named string) error {
	s.log = &lockedBuffer{}
	cmd := exec.Command(named, "-g", "-c", filepath.Join(s.Dir, "named.conf"))
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("named exited: %v", err)
		default:
		}
		if s.ready() {
			t.Cleanup(stop)
			return nil
		}
		if time.Now().After(deadline) {
			stop()
			return errors.New("named did not answer for " + Zone + " within 20s")
		}
		time.Sleep(50 * time.Millisecond) // polling for readiness, not an assertion
	}
}

// ready reports whether named answers the zone's SOA authoritatively.
func (s *Server) ready() bool {
	m := new(dns.Msg)
	m.SetQuestion(Zone+".", dns.TypeSOA)
	c := dns.Client{Net: "tcp", Timeout: time.Second}
	r, _, err := c.Exchange(m, s.Addr)
	return err == nil && r.Rcode == dns.RcodeSuccess && r.Authoritative && len(r.Answer) > 0
}

func (s *Server) config(port int) string {
	alg := s.Algorithm
	return fmt.Sprintf(`key "%s" { algorithm %s; secret "%s"; };
key "%s" { algorithm %s; secret "%s"; };
options {
	directory "%s";
	pid-file "%s/named.pid";
	session-keyfile "%s/session.key";
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	allow-query { 127.0.0.1; };
	dnssec-validation no;
};
controls { };
zone "%s" {
	type primary;
	file "%s/%s.zone";
	update-policy {
		grant %s zonesub ANY;
		grant %s name limited.%s. A;
	};
};
`, s.Key, alg, s.Secret.Reveal(), s.LimitedKey, alg, s.LimitedSecret.Reveal(),
		s.Dir, s.Dir, s.Dir, port, Zone, s.Dir, Zone, s.Key, s.LimitedKey, Zone)
}

func zoneFile(extra []string) string {
	lines := []string{
		"$ORIGIN " + Zone + ".",
		"$TTL 3600",
		"@ IN SOA ns1 hostmaster 1 3600 900 604800 300",
		"@ IN NS ns1",
		"ns1 IN A 127.0.0.1",
		"www 300 IN A 192.0.2.1",
	}
	return strings.Join(append(lines, extra...), "\n") + "\n"
}

// newSecret returns 32 random bytes in base64, as tsig-keygen makes them.
func newSecret(t testing.TB) cs.Secret {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("bindtest: %v", err)
	}
	return cs.NewSecret(base64.StdEncoding.EncodeToString(b))
}

// freePort returns a loopback port that was free for both TCP and UDP.
func freePort(t testing.TB) int {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("bindtest: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("bindtest: no free loopback port for both TCP and UDP")
	return 0
}

// lockedBuffer collects named's output while tests read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
