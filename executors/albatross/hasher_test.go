package albatross

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	cs "github.com/countersign/countersign"
)

func TestHasher_Parse(t *testing.T) {
	const sum = probeSum
	openssl, coreutils := hasherCandidates()[0], hasherCandidates()[1]
	for _, tc := range []struct {
		name string
		h    hasher
		out  string
		want string // "" for an error
	}{
		{"openssl 3", openssl, "SHA2-256(stdin)= " + sum + "\n", sum},
		{"openssl 1.1", openssl, "SHA256(stdin)= " + sum + "\n", sum},
		{"openssl 1.0, libressl", openssl, "(stdin)= " + sum + "\n", sum},
		{"openssl 0.9", openssl, sum + "\n", sum},
		{"openssl upper case", openssl, "(stdin)= " + strings.ToUpper(sum) + "\n", sum},
		{"openssl of a file", openssl, "SHA2-256(/x)= " + sum + "\n", ""},
		{"openssl two lines", openssl, "(stdin)= " + sum + "\n(stdin)= " + sum + "\n", ""},
		{"openssl short", openssl, "(stdin)= " + sum[:63] + "\n", ""},
		{"openssl md5", openssl, "MD5(stdin)= 900150983cd24fb0d6963f7d28e17f72\n", ""},
		{"sha256sum", coreutils, sum + "  -\n", sum},
		{"sha256sum binary mode", coreutils, sum + " *-\n", sum},
		{"sha256sum of a file", coreutils, sum + "  /x\n", ""},
		{"sha256sum in openssl's form", coreutils, "(stdin)= " + sum + "\n", ""},
		{"empty", coreutils, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.h.parse(tc.out)
			if got != tc.want || (err != nil) != (tc.want == "") {
				t.Errorf("parse(%q) = %q, %v; want %q", tc.out, got, err, tc.want)
			}
		})
	}
}

// TestExecutor_HostHasher deploys, rolls back (the kept copy is checked
// on the host) and deploys a damaged upload on hosts that have different
// SHA-256 tools: the first that works is used, named in the steps, and
// catches the damage.
func TestExecutor_HostHasher(t *testing.T) {
	t.Parallel()
	// An openssl that runs but gives a wrong SHA-256 (say, a broken build).
	wrongOpenSSL := "#!/bin/sh\ncat >/dev/null; echo 'SHA2-256(stdin)= " + strings.Repeat("0", 64) + "'\n"
	for _, tc := range []struct {
		name  string
		need  []string // commands (Debian package) the case needs here
		hide  []string
		extra map[string]string
		want  string
	}{
		{"openssl", []string{"openssl", "openssl"}, nil, nil, "openssl dgst -sha256"},
		{"no openssl", nil, []string{"openssl"}, nil, "sha256sum"},
		{"openssl gives a wrong sum", nil, nil, map[string]string{"openssl": wrongOpenSSL}, "sha256sum"},
		{"only shasum", []string{"shasum", "perl"}, []string{"openssl", "sha256sum"}, nil, "shasum -a 256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for i := 0; i < len(tc.need); i += 2 {
				needCommand(t, tc.need[i], tc.need[i+1])
			}
			h := startHostWithout(t, tc.extra, tc.hide...)
			_, ims := startRegistry(t, binary(1), binary(2))
			e := newExecutor(t, h.host(), www(), Options{})

			plan, err := e.Describe(context.Background(), request(cs.ActionDeploy, ims[0]))
			if err != nil || !strings.Contains(plan, "&& "+tc.want+" < ") {
				t.Errorf("Describe = %q, %v; want the upload into %s", plan, err, tc.want)
			}
			_, s := mustExecute(t, e, request(cs.ActionDeploy, ims[0]))
			if want := "verified: " + tc.want + " on the host gives " + ims[0].SHA256; !strings.Contains(s.String(), want) {
				t.Errorf("steps lack %q:\n%s", want, s)
			}
			mustExecute(t, e, request(cs.ActionDeploy, ims[1]))
			_, s = mustExecute(t, e, request(cs.ActionRollback, ims[0]))
			if want := "(" + tc.want + " confirms it)"; !strings.Contains(s.String(), want) {
				t.Errorf("rollback steps lack %q:\n%s", want, s)
			}
			if got := h.running(t, "www"); got != ims[0].SHA256 {
				t.Errorf("running %q after the rollback, want %s", got, ims[0].SHA256)
			}

			// The same host whose cat damages what it stores.
			extra := map[string]string{"cat": "#!/bin/sh\n/usr/bin/cat \"$@\" && printf X\n"}
			for k, v := range tc.extra {
				extra[k] = v
			}
			h = startHostWithout(t, extra, tc.hide...)
			e = newExecutor(t, h.host(), www(), Options{})
			_, err, s = execute(t, e, request(cs.ActionDeploy, ims[0]))
			if want := tc.want + " on the host gives "; !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), want) {
				t.Fatalf("damaged upload: err = %v, want ErrChecksum with %q", err, want)
			}
			if len(h.calls(t, "create")) != 0 || h.files(t, "www") != nil {
				t.Errorf("a damaged upload was used or left on the host: files %q, steps:\n%s", h.files(t, "www"), s)
			}
		})
	}
}

func TestExecutor_NoHostHasher(t *testing.T) {
	t.Parallel()
	h := startHostWithout(t, nil, "openssl", "sha256sum", "shasum")
	_, ims := startRegistry(t, binary(1))
	e := newExecutor(t, h.host(), www(), Options{})
	_, err := e.Describe(context.Background(), request(cs.ActionDeploy, ims[0]))
	if !errors.Is(err, ErrNoHasher) {
		t.Errorf("Describe: err = %v, want ErrNoHasher (nobody should approve what cannot be verified)", err)
	}
	_, err, _ = execute(t, e, request(cs.ActionDeploy, ims[0]))
	if !errors.Is(err, ErrNoHasher) {
		t.Fatalf("err = %v, want ErrNoHasher", err)
	}
	for _, want := range []string{"openssl dgst -sha256 (exit 127", "sha256sum (exit 127", "shasum -a 256 (exit 127", "not found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q lacks %q", err, want)
		}
	}
	if len(h.calls(t, "create")) != 0 || h.files(t, "www") != nil {
		t.Error("something changed on a host that cannot verify uploads")
	}
	if _, ok := e.cachedHasher(); ok {
		t.Error("a failed probe was kept")
	}
}

// TestExecutor_ProbesOncePerExecutor counts the host's openssl runs:
// concurrent callers share one probe, uploads reuse its answer, and an
// openssl that disappears from the host is probed for again.
func TestExecutor_ProbesOncePerExecutor(t *testing.T) {
	t.Parallel()
	needCommand(t, "openssl", "openssl")
	openssl, _ := exec.LookPath("openssl")
	// openssl, counted, and "uninstalled" when the marker no-openssl exists.
	counting := "#!/bin/sh\nif [ -e \"$ALBATROSS_STANDIN_STATE/no-openssl\" ]; then echo 'sh: 1: openssl: not found' >&2; exit 127; fi\n" +
		"echo \"$*\" >> \"$ALBATROSS_STANDIN_STATE/openssl-runs\"\nexec " + shellQuote(openssl) + " \"$@\"\n"
	h := startHost(t, map[string]string{"openssl": counting})
	runs := func() int {
		b, err := os.ReadFile(filepath.Join(h.State, "openssl-runs"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return strings.Count(string(b), "\n")
	}
	_, ims := startRegistry(t, binary(1), binary(2), binary(3))
	e := newExecutor(t, h.host(), www(), Options{})

	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			c, err := e.dial(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			got, err := e.hasherFor(ctx, c)
			if err == nil && got.name != "openssl dgst -sha256" {
				err = errors.New("picked " + got.name)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := runs(); got != 1 {
		t.Errorf("%d probes by 8 concurrent callers, want 1", got)
	}
	mustExecute(t, e, request(cs.ActionDeploy, ims[0]))
	mustExecute(t, e, request(cs.ActionDeploy, ims[1]))
	if got := runs(); got != 3 {
		t.Errorf("openssl ran %d times for a probe and two uploads, want 3", got)
	}

	h.mark(t, "no-openssl")
	_, err, _ := execute(t, e, request(cs.ActionDeploy, ims[2]))
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Code != 127 {
		t.Fatalf("upload after openssl went: err = %v, want exit 127", err)
	}
	_, s := mustExecute(t, e, request(cs.ActionDeploy, ims[2]))
	if !strings.Contains(s.String(), "verified: sha256sum on the host gives") {
		t.Errorf("the deploy after openssl went did not probe again:\n%s", s)
	}
}
