package swarm

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/sshclient"
	"github.com/countersign/countersign/executors/sshclient/sshdtest"
)

// TestConnect_Config checks the engine configurations Connect refuses
// before dialling anything.
func TestConnect_Config(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		e    Engine
		want string // "" : accepted
	}{
		{"unix", Engine{Host: "unix:///var/run/docker.sock"}, ""},
		{"ssh", Engine{Host: "ssh://root@chives.example.org", KnownHosts: kh}, ""},
		{"ssh with port", Engine{Host: "ssh://root@127.0.0.1:2222", KnownHosts: kh}, ""},
		{"tcp with certificates", Engine{Host: "tcp://127.0.0.1:2376", CertFile: "c", KeyFile: "k"}, "failed to create tls config"},
		{"tcp without certificates", Engine{Host: "tcp://127.0.0.1:2376"}, "plain TCP to a Docker Engine is refused"},
		{"tcp without port", Engine{Host: "tcp://127.0.0.1", CertFile: "c", KeyFile: "k"}, "want tcp://host:port"},
		{"ssh without known_hosts", Engine{Host: "ssh://root@chives.example.org"}, "need known_hosts"},
		{"ssh without user", Engine{Host: "ssh://chives.example.org", KnownHosts: kh}, "want ssh://user@host"},
		{"ssh with password", Engine{Host: "ssh://root:hunter2@chives.example.org", KnownHosts: kh}, "must not contain a password"},
		{"ssh with password and no user", Engine{Host: "ssh://:hunter2@chives.example.org", KnownHosts: kh}, "want ssh://user@host"},
		{"http", Engine{Host: "http://127.0.0.1:2375"}, "unsupported scheme"},
		{"no scheme", Engine{Host: "/var/run/docker.sock"}, "want unix:///path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Connect(t.Context(), tc.e, Options{})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				c.Close()
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Connect = %v, want ErrConfig saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// TestExecutor_MissingService: every method names the missing service
// and the engine.
func TestExecutor_MissingService(t *testing.T) {
	f := env(t)
	t.Parallel()
	ex := connect(t, local, Options{}).Service("www", "cs-test-no-such-service", f.repo)
	checkAll(t, ex, f.v2, ErrServiceNotFound, "cs-test-no-such-service", "local")
	_, err := ex.Status(t.Context(), "www")
	if !errors.Is(err, cs.ErrNotFound) {
		t.Errorf("Status = %v, want it to match cs.ErrNotFound", err)
	}
}

// TestExecutor_Unreachable: an engine that does not answer fails every
// method with ErrUnreachable, naming the engine.
func TestExecutor_Unreachable(t *testing.T) {
	ca := newTestCA(t)
	for _, e := range []Engine{
		ca.clientFiles(t, "closed-port", "tcp://127.0.0.1:1", ca),
		{Name: "no-socket", Host: "unix:///nonexistent/docker.sock"},
	} {
		t.Run(e.Name, func(t *testing.T) {
			ex := connect(t, e, Options{}).Service("www", "www_live", "")
			checkAll(t, ex, "registry.example.org/www@sha256:"+strings.Repeat("ab", 32), ErrUnreachable, e.Name, e.Host)
		})
	}
}

// checkAll runs Prepare (deploy and scale), Execute and Status and wants
// each to fail with want and to name the words.
func checkAll(t *testing.T, ex *Executor, image string, want error, words ...string) {
	t.Helper()
	ctx := t.Context()
	deploy := cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: image}
	scale := cs.Action{Kind: cs.ActionScale, Target: "www", Replicas: 2}
	_, prepDeploy := ex.Prepare(ctx, deploy)
	_, prepScale := ex.Prepare(ctx, scale)
	_, execDeploy := ex.Execute(ctx, cs.Request{Action: deploy}, (&steps{}).add)
	_, execScale := ex.Execute(ctx, cs.Request{Action: scale}, (&steps{}).add)
	_, status := ex.Status(ctx, "www")
	for _, r := range []struct {
		name string
		err  error
	}{{"Prepare deploy", prepDeploy}, {"Prepare scale", prepScale}, {"Execute deploy", execDeploy}, {"Execute scale", execScale}, {"Status", status}} {
		if !errors.Is(r.err, want) {
			t.Errorf("%s = %v, want %v", r.name, r.err, want)
			continue
		}
		for _, w := range words {
			if !strings.Contains(r.err.Error(), w) {
				t.Errorf("%s error %q does not name %q", r.name, r.err, w)
			}
		}
	}
	t.Log(status)
}

// TestEngine_TLS deploys through a tcp:// engine that requires TLS client
// certificates, and is refused with a certificate of another CA.
func TestEngine_TLS(t *testing.T) {
	f := env(t)
	t.Parallel()
	ca := newTestCA(t)
	host := startTLSEngine(t, ca)
	name := f.createService(t, svcOpts{image: f.v1})

	ex := connect(t, ca.clientFiles(t, "tls", host, ca), Options{}).Service("www", name, f.repo)
	if _, _, st, err := run(t, ex, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2}); err != nil {
		t.Fatalf("deploy over TLS: %v\n%s", err, st.all())
	}
	if got := f.imageOf(t, name); got != f.v2 {
		t.Errorf("service image = %q, want %q", got, f.v2)
	}

	other := newTestCA(t)
	stranger := connect(t, other.clientFiles(t, "tls-stranger", host, ca), Options{}).Service("www", name, f.repo)
	_, err := stranger.Status(t.Context(), "www")
	t.Log(err)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "tls-stranger") {
		t.Fatalf("Status with a certificate the engine does not trust = %v, want ErrUnreachable naming the engine", err)
	}
}

// TestEngine_SSH deploys and reads status through a real OpenSSH server
// on loopback that forwards the local Docker socket; host keys that are
// unknown or changed are refused.
func TestEngine_SSH(t *testing.T) {
	f := env(t)
	t.Parallel()
	srv := sshdtest.Start(t, sshdtest.Options{Config: []string{"AllowStreamLocalForwarding yes"}})
	name := f.createService(t, svcOpts{image: f.v1})
	engine := Engine{Name: "remote", Host: "ssh://" + srv.User + "@" + srv.Addr, SSHKey: srv.ClientKey, KnownHosts: srv.KnownHosts}

	ex := connect(t, engine, Options{}).Service("www", name, f.repo)
	plan, res, st, err := run(t, ex, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2})
	if err != nil {
		t.Fatalf("deploy over ssh: %v\n%s", err, st.all())
	}
	t.Logf("plan: %s\nsteps:\n%s\nresult: %s", plan, st.all(), res.Summary)
	if !strings.Contains(plan, "remote ("+engine.Host+")") {
		t.Errorf("plan %q does not name the ssh engine", plan)
	}
	if got := f.imageOf(t, name); got != f.v2 {
		t.Errorf("service image = %q, want %q", got, f.v2)
	}
	status, err := ex.Status(t.Context(), "www")
	if err != nil || !strings.Contains(status, f.v2) {
		t.Errorf("Status over ssh = %q, %v; want the new image", status, err)
	}

	otherKey, _ := sshdtest.NewKey(t)
	empty := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, knownHosts string
		want             error
	}{
		{"unknown host key", empty, sshclient.ErrUnknownHost},
		{"changed host key", srv.KnownHostsWith(t, "known_hosts_other", otherKey), sshclient.ErrHostKeyChanged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := engine
			e.KnownHosts = tc.knownHosts
			var logs bytes.Buffer
			ex := connect(t, e, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}).Service("www", name, f.repo)
			_, err := ex.Status(t.Context(), "www")
			t.Log(err)
			_, execErr := ex.Execute(t.Context(), cs.Request{Action: cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v1}}, (&steps{}).add)
			if execErr == nil {
				t.Fatal("Execute through a refused host key succeeded")
			}
			// The private key must not leak into errors or logs.
			for _, line := range strings.Split(srv.ClientKey.Reveal(), "\n")[1:3] {
				if strings.Contains(err.Error()+execErr.Error()+logs.String(), line) {
					t.Fatalf("the SSH private key appears in an error or the log")
				}
			}
			if !strings.Contains(logs.String(), "execution failed") {
				t.Errorf("the failure was not logged: %q", logs.String())
			}
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "SHA256:") {
				t.Fatalf("Status = %v, want %v and ErrUnreachable with the key's fingerprint", err, tc.want)
			}
			if _, err := ex.Prepare(t.Context(), cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v1}); !errors.Is(err, tc.want) {
				t.Fatalf("Prepare = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestEngine_SSHNoForwarding: an sshd that forbids socket forwarding gives
// an error that says so.
func TestEngine_SSHNoForwarding(t *testing.T) {
	f := env(t)
	t.Parallel()
	srv := sshdtest.Start(t, sshdtest.Options{Config: []string{"AllowStreamLocalForwarding no"}})
	engine := Engine{Name: "remote", Host: "ssh://" + srv.User + "@" + srv.Addr, SSHKey: srv.ClientKey, KnownHosts: srv.KnownHosts}
	ex := connect(t, engine, Options{}).Service("www", "anything", f.repo)
	_, err := ex.Status(t.Context(), "www")
	t.Log(err)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "AllowStreamLocalForwarding") {
		t.Fatalf("Status = %v, want ErrUnreachable mentioning AllowStreamLocalForwarding", err)
	}
}
