package swarm

import (
	"fmt"
	"strings"

	cs "github.com/countersign/countersign"
)

// imageRef is an image reference split into its parts.
type imageRef struct {
	Name   string // repository with registry host, e.g. "127.0.0.1:5000/app"
	Tag    string // "" when none
	Digest string // "sha256:…", "" when none
}

// String puts the reference back together as Docker writes it.
func (r imageRef) String() string {
	s := r.Name
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Pinned is the reference without its tag: "name@sha256:…".
func (r imageRef) Pinned() string { return r.Name + "@" + r.Digest }

// parseImage splits "name[:tag][@digest]". It checks the shape only, not
// every rule of Docker's reference grammar; the engine checks the rest.
func parseImage(s string) (imageRef, error) {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return imageRef{}, fmt.Errorf("bad image reference %q", s)
	}
	var r imageRef
	rest := s
	if i := strings.IndexByte(s, '@'); i >= 0 {
		rest, r.Digest = s[:i], s[i+1:]
		if !cs.ValidDigest(r.Digest) {
			return imageRef{}, fmt.Errorf("bad image reference %q: digest must be sha256: and 64 lower-case hex digits", s)
		}
	}
	// A colon after the last slash starts the tag; one before it is the
	// registry's port.
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		rest, r.Tag = rest[:i], rest[i+1:]
		if r.Tag == "" {
			return imageRef{}, fmt.Errorf("bad image reference %q: empty tag", s)
		}
	}
	if rest == "" || strings.HasPrefix(rest, "/") || strings.HasSuffix(rest, "/") || strings.Contains(rest, "//") {
		return imageRef{}, fmt.Errorf("bad image reference %q", s)
	}
	r.Name = rest
	return r, nil
}

// parseDigestRef accepts exactly "repo@sha256:<64 hex>", the only form
// Countersign deploys, and refuses tags with ErrNotDigest.
func parseDigestRef(s string) (imageRef, error) {
	r, err := parseImage(s)
	if err != nil {
		return imageRef{}, fmt.Errorf("%w: %w", ErrNotDigest, err)
	}
	switch {
	case r.Digest == "":
		return imageRef{}, fmt.Errorf("%w: %q has no digest, and tags are never deployed: name the image as repo@sha256:…", ErrNotDigest, s)
	case r.Tag != "":
		return imageRef{}, fmt.Errorf("%w: %q has both a tag and a digest: deploy %s", ErrNotDigest, s, r.Pinned())
	}
	return r, nil
}

// canonicalName makes Docker Hub's spellings of a repository compare equal:
// "docker.io/library/nginx", "index.docker.io/library/nginx" and "nginx".
func canonicalName(name string) string {
	for _, p := range []string{"docker.io/", "index.docker.io/", "registry-1.docker.io/"} {
		if strings.HasPrefix(name, p) {
			name = strings.TrimPrefix(strings.TrimPrefix(name, p), "library/")
			break
		}
	}
	return name
}

// sameImage reports whether a and b are the same digest of the same
// repository, ignoring tags ("repo:tag@d" is "repo@d"). References without
// a digest are the same only when they are spelt the same.
func sameImage(a, b string) bool {
	ra, errA := parseImage(a)
	rb, errB := parseImage(b)
	if errA != nil || errB != nil || ra.Digest == "" || rb.Digest == "" {
		return a == b
	}
	return ra.Digest == rb.Digest && canonicalName(ra.Name) == canonicalName(rb.Name)
}

// checkRepo refuses an image from another repository than the service's.
func (e *Executor) checkRepo(r imageRef) error {
	if e.repo == "" || canonicalName(r.Name) == canonicalName(e.repo) {
		return nil
	}
	return fmt.Errorf("%w: %s is not from %s, the repository of %s", ErrWrongRepo, r.Pinned(), e.repo, e.name)
}
