package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github/githubtest"
	"github.com/countersign/countersign/bot/slack/slacktest"
	"github.com/countersign/countersign/executors/sshclient/sshdtest"
	"golang.org/x/crypto/ssh"
)

// The unikernel scenario's names.
const (
	ukRepo      = "e2e-org/mirage-www"
	ukBranch    = "live"
	ukService   = "www"
	ukName      = "www"          // the Albatross VM name
	ukBinary    = "boot/www.hvt" // where the images hold the unikernel: not the default path
	ukAuthor    = "hannes-e2e"   // GitHub login of the commits' author
	ukAuthorU   = "U0UKDEV1"     // his Slack user: not an approver
	ukOps1      = "U0UKOPS1"     // approves the pushes, requests the rollback
	ukOps2      = "U0UKOPS2"     // approves the rollback
	ukStandin   = "../executors/albatross/testdata/albatross-client-standin"
	ukTagTmpl   = "live-hvt-{{.SHA}}"
	ukTagPrefix = "live-hvt-"
)

// TestE2E_UnikernelOnAlbatross is the unikernel half of the push-to-deploy
// flow end to end, against a real OpenSSH server as the Albatross host (its
// sessions find the albatross-client test stand-in of executors/albatross
// first on their PATH) and a go-containerregistry registry: a push of
// mirage-www whose image (FROM scratch, the unikernel at boot/www.hvt, a
// decoy at the default unikernel.hvt) the test has pushed (`build:
// wait`) asks an ops approver in Slack; once approved, the bot streams
// the unikernel over SSH, checking the host key against known_hosts,
// and the host holds a file with the image's unikernel's SHA-256, which
// is what the stand-in says runs. A second push does the same for v2.
// `rollback www`, approved by another ops member, brings v1 back from
// the copy kept on the host, without asking the registry, and locks the
// service against deploys on push: a third push is refused, the host
// still runs v1, and `status` and GitHub say why. A host whose
// known_hosts lists another key is refused. The trail verifies and
// holds every step.
//
// It needs OpenSSH's sshd (not Docker): without it the test is skipped,
// or fails when CI is set.
func TestE2E_UnikernelOnAlbatross(t *testing.T) {
	// Parallel with the other scenarios that wait more than they work
	// (the outage's minute, Slack's pacing): CI time, not a dependency.
	t.Parallel()
	lap := laps(t)
	host := ukStartHost(t)
	impostor := host.KnownHostsWith(t, "known_hosts_impostor", ukNewHostKey(t))
	lap("sshd with albatross stand-in")
	reg := ukStartRegistry(t)
	image := reg.Host + "/mirage/www"
	s := newServe(t, serveOptions{Config: func(servePeers) string {
		return fmt.Sprintf(`
hosts:
  dopey:
    address: %[1]s
    user: %[2]s
    ssh_key_file: %[3]s
    known_hosts: %[4]s
    albatross_client: albatross-client
    socket: /run/albatross/util/vmmd.sock
    dir: %[5]s
  impostor:
    address: %[1]s
    user: %[2]s
    ssh_key_file: %[3]s
    known_hosts: %[6]s
    dir: %[5]s
services:
  - name: %[7]s
    kind: albatross
    repo: %[8]s
    branch: %[9]s
    channel: %[10]s
    image: %[11]s
    build: {mode: wait, tag: %[12]q, timeout: 1m}
    host: dopey
    unikernel:
      name: %[13]s
      binary: %[14]s
      memory: 64
      cpus: 1
      net: ["service:br0"]
      args: ["--tls=true"]
      restart_on_fail: true
      keep: 3
  - name: guard
    kind: albatross
    channel: %[10]s
    image: %[11]s
    host: impostor
    unikernel: {name: guard}
groups:
  ops: [%[15]s, %[16]s]
identities:
  github: {%[17]s: %[18]s}
policies:
  - name: unikernels
    actions: [deploy, rollback]
    targets: [%[7]s]
    request: [push, group:ops]
    approve: [{group: ops, count: 1}]
    expires: 1h
`, host.Addr, host.User, host.ClientKeyFile, host.KnownHosts, host.Dir, impostor,
			ukService, ukRepo, ukBranch, e2eChannel, image, ukTagTmpl, ukName, ukBinary,
			ukOps1, ukOps2, ukAuthor, ukAuthorU)
	}})
	lap("countersign serve healthy")

	seen := map[cs.RequestID]bool{}
	v1img, v1 := ukPushVersion(t, image, 1)
	r1 := ukDeployPush(t, s, seen, v1img, v1)
	host.checkRuns(t, v1img, v1)
	lap("v1: pushed, approved, running")

	v2img, v2 := ukPushVersion(t, image, 2)
	r2 := ukDeployPush(t, s, seen, v2img, v2)
	host.checkRuns(t, v2img, v2)
	if !host.kept(v1.hostSHA) {
		t.Errorf("after v2 the host no longer keeps v1's binary %s.hvt: %q", v1.hostSHA, host.files(t))
	}
	lap("v2: pushed, approved, running")

	// The rollback: typed by one ops member, approved by the other, from
	// the copy kept on the host (the registry is not asked).
	regBefore := reg.count()
	createsBefore := len(host.calls(t, "create"))
	if a := s.Slash(ukOps1, "rollback "+ukService); a.Status != http.StatusOK {
		t.Fatalf("/cs rollback %s: %s", ukService, a)
	}
	card, rb := ukWaitCard(t, s, seen, 20*time.Second)
	if blocks := unescapeJSON(card.Blocks); !strings.Contains(blocks, v1img) {
		t.Errorf("the rollback's approval message does not show the image it goes back to (%s):\n%s", v1img, blocks)
	}
	if blocks := unescapeJSON(card.Blocks); !strings.Contains(blocks, v1.commit[:7]) {
		t.Errorf("the rollback's approval message does not name the commit it goes back to (%s):\n%s", v1.commit[:7], blocks)
	}
	if a := s.Click(ukOps1, bot.ButtonApprove, buttonValue(card, bot.ButtonApprove)); a.Status != http.StatusOK {
		t.Fatalf("the requester's click: %s", a)
	}
	s.WaitAudit(func(r auditRecord) bool {
		return r.Kind == "approval.refused" && r.Request == string(rb) && r.Actor == ukOps1
	}, 10*time.Second)
	if got := len(host.calls(t, "create")); got != createsBefore {
		t.Fatalf("the requester's own click ran the rollback (%d creates, before %d)", got, createsBefore)
	}
	if a := s.Click(ukOps2, bot.ButtonApprove, buttonValue(card, bot.ButtonApprove)); a.Status != http.StatusOK {
		t.Fatalf("ops click on the rollback: %s", a)
	}
	ukWaitSucceeded(t, s, rb)
	if got := reg.since(regBefore); len(got) != 0 {
		t.Errorf("the rollback asked the registry %q, want nothing (the binary is kept on the host)", got)
	}
	host.checkRuns(t, v1img, v1)
	if got := len(host.calls(t, "create")); got != createsBefore+1 {
		t.Errorf("the rollback ran %d creates, want 1: %q", got-createsBefore, host.calls(t, "create"))
	}
	lock := s.WaitAudit(func(r auditRecord) bool { return r.Kind == "lock.set" && r.Target == ukService }, 10*time.Second)
	if lock.Request != string(rb) || lock.Actor != string(cs.ActorBot) {
		t.Errorf("lock.set = %+v, want one by %s for the rollback %s", lock, cs.ActorBot, rb)
	}
	s.WaitMessage(t, func(m slacktest.Message) bool {
		return m.ThreadTS == card.TS && strings.Contains(m.Text, "now locked against deploys on push")
	}, 15*time.Second)
	lap("rolled back to v1; locked")

	// A third push is not deployed: the lock refuses it before anyone is
	// asked, and the host keeps running v1.
	v3img, v3 := ukPushVersion(t, image, 3)
	if a := s.Push(ukRepo, ukBranch, v3.commit, ukAuthor); a.Status != http.StatusOK {
		t.Fatalf("third push: %s", a)
	}
	refused := s.WaitAudit(func(r auditRecord) bool {
		return r.Kind == "request.refused" && r.Target == ukService && !seen[cs.RequestID(r.Request)]
	}, 30*time.Second)
	rLocked := cs.RequestID(refused.Request)
	if !strings.Contains(string(refused.Detail), "locked against deploys on push") {
		t.Errorf("the third push was refused with %s, want the rollback's lock as the reason", refused.Detail)
	}
	created := s.WaitAudit(func(r auditRecord) bool { return r.Kind == "request.created" && r.Request == string(rLocked) }, time.Second)
	if !strings.Contains(string(created.Detail), v3img) {
		t.Errorf("the refused request %s is not for v3 (%s): %s", rLocked, v3img, created.Detail)
	}
	s.WaitMessage(t, func(m slacktest.Message) bool {
		return strings.HasPrefix(m.Text, string(rLocked)+" · deploy "+ukService+" · refused") && strings.Contains(m.Text, "locked against deploys on push")
	}, 15*time.Second)
	for _, m := range s.Messages() {
		if rid, _, err := bot.ParseButtonValue(buttonValue(m, bot.ButtonApprove)); err == nil && rid == rLocked {
			t.Errorf("the refused push %s got an approval message: %s", rLocked, m.Text)
		}
	}
	if a := s.Slash(ukOps1, "status "+ukService); a.Status != http.StatusOK {
		t.Fatalf("/cs status: %s", a)
	}
	status := s.WaitReply(t, ukOps1, func(text string) bool { return strings.Contains(text, "locked against deploys on push") }, 15*time.Second)
	if !strings.Contains(status, "runs sha256 "+v1.hostSHA) || !strings.Contains(status, string(rb)) {
		t.Errorf("status %s does not show v1 (sha256 %s) running after the rollback %s:\n%s", ukService, v1.hostSHA, rb, status)
	}
	host.checkRuns(t, v1img, v1)
	ukWaitCommitStatus(t, s, v1.commit, "success")
	ukWaitCommitStatus(t, s, v2.commit, "success")
	if st := ukWaitCommitStatus(t, s, v3.commit, "failure"); !strings.Contains(st.Description, "locked") {
		t.Errorf("the commit status of the third push says %q, want the lock", st.Description)
	}
	lap("third push refused by the lock")

	// The bot checks host keys: a known_hosts with another key for the
	// same sshd is refused.
	if a := s.Slash(ukOps1, "status guard"); a.Status != http.StatusOK {
		t.Fatalf("/cs status guard: %s", a)
	}
	guard := s.WaitReply(t, ukOps1, func(text string) bool { return strings.Contains(text, "*guard*") }, 15*time.Second)
	if !strings.Contains(guard, "could not read") || !strings.Contains(strings.ToLower(guard), "host key") {
		t.Errorf("status guard (a known_hosts with another key) says %q, want the host key refused", guard)
	}
	lap("impostor host key refused")

	count, head := s.AuditVerify()
	recs := s.Audit()
	if count != len(recs) || recs[len(recs)-1].Hash != head {
		t.Errorf("audit verify: %d records, head %s; export: %d records, last %s", count, head, len(recs), recs[len(recs)-1].Hash)
	}
	byKind := map[string][]string{}
	for _, r := range recs {
		if r.Target == ukService {
			byKind[r.Kind] = append(byKind[r.Kind], r.Request+"/"+r.Actor)
		}
	}
	for kind, want := range map[string][]string{
		"execution.started":   {string(r1) + "/countersign", string(r2) + "/countersign", string(rb) + "/countersign"},
		"execution.succeeded": {string(r1) + "/countersign", string(r2) + "/countersign", string(rb) + "/countersign"},
		"approval.granted":    {string(r1) + "/" + ukOps1, string(r2) + "/" + ukOps1, string(rb) + "/" + ukOps2},
		"lock.set":            {string(rb) + "/countersign"},
		"request.refused":     {string(rLocked) + "/countersign"},
	} {
		if got := byKind[kind]; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s records of %s: %q, want %q", kind, ukService, got, want)
		}
	}
	if f := byKind["execution.failed"]; len(f) > 0 {
		t.Errorf("execution.failed records: %q", f)
	}
	lap("audit verified")
}

// ukVersion is one commit of mirage-www and what its image holds.
type ukVersion struct {
	commit  string
	binary  []byte // the unikernel at ukBinary
	hostSHA string // its SHA-256, hex: the file's name on the host
}

// ukPushVersion makes version n of the unikernel and pushes its image
// to image:live-hvt-<commit>, as the CI building mirage-www would, and
// returns the image as repo@sha256:….
func ukPushVersion(t *testing.T, image string, n int) (string, ukVersion) {
	t.Helper()
	v := ukVersion{commit: randomHex(t, 20), binary: make([]byte, 2<<20+n*4099)}
	if _, err := rand.Read(v.binary); err != nil {
		t.Fatal(err)
	}
	copy(v.binary, "\x7fELF solo5 hvt e2e unikernel")
	sum := sha256.Sum256(v.binary)
	v.hostSHA = hex.EncodeToString(sum[:])
	decoy := []byte(fmt.Sprintf("not the unikernel: the service says %s\n", ukBinary))
	ref := ukPushImage(t, image, ukTagPrefix+v.commit,
		[]ukFile{{"etc/motd", []byte("mirage-www v" + fmt.Sprint(n) + "\n")}, {"unikernel.hvt", decoy}},
		[]ukFile{{ukBinary, v.binary}})
	return ref, v
}

// ukFile is one regular file of an image layer.
type ukFile struct {
	Path string
	Data []byte
}

// ukPushImage pushes an image FROM scratch made of one layer per list of
// files to repo:tag and returns it as repo@sha256:….
func ukPushImage(t *testing.T, repo, tag string, layers ...[]ukFile) string {
	t.Helper()
	img := empty.Image
	for _, files := range layers {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		dirs := map[string]bool{}
		for _, f := range files {
			if d := filepath.Dir(f.Path); d != "." && !dirs[d] {
				dirs[d] = true
				writeTar(t, tw, &tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
			}
			writeTar(t, tw, &tar.Header{Name: f.Path, Mode: 0o644, Typeflag: tar.TypeReg}, f.Data)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			t.Fatal(err)
		}
	}
	return pushImage(t, repo+":"+tag, img, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", "amd64" // solo5 hvt on x86_64
		cf.Config = v1.Config{Labels: map[string]string{"org.opencontainers.image.source": "https://github.com/" + ukRepo}}
	})
}

// ukImageFile reads path out of the flattened filesystem of ref
// (repo@sha256:…) as the registry serves it, as `crane export` would.
func ukImageFile(t *testing.T, ref, path string) []byte {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(d)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s holds no %s", ref, path)
		}
		if err != nil {
			t.Fatalf("export %s: %v", ref, err)
		}
		if strings.TrimPrefix(h.Name, "/") == path && h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// ukDeployPush pushes v's commit, waits for its approval message (which
// must show ref), checks that the commit's author cannot approve it,
// has ukOps1 approve it and waits for the execution to succeed. It
// returns the request.
func ukDeployPush(t *testing.T, s *serveRun, seen map[cs.RequestID]bool, ref string, v ukVersion) cs.RequestID {
	t.Helper()
	if a := s.Push(ukRepo, ukBranch, v.commit, ukAuthor); a.Status != http.StatusOK || !strings.Contains(a.Body, ukService) {
		t.Fatalf("push %s: %s, want 200 and a deploy thread for %s", v.commit[:7], a, ukService)
	}
	card, rid := ukWaitCard(t, s, seen, 30*time.Second)
	if blocks := unescapeJSON(card.Blocks); !strings.Contains(blocks, ref) {
		t.Errorf("the approval message of %s does not show the image it deploys (%s):\n%s", rid, ref, blocks)
	}
	// The author may not approve his own commit.
	if a := s.Click(ukAuthorU, bot.ButtonApprove, buttonValue(card, bot.ButtonApprove)); a.Status != http.StatusOK {
		t.Fatalf("author's click: %s", a)
	}
	s.WaitAudit(func(r auditRecord) bool {
		return r.Kind == "approval.refused" && r.Request == string(rid) && r.Actor == ukAuthorU
	}, 10*time.Second)
	if a := s.Click(ukOps1, bot.ButtonApprove, buttonValue(card, bot.ButtonApprove)); a.Status != http.StatusOK {
		t.Fatalf("ops click: %s", a)
	}
	ukWaitSucceeded(t, s, rid)
	return rid
}

// ukWaitCard waits for an approval message of a request not in seen,
// adds the request to seen and returns both.
func ukWaitCard(t *testing.T, s *serveRun, seen map[cs.RequestID]bool, timeout time.Duration) (slacktest.Message, cs.RequestID) {
	t.Helper()
	var rid cs.RequestID
	card := s.WaitMessage(t, func(m slacktest.Message) bool {
		id, _, err := bot.ParseButtonValue(buttonValue(m, bot.ButtonApprove))
		if err != nil || seen[id] {
			return false
		}
		rid = id
		return true
	}, timeout)
	seen[rid] = true
	return card, rid
}

// ukWaitSucceeded waits for the execution of rid to end and fails the
// test unless it succeeded.
func ukWaitSucceeded(t *testing.T, s *serveRun, rid cs.RequestID) {
	t.Helper()
	end := s.WaitAudit(func(r auditRecord) bool {
		return r.Request == string(rid) && (r.Kind == "execution.succeeded" || r.Kind == "execution.failed")
	}, 30*time.Second)
	if end.Kind != "execution.succeeded" {
		t.Fatalf("%s: %s: %s", rid, end.Kind, end.Detail)
	}
}

// ukWaitCommitStatus waits (GitHub reports go out through the outbox)
// for the commit status countersign/www of sha to end in state, and
// returns it.
func ukWaitCommitStatus(t *testing.T, s *serveRun, sha, state string) githubtest.Status {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var last githubtest.Status
		for _, st := range s.GitHub.Statuses() {
			if st.Repo == ukRepo && st.SHA == sha && st.Context == "countersign/"+ukService {
				last = st
			}
		}
		if last.State == state {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("the commit status of %s is %q (%s), want %s", sha[:7], last.State, last.Description, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ukRegistry is a go-containerregistry registry on 127.0.0.1 that
// records the requests it serves. Unlike startRegistry it needs no
// Docker.
type ukRegistry struct {
	Host string

	mu       sync.Mutex
	requests []string // "METHOD PATH"
}

func ukStartRegistry(t *testing.T) *ukRegistry {
	t.Helper()
	r := &ukRegistry{}
	h := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.requests = append(r.requests, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// count is how many requests the registry has served.
func (r *ukRegistry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

// since returns the requests after the first n.
func (r *ukRegistry) since(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests[n:])
}

// ukHost is the Albatross host: a real sshd on loopback (sshdtest) whose
// sessions find executors/albatross's albatross-client stand-in first
// on their PATH, keeping its state in State, with the bot's images under
// Dir.
type ukHost struct {
	*sshdtest.Server
	State, Dir string
}

// ukStartHost starts the host, or skips the test when OpenSSH is not
// installed (fails it when CI is set).
func ukStartHost(t *testing.T) *ukHost {
	t.Helper()
	root := t.TempDir()
	h := &ukHost{State: filepath.Join(root, "standin"), Dir: filepath.Join(root, "unikernels")}
	bin, home := filepath.Join(root, "bin"), filepath.Join(root, "home")
	for _, d := range []string{h.State, bin, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	standin, err := os.ReadFile(ukStandin)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(bin, "albatross-client"), standin)
	if err := os.Chmod(filepath.Join(bin, "albatross-client"), 0o755); err != nil {
		t.Fatal(err)
	}
	// An empty HOME keeps the machine's own shell start-up files out.
	h.Server = sshdtest.Start(t, sshdtest.Options{Config: []string{
		"SetEnv PATH=" + bin + ":/usr/bin:/bin ALBATROSS_STANDIN_STATE=" + h.State + " HOME=" + home,
	}})
	return h
}

// ukNewHostKey is a host key nobody serves.
func ukNewHostKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	k, _ := sshdtest.NewKey(t)
	return k
}

// ukVM is what the stand-in says runs: the line `info` prints, from its
// state file vms/NAME.
var ukVM = regexp.MustCompile(`^(\S+): typ solo5 image (\S+) digest ([0-9a-f]{64})`)

// checkRuns checks on the host that the stand-in runs a file whose
// SHA-256 is that of the unikernel in ref (read back from the
// registry), that the file is the one the bot uploaded under Dir, and
// that the bot's index on the host makes ref current.
func (h *ukHost) checkRuns(t *testing.T, ref string, v ukVersion) {
	t.Helper()
	inImage := ukImageFile(t, ref, ukBinary)
	sum := sha256.Sum256(inImage)
	want := hex.EncodeToString(sum[:])
	if want != v.hostSHA {
		t.Fatalf("the registry serves %s with %s of sha256 %s, the test pushed %s", ref, ukBinary, want, v.hostSHA)
	}
	file := filepath.Join(h.Dir, ukName, want+".hvt")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the uploaded unikernel: %v (the host has %q)", err, h.files(t))
	}
	if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != want {
		t.Errorf("%s on the host has sha256 %x, want the image's %s", file, got, want)
	}
	state, err := os.ReadFile(filepath.Join(h.State, "vms", ukName))
	if err != nil {
		t.Fatalf("the stand-in runs no %s: %v; calls:\n%s", ukName, err, h.allCalls(t))
	}
	m := ukVM.FindStringSubmatch(string(state))
	if m == nil || m[1] != ukName || m[2] != file || m[3] != want {
		t.Errorf("the stand-in runs %q, want %s from %s with digest %s", state, ukName, file, want)
	}
	if !strings.Contains(string(state), " mem 64") || !strings.Contains(string(state), " net service:br0") {
		t.Errorf("the stand-in runs %q, want it created with the service's memory and net", state)
	}
	creates := h.calls(t, "create")
	if len(creates) == 0 || !strings.HasPrefix(creates[len(creates)-1], "[create] ["+ukName+"] ["+file+"] [--force]") {
		t.Errorf("the last create was %q, want `create %s %s --force …`", creates, ukName, file)
	}
	idx, err := os.ReadFile(filepath.Join(h.Dir, ukName, "index"))
	if err != nil {
		t.Fatalf("the bot's index on the host: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(idx)), "\n")
	if last := lines[len(lines)-1]; last != ref+" "+want+" "+v.commit {
		t.Errorf("the host's index ends with %q, want %q", last, ref+" "+want+" "+v.commit)
	}
}

// kept reports whether the host keeps the binary with SHA-256 sha.
func (h *ukHost) kept(sha string) bool {
	_, err := os.Stat(filepath.Join(h.Dir, ukName, sha+".hvt"))
	return err == nil
}

// files lists the unikernel's directory on the host.
func (h *ukHost) files(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(h.Dir, ukName))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// allCalls is the stand-in's record of its invocations.
func (h *ukHost) allCalls(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.State, "calls"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// calls returns the stand-in's invocations of subcommand sub.
func (h *ukHost) calls(t *testing.T, sub string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(h.allCalls(t), "\n") {
		if strings.HasPrefix(l, "["+sub+"] ") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}
