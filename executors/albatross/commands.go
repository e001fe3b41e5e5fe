package albatross

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	cs "github.com/countersign/countersign"
)

// placeholderSHA stands for a SHA-256 not known yet, in plans.
const placeholderSHA = "<sha256>"

// The remote commands, each built here so that the plan shows exactly
// what Execute runs. Every argument is quoted with shellQuote; a
// hasher's name goes in as it is, being one of hasherCandidates' fixed
// command lines.

// cmdReadIndex prints the index, or nothing when there is none yet.
func (e *Executor) cmdReadIndex() string {
	f := shellQuote(e.indexFile())
	return "if [ -e " + f + " ]; then cat -- " + f + "; fi"
}

// cmdUpload stores stdin as tmp, then has the host hash the stored file
// and print its SHA-256, so that what is compared with our hash is what
// a later read of the file returns. The second pass reads the page cache
// with the fastest tool the host has. It replaced tee into the hasher,
// which hashed on the way in: coreutils' tee moves data in 8 KiB reads
// and writes through one more pipe, and on a host short of CPU that and
// sshd feeding a slower reader cost more than the second pass (see
// BenchmarkUpload256MiB: tee-MiB/s against MiB/s). A failed write (disk
// full) fails cat, and so the command.
func (e *Executor) cmdUpload(tmp string, h hasher) string {
	return "mkdir -p -- " + shellQuote(e.dir()) + " && cat > " + shellQuote(tmp) + " && " + cmdSum(tmp, h)
}

// cmdSum prints the SHA-256 of a file on the host. The file is stdin, so
// that every tool prints its stdin form, whatever the file is called.
func cmdSum(file string, h hasher) string { return h.name + " < " + shellQuote(file) }

// cmdProbe hashes probeInput.
func cmdProbe(h hasher) string { return "printf " + probeInput + " | " + h.name }

// cmdRename moves a verified upload into place.
func cmdRename(tmp, final string) string {
	return "mv -f -- " + shellQuote(tmp) + " " + shellQuote(final)
}

// cmdRemove deletes files (missing ones are fine).
func cmdRemove(files ...string) string { return "rm -f -- " + shellJoin(files...) }

// cmdWriteIndex replaces the index atomically with stdin.
func (e *Executor) cmdWriteIndex(tmp string) string {
	return "mkdir -p -- " + shellQuote(e.dir()) + " && cat > " + shellQuote(tmp) + " && mv -f -- " + shellQuote(tmp) + " " + shellQuote(e.indexFile())
}

// clientArgs starts an albatross-client command line: path, subcommand,
// then --socket if configured.
func (e *Executor) clientArgs(sub string, args ...string) []string {
	w := []string{e.host.Client, sub}
	w = append(w, args...)
	if e.host.Socket != "" {
		w = append(w, "--socket="+e.host.Socket)
	}
	return w
}

// cmdInfo asks albatross-client about this unikernel.
func (e *Executor) cmdInfo() string { return shellJoin(e.clientArgs("info", e.uk.Name)...) }

// cmdCreate (re)creates the unikernel from file: the configured template,
// or `albatross-client create NAME FILE --force …` spelled as
// albatross's CLI documents it.
func (e *Executor) cmdCreate(file, sha string) (string, error) {
	if e.tmpl != nil {
		return e.customCommand(file, sha)
	}
	w := e.clientArgs("create", e.uk.Name, file, "--force")
	if e.uk.Memory > 0 {
		w = append(w, "--mem", strconv.Itoa(e.uk.Memory))
	}
	if e.uk.CPUs > 0 {
		w = append(w, "--cpu", strconv.Itoa(e.uk.CPUs))
	}
	for _, a := range e.uk.Args {
		w = append(w, "--arg="+a)
	}
	for _, n := range e.uk.Net {
		w = append(w, "--net", n)
	}
	for _, b := range e.uk.Block {
		w = append(w, "--block", b)
	}
	if e.uk.RestartOnFail {
		w = append(w, "--restart-on-fail")
	}
	return shellJoin(w...), nil
}

// customCommand renders Unikernel.Command, splits it into words and
// quotes each one, so that nothing in .Name, .File or .SHA256 (or the
// template) reaches the shell unquoted.
func (e *Executor) customCommand(file, sha string) (string, error) {
	var b strings.Builder
	if err := e.tmpl.Execute(&b, struct{ Name, File, SHA256 string }{e.uk.Name, file, sha}); err != nil {
		return "", fmt.Errorf("render command template: %w", err)
	}
	words := strings.Fields(b.String())
	if len(words) == 0 {
		return "", fmt.Errorf("render command template: %w: it renders no command", ErrConfig)
	}
	return shellJoin(words...), nil
}

// tmpName is the remote name of an upload in progress.
func (e *Executor) tmpName(kind, random string) string {
	return path.Join(e.dir(), "."+kind+"-"+random+".tmp")
}

var digestRE = regexp.MustCompile(`(?i)\bdigest[\s:=]+([0-9a-f]{64})\b`)

// parseInfo returns the digest (lower-case hex SHA-256) of the unikernel
// that `albatross-client info NAME` describes, or "" when it lists none
// ("no unikernels"). It looks for "digest <hex>" anywhere, so that it
// reads albatross's one-line entries as well as one field per line; more
// than one different digest is an error, as the named unikernel is one.
func parseInfo(out string) (string, error) {
	var found string
	for _, m := range digestRE.FindAllStringSubmatch(out, -1) {
		d := strings.ToLower(m[1])
		if found != "" && found != d {
			return "", fmt.Errorf("parse albatross-client info: it shows several digests (%s, %s)", cs.ShortHash(found), cs.ShortHash(d))
		}
		found = d
	}
	if found == "" && strings.TrimSpace(out) != "" && !strings.Contains(out, "no unikernels") {
		return "", fmt.Errorf("parse albatross-client info: no digest in %q", tail(out))
	}
	return found, nil
}
