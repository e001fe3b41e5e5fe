package albatross

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// A hasher is a SHA-256 tool on the host. It always reads stdin (files
// are redirected to it), so that its output has one form whatever the
// file is called.
type hasher struct {
	// name is the command line, run as it is: one of hasherCandidates,
	// never anything from the configuration. Messages name the tool by it.
	name    string
	openssl bool // prints "SHA2-256(stdin)= <hex>", not "<hex>  -"
}

// hasherCandidates are the tools tried, in order, fastest first.
// OpenSSL's SHA-256 uses SHA-NI or AVX2 where the CPU has them, which
// coreutils' sha256sum does not (950 against 390 MiB/s on the hosts of
// the hardening issue, 640 against 245 on the 2-CPU VM the benchmark
// ran on), and the host's hash is on the upload's critical path; shasum
// (Perl) is the last resort.
func hasherCandidates() []hasher {
	return []hasher{
		{name: "openssl dgst -sha256", openssl: true},
		{name: "sha256sum"},
		{name: "shasum -a 256"},
	}
}

// probeInput and probeSum are what the probe hashes and must get back.
const (
	probeInput = "abc"
	probeSum   = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
)

var (
	// OpenSSL 3 prints "SHA2-256(stdin)= <hex>", 1.1 "SHA256(stdin)= <hex>",
	// 1.0 and LibreSSL "(stdin)= <hex>", the oldest just "<hex>".
	opensslSumRE = regexp.MustCompile(`^(?:[-0-9A-Za-z]*\(stdin\)= ?)?([0-9A-Fa-f]{64})\s*$`)
	// sha256sum, shasum and BusyBox print "<hex>  -" ("<hex> *-" in binary mode).
	coreutilsSumRE = regexp.MustCompile(`^([0-9A-Fa-f]{64}) [ *]-\s*$`)
)

// parse reads the digest the tool printed, in lower case.
func (h hasher) parse(out string) (string, error) {
	re := coreutilsSumRE
	if h.openssl {
		re = opensslSumRE
	}
	m := re.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("parse %s output %q: no SHA-256", h.name, tail(out))
	}
	return strings.ToLower(m[1]), nil
}

// hasherFor returns the host's SHA-256 tool: the first of
// hasherCandidates that hashes probeInput right. The probe runs on c the
// first time and its answer is kept for the Executor's life (see
// forgetHasher); concurrent callers wait for one probe. An error wraps
// ErrNoHasher when the host has none of them; other errors (a lost
// connection) are not kept, the next call probes again.
func (e *Executor) hasherFor(ctx context.Context, c *conn) (hasher, error) {
	select {
	case e.probing <- struct{}{}:
	case <-ctx.Done():
		return hasher{}, fmt.Errorf("find a SHA-256 tool on %s: %w", c.host, ctx.Err())
	}
	defer func() { <-e.probing }()
	if h, ok := e.cachedHasher(); ok {
		return h, nil
	}
	var tried []string
	for _, h := range hasherCandidates() {
		out, err := c.run(ctx, cmdProbe(h), nil, false)
		var ce *CommandError
		switch {
		case errors.As(err, &ce) && ce.Code >= 0:
			// Not installed (127), or it refused: try the next one.
			why := fmt.Sprintf("exit %d", ce.Code)
			if ce.Output != "" {
				why += ": " + ce.Output
			}
			tried = append(tried, h.name+" ("+why+")")
			continue
		case err != nil:
			return hasher{}, fmt.Errorf("find a SHA-256 tool on %s: %w", c.host, err)
		}
		sum, err := h.parse(out)
		if err == nil && sum != probeSum {
			err = fmt.Errorf("it gives %s for %q, not %s", sum, probeInput, probeSum)
		}
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s (%v)", h.name, err))
			continue
		}
		e.log.Debug("host SHA-256 tool", "unikernel", e.uk.Name, "host", c.host, "tool", h.name)
		e.mu.Lock()
		e.hasher = &h
		e.mu.Unlock()
		return h, nil
	}
	return hasher{}, fmt.Errorf("find a SHA-256 tool on %s: %w: tried %s", c.host, ErrNoHasher, strings.Join(tried, "; "))
}

// cachedHasher is the tool found by an earlier probe, if any.
func (e *Executor) cachedHasher() (hasher, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hasher == nil {
		return hasher{}, false
	}
	return *e.hasher, true
}

// forgetHasher drops the kept probe answer when err says that h could
// not be run (exit 126 or 127: the host changed since the probe), so
// that the next deploy probes again instead of failing the same way.
func (e *Executor) forgetHasher(h hasher, err error) {
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Code != 126 && ce.Code != 127 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hasher != nil && *e.hasher == h {
		e.hasher = nil
	}
}
