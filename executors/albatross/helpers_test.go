package albatross

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/executors/registry"
	"github.com/countersign/countersign/executors/sshclient/sshdtest"
)

// testHost is an "Albatross host": a real sshd on loopback whose sessions
// find testdata/albatross-client-standin as albatross-client first on
// their PATH, with its state in State and the images under Dir.
type testHost struct {
	*sshdtest.Server
	State string // the stand-in's state directory
	Dir   string // Host.Dir
	Bin   string // first on the sessions' PATH
}

// startHost starts a host; extra maps names to scripts put in Bin too.
func startHost(t testing.TB, extra map[string]string) *testHost {
	t.Helper()
	return startHostWithout(t, extra)
}

// startHostWithout starts a host whose sessions do not find the commands
// in hide: after Bin, their PATH has a directory of links to everything
// in /usr/bin and /bin but those (instead of /usr/bin:/bin themselves).
func startHostWithout(t testing.TB, extra map[string]string, hide ...string) *testHost {
	t.Helper()
	root := t.TempDir()
	h := &testHost{State: filepath.Join(root, "standin"), Dir: filepath.Join(root, "unikernels"), Bin: filepath.Join(root, "bin")}
	home := filepath.Join(root, "home")
	for _, d := range []string{h.State, h.Bin, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	standin, err := os.ReadFile(filepath.Join("testdata", "albatross-client-standin"))
	if err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{"albatross-client": string(standin)}
	for k, v := range extra {
		scripts[k] = v
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(h.Bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := h.Bin + ":/usr/bin:/bin"
	if len(hide) > 0 {
		path = h.Bin + ":" + linkSystemBin(t, filepath.Join(root, "sysbin"), hide)
	}
	// An empty HOME keeps the machine's own ~/.bashrc (slow on some
	// developer machines) out of every session.
	h.Server = sshdtest.Start(t, sshdtest.Options{Config: []string{
		"SetEnv PATH=" + path + " ALBATROSS_STANDIN_STATE=" + h.State + " HOME=" + home,
	}})
	return h
}

// linkSystemBin fills dir with links to the commands in /usr/bin and
// /bin, except those in hide, and returns dir.
func linkSystemBin(t testing.TB, dir string, hide []string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sys := range []string{"/usr/bin", "/bin"} {
		ents, err := os.ReadDir(sys)
		if err != nil {
			t.Fatal(err)
		}
		for _, ent := range ents {
			if slices.Contains(hide, ent.Name()) {
				continue
			}
			err := os.Symlink(filepath.Join(sys, ent.Name()), filepath.Join(dir, ent.Name()))
			if err != nil && !os.IsExist(err) { // /bin is often /usr/bin
				t.Fatal(err)
			}
		}
	}
	return dir
}

// needCommand skips the test (fails it when CI is set) if name is not
// installed here; pkg is the Debian package that has it.
func needCommand(t testing.TB, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		msg := name + " not installed: apt-get install -y --no-install-recommends " + pkg
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// host is the executor's Host for h.
func (h *testHost) host() Host {
	return Host{Name: "testhost", Address: h.Addr, User: h.User, Key: h.ClientKey, KnownHosts: h.KnownHosts,
		Socket: "/run/albatross/util/vmmd.sock", Dir: h.Dir}
}

// running returns the digest the stand-in says runs for name ("" if none).
func (h *testHost) running(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.State, "vms", name))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseInfo(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// calls returns the stand-in's invocations whose subcommand is sub.
func (h *testHost) calls(t testing.TB, sub string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.State, "calls"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "["+sub+"] ") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// files lists the unikernel's directory on the host (nil if absent).
func (h *testHost) files(t testing.TB, name string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(h.Dir, name))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// index reads the host's index for name.
func (h *testHost) index(t testing.TB, name string) index {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.Dir, name, "index"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	x, err := parseIndex(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// mark creates a stand-in marker file (fail-next-create, dies-next-create).
func (h *testHost) mark(t testing.TB, marker string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(h.State, marker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testImage is a unikernel image pushed to a test registry.
type testImage struct {
	Ref    string // repo@sha256:…
	SHA256 string // of its unikernel.hvt
	Commit string
}

// startRegistry starts a go-containerregistry registry on loopback
// holding one image per binary (a binary of nil makes an image without
// unikernel.hvt), tagged v1, v2, …
func startRegistry(t testing.TB, binaries ...[]byte) (*registry.Demo, []testImage) {
	t.Helper()
	var ims []registry.DemoImage
	for i, b := range binaries {
		files := map[string][]byte{"etc/motd": []byte("a unikernel image\n")}
		if b != nil {
			files["unikernel.hvt"] = b
		}
		ims = append(ims, registry.DemoImage{Repo: "mirage/www", Tag: "v" + strconv.Itoa(i+1), Files: files})
	}
	ctx := context.Background()
	d, err := registry.StartDemo(ctx, ims)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	var out []testImage
	for i, im := range ims {
		ref, err := (&registry.Resolver{}).Resolve(ctx, d.Ref(im.Repo), im.Tag)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(binaries[i])
		out = append(out, testImage{Ref: ref, SHA256: hex.EncodeToString(sum[:]), Commit: strings.Repeat(string(rune('a'+i)), 40)})
	}
	return d, out
}

// binary makes distinct unikernel contents.
func binary(n int) []byte {
	return []byte(strings.Repeat("solo5 hvt unikernel "+string(rune('A'+n))+"\n", 1000+n))
}

// steps records progress.
type steps struct {
	mu  sync.Mutex
	all []string
}

func (s *steps) add(step string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, step)
	return nil
}

func (s *steps) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.all, "\n")
}

// request is a deploy or rollback of im.
func request(kind cs.ActionKind, im testImage) cs.Request {
	return cs.Request{ID: "R1", Action: cs.Action{Kind: kind, Target: "www", Image: im.Ref, Commit: im.Commit}}
}

// execute runs req and returns the result, error and steps.
func execute(t testing.TB, e *Executor, req cs.Request) (bot.Result, error, *steps) {
	t.Helper()
	var s steps
	res, err := e.Execute(context.Background(), req, s.add)
	return res, err, &s
}

// mustExecute runs req and fails the test on error.
func mustExecute(t testing.TB, e *Executor, req cs.Request) (bot.Result, *steps) {
	t.Helper()
	res, err, s := execute(t, e, req)
	if err != nil {
		t.Fatalf("%s %s: %v\nsteps:\n%s", req.Action.Kind, req.Action.Image, err, s)
	}
	return res, s
}

// www is the unikernel under test.
func www() Unikernel {
	return Unikernel{Name: "www", Memory: 64, CPUs: 1, Net: []string{"service:br0"}, Block: []string{"data"},
		Args: []string{"--hello=it's me", "--tls=true"}, RestartOnFail: true, Keep: 3}
}

// newExecutor builds an executor or fails the test.
func newExecutor(t testing.TB, h Host, u Unikernel, opts Options) *Executor {
	t.Helper()
	e, err := New(h, u, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
