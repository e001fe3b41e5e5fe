package albatross

import (
	"fmt"
	"regexp"
	"strings"

	cs "github.com/countersign/countersign"
)

// indexHeader is the first line of every index the executor writes.
const indexHeader = "# countersign albatross index v1: <image repo@sha256:…> <binary sha256> <commit or ->, oldest first, current last"

// entry is one image whose binary is (or was) kept on the host.
type entry struct {
	Image  string // repo@sha256:…
	SHA256 string // of the binary, lower-case hex
	Commit string // git commit the image was built from; "" if unknown
}

// digest is the image's manifest digest, "sha256:…".
func (e entry) digest() string { return e.Image[strings.LastIndex(e.Image, "@")+1:] }

// index is the host's record of images, oldest first; the image made
// current most recently is last.
type index []entry

var (
	hexSHA   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	commitRE = regexp.MustCompile(`^[0-9A-Za-z._-]{1,64}$`)
)

// parseIndex reads an index. Blank lines and # comments are skipped;
// any other malformed line is an error wrapping ErrBadIndex, because
// guessing what a damaged index means could roll back to the wrong image.
func parseIndex(s string) (index, error) {
	var x index
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: line %d: want 3 fields, got %d", ErrBadIndex, i+1, len(f))
		}
		at := strings.LastIndex(f[0], "@")
		if at <= 0 || !cs.ValidDigest(f[0][at+1:]) {
			return nil, fmt.Errorf("%w: line %d: %q is not repo@sha256:<hex>", ErrBadIndex, i+1, f[0])
		}
		if !hexSHA.MatchString(f[1]) {
			return nil, fmt.Errorf("%w: line %d: %q is not a SHA-256", ErrBadIndex, i+1, f[1])
		}
		e := entry{Image: f[0], SHA256: f[1]}
		if f[2] != "-" {
			e.Commit = f[2]
		}
		x = append(x, e)
	}
	return x, nil
}

// String is the index as the host stores it.
func (x index) String() string {
	var b strings.Builder
	b.WriteString(indexHeader + "\n")
	for _, e := range x {
		c := e.Commit
		if !commitRE.MatchString(c) {
			c = "-"
		}
		fmt.Fprintf(&b, "%s %s %s\n", e.Image, e.SHA256, c)
	}
	return b.String()
}

// byDigest returns the entry of the image with the given manifest digest
// (whatever repository it was pulled from: the digest names the content).
func (x index) byDigest(digest string) (entry, bool) {
	for i := len(x) - 1; i >= 0; i-- {
		if x[i].digest() == digest {
			return x[i], true
		}
	}
	return entry{}, false
}

// bySHA returns the newest entry whose binary has the given SHA-256.
func (x index) bySHA(sha string) (entry, bool) {
	for i := len(x) - 1; i >= 0; i-- {
		if x[i].SHA256 == sha {
			return x[i], true
		}
	}
	return entry{}, false
}

// previous returns the newest entry with a binary other than running:
// what ran before the current one.
func (x index) previous(running string) (entry, bool) {
	for i := len(x) - 1; i >= 0; i-- {
		if x[i].SHA256 != running {
			return x[i], true
		}
	}
	return entry{}, false
}

// touch records e as made current now: any entry for the same image
// digest is dropped and e appended. x is not changed.
func (x index) touch(e entry) index {
	out := make(index, 0, len(x)+1)
	for _, o := range x {
		if o.digest() != e.digest() {
			out = append(out, o)
		}
	}
	return append(out, e)
}

// prune keeps the entries of the newest keep binaries and of every
// binary in protect, and returns them with the SHA-256s of the binaries
// no kept entry refers to any more.
func (x index) prune(keep int, protect ...string) (index, []string) {
	kept := map[string]bool{}
	for _, p := range protect {
		if p != "" {
			kept[p] = true
		}
	}
	newest := map[string]bool{}
	for i := len(x) - 1; i >= 0 && len(newest) < keep; i-- {
		newest[x[i].SHA256] = true
		kept[x[i].SHA256] = true
	}
	var out index
	var drop []string
	dropped := map[string]bool{}
	for _, e := range x {
		if kept[e.SHA256] {
			out = append(out, e)
		} else if !dropped[e.SHA256] {
			dropped[e.SHA256] = true
			drop = append(drop, e.SHA256)
		}
	}
	return out, drop
}
