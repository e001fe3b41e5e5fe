package albatross

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
)

func TestExecutor_DescribeShowsExactCommands(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	_, ims := startRegistry(t, binary(1), binary(2))
	e := newExecutor(t, h.host(), www(), Options{})
	dir := filepath.Join(h.Dir, "www")

	plan, err := e.Describe(context.Background(), request(cs.ActionDeploy, ims[0]))
	if err != nil {
		t.Fatal(err)
	}
	tool, ok := e.cachedHasher()
	if !ok {
		t.Fatal("Describe did not find the host's SHA-256 tool")
	}
	for _, want := range []string{
		"www is not running on " + h.User + "@" + h.Addr + " (testhost)",
		"stream unikernel.hvt out of " + ims[0].Ref,
		"`mkdir -p -- " + dir + " && cat > '" + dir + "/.upload-<random>.tmp' && " + tool.name + " < '" + dir + "/.upload-<random>.tmp'`",
		"host key checked against " + h.KnownHosts,
		"`mv -f -- '" + dir + "/.upload-<random>.tmp' '" + dir + "/<sha256>.hvt'`",
		"`albatross-client create www '" + dir + "/<sha256>.hvt' --force --socket=/run/albatross/util/vmmd.sock --mem 64 --cpu 1 '--arg=--hello=it'\\''s me' --arg=--tls=true --net service:br0 --block data --restart-on-fail`",
		"`albatross-client info www --socket=/run/albatross/util/vmmd.sock` shows the new digest",
		"and if not, fail (nothing runs now, so there is nothing to restore)",
		"keep the newest 3 binaries",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}

	mustExecute(t, e, request(cs.ActionDeploy, ims[0]))
	for _, tc := range []struct {
		name string
		req  cs.Request
		want []string
	}{
		{"same image", request(cs.ActionDeploy, ims[0]), []string{"runs sha256 " + ims[0].SHA256, "change nothing"}},
		{"new image", request(cs.ActionDeploy, ims[1]), []string{"commit " + ims[0].Commit[:12], "re-create " + dir + "/" + ims[0].SHA256 + ".hvt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := e.Describe(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(plan, w) {
					t.Errorf("plan lacks %q:\n%s", w, plan)
				}
			}
		})
	}
}

func TestExecutor_DryRunChangesNothing(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	_, ims := startRegistry(t, binary(1))
	for _, tc := range []struct {
		name string
		opts Options
		req  func(cs.Request) cs.Request
	}{
		{"executor option", Options{DryRun: true}, func(r cs.Request) cs.Request { return r }},
		{"request flag", Options{}, func(r cs.Request) cs.Request { r.DryRun = true; return r }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newExecutor(t, h.host(), www(), tc.opts)
			req := tc.req(request(cs.ActionDeploy, ims[0]))
			plan, err := e.Describe(context.Background(), req)
			if err != nil || !strings.HasPrefix(plan, "DRY RUN: ") {
				t.Errorf("Describe = %q, %v", plan, err)
			}
			res, s := mustExecute(t, e, req)
			if !res.DryRun || res.Image != ims[0].Ref {
				t.Errorf("result = %+v", res)
			}
			for _, step := range strings.Split(s.String(), "\n") {
				if !strings.HasPrefix(step, "DRY RUN: ") {
					t.Errorf("step without DRY RUN: %q", step)
				}
			}
			if !strings.Contains(s.String(), "would replace the running unikernel") {
				t.Errorf("steps:\n%s", s)
			}
			if len(h.calls(t, "create")) != 0 || h.files(t, "www") != nil {
				t.Error("a dry run changed the host")
			}
			if len(h.calls(t, "info")) == 0 {
				t.Error("a dry run did not read the host's state")
			}
		})
	}
}

func TestExecutor_DescribeSaysWhatItCouldNotRead(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	hh := h.host()
	hh.Address = "127.0.0.1:1" // nothing listens
	e := newExecutor(t, hh, www(), Options{})
	im := testImage{Ref: "127.0.0.1:5000/mirage/www@sha256:" + strings.Repeat("a", 64)}
	plan, err := e.Describe(context.Background(), request(cs.ActionDeploy, im))
	if err != nil || !strings.Contains(plan, "not read") || !strings.Contains(plan, "will stream") {
		t.Errorf("Describe = %q, %v", plan, err)
	}
	if _, err := e.Status(context.Background(), "www"); err == nil {
		t.Error("Status of an unreachable host did not fail")
	}
}
