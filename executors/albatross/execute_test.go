package albatross

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/sshclient"
	"github.com/countersign/countersign/executors/sshclient/sshdtest"
	"golang.org/x/crypto/ssh"
)

func TestExecutor_DeployThenRedeploy(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	_, ims := startRegistry(t, binary(1), binary(2))
	e := newExecutor(t, h.host(), www(), Options{})

	res, s := mustExecute(t, e, request(cs.ActionDeploy, ims[0]))
	if got := h.running(t, "www"); got != ims[0].SHA256 {
		t.Fatalf("running %q, want %s", got, ims[0].SHA256)
	}
	for _, want := range []string{"fetched unikernel.hvt from " + ims[0].Ref, "sha256 " + ims[0].SHA256, "uploaded to ",
		" on the host gives " + ims[0].SHA256, "replaced www: `albatross-client create www ", "running: `albatross-client info www"} {
		if !strings.Contains(s.String(), want) {
			t.Errorf("steps lack %q:\n%s", want, s)
		}
	}
	if res.Image != ims[0].Ref || !strings.Contains(res.Summary, ims[0].SHA256[:12]) {
		t.Errorf("result = %+v", res)
	}
	// The exact command line, as albatross's CLI spells it, every argument intact.
	file := filepath.Join(h.Dir, "www", ims[0].SHA256+".hvt")
	wantCreate := "[create] [www] [" + file + "] [--force] [--socket=/run/albatross/util/vmmd.sock] [--mem] [64] [--cpu] [1] " +
		"[--arg=--hello=it's me] [--arg=--tls=true] [--net] [service:br0] [--block] [data] [--restart-on-fail]"
	if got := h.calls(t, "create"); len(got) != 1 || got[0] != wantCreate {
		t.Errorf("create calls = %q, want %q", got, wantCreate)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != string(binary(1)) {
		t.Errorf("stored binary: %v (%d bytes)", err, len(b))
	}
	if got, want := h.files(t, "www"), []string{ims[0].SHA256 + ".hvt", "index"}; !slices.Equal(got, want) {
		t.Errorf("files = %q, want %q (no temporary files left)", got, want)
	}

	if res.Replaced != "" {
		t.Errorf("first deploy replaced %q: nothing ran before", res.Replaced)
	}
	res, _ = mustExecute(t, e, request(cs.ActionDeploy, ims[1]))
	if res.Replaced != ims[0].Ref {
		t.Errorf("second deploy replaced %q, want %s (the history keeps it for rollbacks)", res.Replaced, ims[0].Ref)
	}
	if got := h.running(t, "www"); got != ims[1].SHA256 {
		t.Fatalf("running %q after the second deploy, want %s", got, ims[1].SHA256)
	}
	x := h.index(t, "www")
	want := index{{ims[0].Ref, ims[0].SHA256, ims[0].Commit}, {ims[1].Ref, ims[1].SHA256, ims[1].Commit}}
	if !slices.Equal(x, want) {
		t.Errorf("index = %+v, want %+v", x, want)
	}
	status, err := e.Status(context.Background(), "www")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"runs sha256 " + ims[1].SHA256, ims[1].Ref, "commit " + ims[1].Commit[:12], "previous: sha256 " + ims[0].SHA256[:12]} {
		if !strings.Contains(status, w) {
			t.Errorf("status %q lacks %q", status, w)
		}
	}
}

func TestExecutor_SameDigestIsNoOp(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	_, ims := startRegistry(t, binary(1))
	e := newExecutor(t, h.host(), www(), Options{})
	mustExecute(t, e, request(cs.ActionDeploy, ims[0]))

	res, s := mustExecute(t, e, request(cs.ActionDeploy, ims[0]))
	if !strings.Contains(res.Summary, "already runs") || !strings.Contains(res.Summary, "nothing changed") {
		t.Errorf("summary = %q, want it to say nothing changed", res.Summary)
	}
	if strings.Contains(s.String(), "fetched") || strings.Contains(s.String(), "replaced") {
		t.Errorf("a no-op fetched or replaced:\n%s", s)
	}
	if got := h.calls(t, "create"); len(got) != 1 {
		t.Errorf("create ran %d times, want once", len(got))
	}
}

func TestExecutor_RollbackNeedsNoRegistry(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	reg, ims := startRegistry(t, binary(1), binary(2), binary(3))
	e := newExecutor(t, h.host(), www(), Options{})
	mustExecute(t, e, request(cs.ActionDeploy, ims[0]))
	mustExecute(t, e, request(cs.ActionDeploy, ims[1]))
	reg.Close() // from here on, no registry

	// No recorded history: Prepare finds the previous image on the host.
	a, err := e.Prepare(context.Background(), cs.Action{Kind: cs.ActionRollback, Target: "www"})
	if err != nil || a.Image != ims[0].Ref || a.Commit != ims[0].Commit {
		t.Fatalf("Prepare = %+v, %v; want image %s", a, err, ims[0].Ref)
	}
	req := request(cs.ActionRollback, ims[0])
	req.Action.Deployment = "R1"
	plan, err := e.Describe(context.Background(), req)
	if err != nil || !strings.Contains(plan, "use the copy kept on the host") {
		t.Errorf("Describe = %q, %v", plan, err)
	}
	_, s := mustExecute(t, e, req)
	if got := h.running(t, "www"); got != ims[0].SHA256 {
		t.Fatalf("running %q after rollback, want %s", got, ims[0].SHA256)
	}
	if !strings.Contains(s.String(), "kept on the host") || strings.Contains(s.String(), "fetched unikernel.hvt") {
		t.Errorf("steps:\n%s", s)
	}
	if x := h.index(t, "www"); x[len(x)-1].SHA256 != ims[0].SHA256 {
		t.Errorf("index does not show the rollback as current: %+v", x)
	}

	// An image never deployed here cannot be rolled back to.
	req = request(cs.ActionRollback, ims[2])
	if _, err := e.Describe(context.Background(), req); !errors.Is(err, ErrNotOnHost) {
		t.Errorf("Describe of an unknown rollback: %v, want ErrNotOnHost", err)
	}
	if _, err, _ := execute(t, e, req); !errors.Is(err, ErrNotOnHost) {
		t.Errorf("rollback to an unknown image: %v, want ErrNotOnHost", err)
	}
	if got := h.running(t, "www"); got != ims[0].SHA256 {
		t.Errorf("a refused rollback changed what runs: %s", got)
	}
}

func TestExecutor_PrunesButKeepsRunningAndPrevious(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	_, ims := startRegistry(t, binary(1), binary(2), binary(3))
	u := www()
	u.Keep = 1 // the running and the previous binary are kept anyway
	e := newExecutor(t, h.host(), u, Options{})
	hvt := func(ims ...testImage) []string {
		out := []string{"index"}
		for _, im := range ims {
			out = append(out, im.SHA256+".hvt")
		}
		slices.Sort(out)
		return out
	}
	for i, tc := range []struct {
		req  cs.Request
		want []string
	}{
		{request(cs.ActionDeploy, ims[0]), hvt(ims[0])},
		{request(cs.ActionDeploy, ims[1]), hvt(ims[0], ims[1])},
		{request(cs.ActionDeploy, ims[2]), hvt(ims[1], ims[2])},
		{request(cs.ActionRollback, ims[1]), hvt(ims[1], ims[2])},
	} {
		_, s := mustExecute(t, e, tc.req)
		if got := h.files(t, "www"); !slices.Equal(got, tc.want) {
			t.Fatalf("step %d (%s %s): files = %q, want %q\nsteps:\n%s", i, tc.req.Action.Kind, tc.req.Action.Image, got, tc.want, s)
		}
	}
	if x := h.index(t, "www"); len(x) != 2 || x[0].Image != ims[2].Ref || x[1].Image != ims[1].Ref {
		t.Errorf("index = %+v, want image 3 then image 2", x)
	}
}

// TestExecutor_NeverShowsTheKey runs a deploy and a failing one with a
// logger, and looks for the private key everywhere.
func TestExecutor_NeverShowsTheKey(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	_, ims := startRegistry(t, binary(1))
	var logs strings.Builder
	opts := Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	e := newExecutor(t, h.host(), www(), opts)
	_, s := mustExecute(t, e, request(cs.ActionDeploy, ims[0]))
	bad := h.host()
	bad.Key = cs.NewSecret("-----BEGIN OPENSSH PRIVATE KEY-----\nhunter2hunter2\n-----END OPENSSH PRIVATE KEY-----\n")
	_, err, s2 := execute(t, newExecutor(t, bad, www(), opts), request(cs.ActionDeploy, ims[0]))
	if err == nil {
		t.Fatal("a bad key connected")
	}
	key := h.ClientKey.Reveal()
	body := key[strings.Index(key, "\n")+1 : strings.Index(key, "\n")+40]
	for what, text := range map[string]string{"logs": logs.String(), "steps": s.String() + s2.String(), "error": err.Error()} {
		for _, secret := range []string{body, "hunter2", "PRIVATE KEY"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s show key material %q", what, secret)
			}
		}
	}
}

func TestExecutor_RefusesHostKeys(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	_, ims := startRegistry(t, binary(1))
	other, _ := sshdtest.NewKey(t)
	empty := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		knownHosts string
		want       error
	}{
		{"wrong host key", h.KnownHostsWith(t, "wrong_known_hosts", other), sshclient.ErrHostKeyChanged},
		{"unknown host", empty, sshclient.ErrUnknownHost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hh := h.host()
			hh.KnownHosts = tc.knownHosts
			e := newExecutor(t, hh, www(), Options{})
			_, err, _ := execute(t, e, request(cs.ActionDeploy, ims[0]))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if fp := ssh.FingerprintSHA256(h.HostKey); !strings.Contains(err.Error(), fp) {
				t.Errorf("err %q lacks the fingerprint %s", err, fp)
			}
			if _, err := e.Status(context.Background(), "www"); !errors.Is(err, tc.want) {
				t.Errorf("Status err = %v, want %v", err, tc.want)
			}
			if h.files(t, "www") != nil || len(h.calls(t, "")) != 0 {
				t.Error("something ran on a host whose key was refused")
			}
		})
	}
}

func TestExecutor_Failures(t *testing.T) {
	t.Parallel()
	// Hosts whose cat (which stores uploads) damages what it stores, or
	// cannot store it all.
	damaging := "#!/bin/sh\n/usr/bin/cat \"$@\" && printf X\n"
	full := "#!/bin/sh\n/usr/bin/cat \"$@\"\necho 'cat: write error: No space left on device' >&2\nexit 1\n"
	for _, tc := range []struct {
		name   string
		extra  map[string]string
		binary []byte
		want   error
		detail string
	}{
		{"missing binary in image", nil, nil, ErrBinaryNotFound, "no unikernel.hvt in the image"},
		{"checksum mismatch on host", map[string]string{"cat": damaging}, binary(1), ErrChecksum, " on the host gives "},
		{"disk full on host", map[string]string{"cat": full}, binary(1), nil, "No space left on device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := startHost(t, tc.extra)
			_, ims := startRegistry(t, tc.binary)
			e := newExecutor(t, h.host(), www(), Options{})
			_, err, s := execute(t, e, request(cs.ActionDeploy, ims[0]))
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("err = %v, want %v with %q", err, tc.want, tc.detail)
			}
			if got := h.calls(t, "create"); len(got) != 0 {
				t.Errorf("created after a failed upload: %q", got)
			}
			for _, f := range h.files(t, "www") {
				t.Errorf("file left on the host: %s (steps:\n%s)", f, s)
			}
		})
	}
}

func TestExecutor_RestoresPreviousWhenNewFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		marker string
		check  func(t *testing.T, err error)
	}{
		{"create exits 117", "fail-next-create", func(t *testing.T, err error) {
			var ce *CommandError
			if !errors.As(err, &ce) || ce.Code != 117 || !ce.Client {
				t.Fatalf("err = %v, want an albatross-client exit 117", err)
			}
			if !strings.Contains(err.Error(), "the albatross daemon refused the command") || !strings.Contains(err.Error(), "maximum allowed memory") {
				t.Errorf("err %q does not explain exit 117", err)
			}
		}},
		{"new unikernel does not come up", "dies-next-create", func(t *testing.T, err error) {
			if !errors.Is(err, ErrNotRunning) {
				t.Fatalf("err = %v, want ErrNotRunning", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := startHost(t, nil)
			_, ims := startRegistry(t, binary(1), binary(2))
			e := newExecutor(t, h.host(), www(), Options{VerifyTimeout: time.Second})
			mustExecute(t, e, request(cs.ActionDeploy, ims[0]))
			h.mark(t, tc.marker)

			_, err, s := execute(t, e, request(cs.ActionDeploy, ims[1]))
			tc.check(t, err)
			if !strings.Contains(err.Error(), "was restored and is running") {
				t.Errorf("err %q does not say the previous image was restored", err)
			}
			if got := h.running(t, "www"); got != ims[0].SHA256 {
				t.Errorf("running %q, want the previous %s", got, ims[0].SHA256)
			}
			if !strings.Contains(s.String(), "re-creating the previous binary sha256 "+ims[0].SHA256[:12]) || !strings.Contains(s.String(), "restored the previous binary") {
				t.Errorf("steps do not report the restore:\n%s", s)
			}
			if x := h.index(t, "www"); len(x) != 1 || x[0].SHA256 != ims[0].SHA256 {
				t.Errorf("index after the failed deploy = %+v, want only the previous image", x)
			}
			if got, want := h.files(t, "www"), []string{ims[0].SHA256 + ".hvt", "index"}; !slices.Equal(got, want) {
				t.Errorf("files = %q, want %q", got, want)
			}
		})
	}
}

func TestExecutor_FirstDeployFailsWithNothingToRestore(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	_, ims := startRegistry(t, binary(1))
	e := newExecutor(t, h.host(), www(), Options{})
	h.mark(t, "fail-next-create")
	_, err, _ := execute(t, e, request(cs.ActionDeploy, ims[0]))
	if err == nil || !strings.Contains(err.Error(), "nothing ran before, so nothing was restored") {
		t.Fatalf("err = %v", err)
	}
}

func TestExecutor_CustomCommand(t *testing.T) {
	t.Parallel()
	// The wrapper a host used before: mirage-redeploy NAME FILE.
	wrapper := "#!/bin/sh\nexec albatross-client create \"$1\" \"$2\" --force --mem 32\n"
	h := startHost(t, map[string]string{"mirage-redeploy": wrapper})
	_, ims := startRegistry(t, binary(1))
	u := www()
	u.Command = "mirage-redeploy {{.Name}} {{.File}}"
	e := newExecutor(t, h.host(), u, Options{})
	_, s := mustExecute(t, e, request(cs.ActionDeploy, ims[0]))
	if got := h.running(t, "www"); got != ims[0].SHA256 {
		t.Fatalf("running %q, want %s", got, ims[0].SHA256)
	}
	if !strings.Contains(s.String(), "replaced www: `mirage-redeploy www "+filepath.Join(h.Dir, "www", ims[0].SHA256+".hvt")+"`") {
		t.Errorf("steps:\n%s", s)
	}
}

func TestExecutor_DamagedKeptCopy(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	_, ims := startRegistry(t, binary(1), binary(2))
	e := newExecutor(t, h.host(), www(), Options{})
	mustExecute(t, e, request(cs.ActionDeploy, ims[0]))
	mustExecute(t, e, request(cs.ActionDeploy, ims[1]))
	if err := os.WriteFile(filepath.Join(h.Dir, "www", ims[0].SHA256+".hvt"), []byte("bit rot"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A rollback needs the kept copy and refuses a damaged one.
	_, err, _ := execute(t, e, request(cs.ActionRollback, ims[0]))
	if !errors.Is(err, ErrNotOnHost) || !errors.Is(err, ErrChecksum) {
		t.Fatalf("rollback to a damaged copy: %v, want ErrNotOnHost and ErrChecksum", err)
	}
	if got := h.running(t, "www"); got != ims[1].SHA256 {
		t.Errorf("a refused rollback changed what runs: %s", got)
	}
	// A deploy fetches the image again.
	_, s := mustExecute(t, e, request(cs.ActionDeploy, ims[0]))
	if !strings.Contains(s.String(), "fetched unikernel.hvt") || h.running(t, "www") != ims[0].SHA256 {
		t.Errorf("deploy over a damaged copy: running %s, steps:\n%s", h.running(t, "www"), s)
	}
}
