// Package albatross redeploys MirageOS unikernels on an Albatross host over
// SSH, with proof at each step.
//
// A deploy streams the unikernel binary out of an image in a registry
// (resolved by digest with go-containerregistry) straight into an SSH
// upload — never the whole image in memory or on local disk — while
// computing its SHA-256; has the host hash the file it stored (with the
// host's fastest SHA-256 tool: openssl, else sha256sum, else shasum,
// probed once per Executor) and compares; renames the upload
// to DIR/NAME/<sha256>.hvt; replaces the running unikernel with
// `albatross-client create --force …`; and checks that `albatross-client
// info NAME` shows the new digest. If the new unikernel does not come up,
// the previous image is re-created at once and the error says so.
//
// # Host-side layout
//
//	DIR/NAME/<sha256>.hvt   one file per binary, named by its SHA-256
//	DIR/NAME/index          which image each binary came from, see below
//	DIR/NAME/.upload-*.tmp  an upload in progress (renamed when verified)
//	DIR/NAME/.index-*.tmp   the next index, just before it is renamed
//
// The index maps image digests to binaries, so that a rollback needs no
// registry: one line per image, "<repo@sha256:…> <binary sha256> <commit or
// ->", oldest first, the image made current most recently last. It is
// rewritten atomically (a temporary file, then mv) after every change.
// Only the newest Keep binaries are kept, and never the running or the
// previous one. A deploy of an image already in the index uses the kept
// copy after the host's SHA-256 tool confirms it; a rollback only ever
// uses kept copies.
//
// Remote commands run through the SSH user's login shell, which must be a
// POSIX shell; every argument is quoted. The index assumes one bot per
// unikernel (the bot runs one execution per target at a time).
package albatross

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Defaults for the zero values of Host and Unikernel fields.
const (
	DefaultClient = "albatross-client"
	DefaultDir    = "/var/lib/countersign/unikernels"
	DefaultBinary = "unikernel.hvt"
	DefaultKeep   = 5
)

// Errors callers branch on. Host-key refusals wrap sshclient.ErrUnknownHost
// or sshclient.ErrHostKeyChanged; a failed remote command is a
// *CommandError.
var (
	// ErrConfig: New was given an unusable Host or Unikernel.
	ErrConfig = errors.New("bad albatross configuration")
	// ErrBadName: the unikernel name does not match ^[A-Za-z][-0-9A-Za-z_]*$.
	ErrBadName = errors.New("bad unikernel name")
	// ErrBinaryNotFound: the image has no regular file at Unikernel.Binary.
	ErrBinaryNotFound = errors.New("unikernel binary not in image")
	// ErrChecksum: the file on the host does not have the SHA-256 we sent.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrNotOnHost: a rollback's image is no longer kept on the host.
	ErrNotOnHost = errors.New("image not kept on the host")
	// ErrNotRunning: after create, info did not show the new digest.
	ErrNotRunning = errors.New("unikernel did not come up")
	// ErrNoHasher: the host has none of the SHA-256 tools tried
	// (openssl, sha256sum, shasum), so nothing stored there can be verified.
	ErrNoHasher = errors.New("no SHA-256 tool on the host")
	// ErrBadIndex: the host's index file cannot be parsed.
	ErrBadIndex = errors.New("bad index on host")
	// ErrAction: the request is not a deploy or rollback to an exact digest.
	ErrAction = errors.New("albatross executor cannot do this")
)

// Host is an Albatross host reached over SSH.
type Host struct {
	Name    string // the host's name in the configuration, for messages
	Address string // host:port; port 22 when left out
	User    string
	// Key is a PEM private key; zero means the SSH agent at $SSH_AUTH_SOCK.
	Key cs.Secret
	// KnownHosts is the local known_hosts file. Required: host keys are
	// always checked, an unknown or changed key is refused.
	KnownHosts string
	// Client is the albatross-client path on the host (default DefaultClient).
	Client string
	// Socket is passed as --socket; "" means albatross-client's default.
	Socket string
	// Dir is the absolute directory on the host under which each
	// unikernel's images are kept, in Dir/NAME/ (default DefaultDir).
	Dir string
}

// Unikernel says how one unikernel is built into images and run.
type Unikernel struct {
	Name   string // the Albatross VM name: ^[A-Za-z][-0-9A-Za-z_]*$
	Binary string // path of the binary inside the image (default DefaultBinary)
	// Memory (MB) and CPUs are --mem and --cpu; 0 leaves them out.
	Memory, CPUs  int
	Net           []string // --net [name:]bridge[@mac], one per entry
	Block         []string // --block name[:dev], one per entry
	Args          []string // --arg=…, one per entry, passed to the unikernel
	RestartOnFail bool
	// Keep is how many binaries to keep on the host, counting the running
	// one (default DefaultKeep). The running and the previous binary are
	// kept whatever Keep says.
	Keep int
	// Command, if set, replaces `albatross-client create --force …` for
	// hosts that use a wrapper: a text/template over .Name, .File (the
	// remote path of the binary) and .SHA256. Its output is split into
	// words and each word is shell-quoted. `albatross-client info` still
	// checks the result.
	Command string
}

// Options tune an Executor. The zero value is usable.
type Options struct {
	// DryRun makes Execute describe every remote command and change
	// nothing; it still reads the host's state.
	DryRun bool
	Logger *slog.Logger // nil: discard
	// Images streams images; nil means a RegistryFetcher with no
	// credentials beyond the Docker config.
	Images Fetcher
	// VerifyTimeout bounds the wait for `info` to show a new digest after
	// create (default 15s).
	VerifyTimeout time.Duration
	// ReadTimeout bounds what Describe, Prepare and Status read from the
	// host (default 10s).
	ReadTimeout time.Duration
}

// Executor deploys and rolls back one unikernel on one host. Its methods
// are safe to call concurrently, but the bot runs at most one execution
// per target at a time, and the host-side index assumes that.
type Executor struct {
	host   Host
	uk     Unikernel
	opts   Options
	images Fetcher
	tmpl   *template.Template // nil unless Unikernel.Command is set
	log    *slog.Logger

	probing chan struct{} // held while the host's SHA-256 tool is probed
	mu      sync.Mutex    // guards hasher
	hasher  *hasher       // the host's SHA-256 tool; nil until probed
}

var (
	_ bot.Executor = (*Executor)(nil)
	_ bot.Statuser = (*Executor)(nil)
	_ bot.Preparer = (*Executor)(nil)
)

// New checks h and u and returns the executor. Errors wrap ErrBadName or
// ErrConfig.
func New(h Host, u Unikernel, opts Options) (*Executor, error) {
	if !cs.ValidServiceName(u.Name) {
		return nil, fmt.Errorf("new albatross executor: %w %q: want a letter, then letters, digits, - and _ (at most %d)",
			ErrBadName, u.Name, cs.MaxServiceNameLen)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("new albatross executor for %s: %w: %s", u.Name, ErrConfig, fmt.Sprintf(format, a...))
	}
	if err := h.check(); err != nil {
		return nil, bad("%v", err)
	}
	if err := u.check(); err != nil {
		return nil, bad("%v", err)
	}
	if err := checkWords(h, u); err != nil {
		return nil, bad("%v", err)
	}
	e := &Executor{host: h, uk: u, opts: opts, images: opts.Images, log: opts.Logger, probing: make(chan struct{}, 1)}
	if e.images == nil {
		e.images = &RegistryFetcher{}
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if u.Command != "" {
		t, err := template.New("command").Option("missingkey=error").Parse(u.Command)
		if err != nil {
			return nil, bad("command template: %v", err)
		}
		e.tmpl = t
		if _, err := e.customCommand(e.file(placeholderSHA), placeholderSHA); err != nil {
			return nil, bad("command template: %v", err)
		}
	}
	return e, nil
}

// check fills in the host's defaults and checks what New needs of it.
func (h *Host) check() error {
	if h.Address == "" || h.User == "" {
		return errors.New("host address and user are required")
	}
	if _, _, err := net.SplitHostPort(h.Address); err != nil {
		h.Address = net.JoinHostPort(strings.Trim(h.Address, "[]"), "22")
	}
	if h.KnownHosts == "" {
		return fmt.Errorf("no known_hosts file for host %s (host keys are always checked)", h.Address)
	}
	if h.Client == "" {
		h.Client = DefaultClient
	}
	if h.Dir == "" {
		h.Dir = DefaultDir
	}
	if !path.IsAbs(h.Dir) {
		return fmt.Errorf("dir %q must be an absolute path on the host", h.Dir)
	}
	h.Dir = path.Clean(h.Dir)
	return nil
}

// check fills in the unikernel's defaults and checks its numbers; it
// copies the slices, which the caller may reuse.
func (u *Unikernel) check() error {
	if u.Binary == "" {
		u.Binary = DefaultBinary
	}
	u.Binary = strings.TrimPrefix(path.Clean("/"+u.Binary), "/")
	if u.Binary == "" {
		return errors.New("binary path names no file")
	}
	if u.Memory < 0 || u.CPUs < 0 || u.Keep < 0 {
		return errors.New("memory, cpus and keep must not be negative")
	}
	if u.Keep == 0 {
		u.Keep = DefaultKeep
	}
	u.Net, u.Block, u.Args = slices.Clone(u.Net), slices.Clone(u.Block), slices.Clone(u.Args)
	return nil
}

// checkWords refuses what would break the commands run on the host: line
// breaks anywhere, and --net or --block values that read as options.
func checkWords(h Host, u Unikernel) error {
	for _, s := range slices.Concat([]string{h.Client, h.Socket, h.Dir, u.Binary}, u.Args, u.Net, u.Block) {
		if strings.ContainsAny(s, "\x00\n\r") {
			return fmt.Errorf("%q contains a NUL or line break", s)
		}
	}
	for _, s := range slices.Concat(u.Net, u.Block) {
		if s == "" || strings.HasPrefix(s, "-") {
			return fmt.Errorf("--net and --block values must not be empty or start with '-' (got %q)", s)
		}
	}
	return nil
}

// dir is this unikernel's directory on the host.
func (e *Executor) dir() string { return path.Join(e.host.Dir, e.uk.Name) }

// file is the remote path of the binary with the given SHA-256.
func (e *Executor) file(sha string) string { return path.Join(e.dir(), sha+".hvt") }

// indexFile is the remote path of the index.
func (e *Executor) indexFile() string { return path.Join(e.dir(), "index") }

// where names the host for messages: "deploy@dopey:22 (dopey)".
func (e *Executor) where() string {
	s := e.host.User + "@" + e.host.Address
	if e.host.Name != "" {
		s += " (" + e.host.Name + ")"
	}
	return s
}

// readTimeout returns Options.ReadTimeout or its default.
func (e *Executor) readTimeout() time.Duration {
	if e.opts.ReadTimeout > 0 {
		return e.opts.ReadTimeout
	}
	return 10 * time.Second
}

// verifyTimeout returns Options.VerifyTimeout or its default.
func (e *Executor) verifyTimeout() time.Duration {
	if e.opts.VerifyTimeout > 0 {
		return e.opts.VerifyTimeout
	}
	return 15 * time.Second
}

// checkAction accepts a deploy or rollback to an exact digest and
// returns the digest.
func checkAction(a cs.Action) (string, error) {
	if a.Kind != cs.ActionDeploy && a.Kind != cs.ActionRollback {
		return "", fmt.Errorf("%w: %s (unikernels are deployed and rolled back, not scaled)", ErrAction, a.Kind)
	}
	i := strings.LastIndex(a.Image, "@")
	if i < 0 || !cs.ValidDigest(a.Image[i+1:]) {
		return "", fmt.Errorf("%w: %s to %q: want repo@sha256:<64 hex digits>", ErrAction, a.Kind, a.Image)
	}
	if strings.ContainsAny(a.Image, " \t\n\r\x00") {
		return "", fmt.Errorf("%w: image %q contains white space", ErrAction, a.Image)
	}
	return a.Image[i+1:], nil
}

// mib formats a byte count.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
