package albatross

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

// BenchmarkDeployToRunning is an approved deploy of a 16 MiB unikernel,
// from approval to running: Execute, as the bot calls it on approval
// (fetch from the registry, upload over SSH checked by the host's
// SHA-256, create, and `albatross-client info` showing the new image),
// against the seeds' path for the same image to the same host: crane
// export | tar x into a temporary file, scp, ssh sha256sum, ssh
// albatross-client create, alternating. The host is a real sshd whose
// sessions run the albatross-client test stand-in (testdata), which
// records the unikernel instead of running it. Every deploy is of an image
// the host has not had, so that each one uploads. It reports the mean of
// each and theirs ÷ ours (target: ≥ 1.5, ours that much faster).
//
//	go test ./executors/albatross -run '^$' -bench DeployToRunning -benchtime 5x
func BenchmarkDeployToRunning(b *testing.B) {
	const size = 16 << 20
	scp, err1 := exec.LookPath("scp")
	sshBin, err2 := exec.LookPath("ssh")
	if err1 != nil || err2 != nil {
		b.Skip("scp and ssh not installed: apt-get install -y --no-install-recommends openssh-client")
	}
	rng := rand.NewChaCha8([32]byte{3})
	binaries := make([][]byte, 2*b.N)
	for i := range binaries {
		binaries[i] = make([]byte, size)
		rng.Read(binaries[i])
	}
	_, ims := startRegistry(b, binaries...)
	h := startHost(b, nil)
	e := newExecutor(b, h.host(), www(), Options{})
	host, port, _ := net.SplitHostPort(h.Addr)
	sshOpts := []string{"-i", h.ClientKeyFile, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + h.KnownHosts}
	sshRun := func(command string) string {
		args := append(append([]string{"-p", port}, sshOpts...), h.User+"@"+host, command)
		out, err := exec.Command(sshBin, args...).CombinedOutput()
		if err != nil {
			b.Fatalf("ssh %s: %v\n%s", command, err, out)
		}
		return string(out)
	}
	var ours, seeds time.Duration
	b.ResetTimer()
	for i := range b.N {
		im := ims[2*i]
		start := time.Now()
		mustExecute(b, e, cs.Request{ID: cs.RequestID(fmt.Sprintf("R%d", 2*i+1)), Action: cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: im.Ref}})
		ours += time.Since(start)
		if got := h.running(b, "www"); got != im.SHA256 {
			b.Fatalf("after our deploy the stand-in runs %s, want %s", got, im.SHA256)
		}

		im = ims[2*i+1]
		dst := filepath.Join(h.Dir, fmt.Sprintf("seeds-%d.hvt", i))
		start = time.Now()
		seedsPath(b, im.Ref, func(tmp string) {
			args := append(append([]string{"-q", "-P", port}, sshOpts...), tmp, h.User+"@"+host+":"+dst)
			if out, err := exec.Command(scp, args...).CombinedOutput(); err != nil {
				b.Fatalf("scp: %v\n%s", err, out)
			}
		})
		if out := sshRun("sha256sum -- " + shellQuote(dst)); len(out) < 64 || out[:64] != im.SHA256 {
			b.Fatalf("sha256sum on the host: %q, want %s", out, im.SHA256)
		}
		create, err := e.cmdCreate(dst, im.SHA256)
		if err != nil {
			b.Fatal(err)
		}
		sshRun(create)
		seeds += time.Since(start)
		if got := h.running(b, "www"); got != im.SHA256 {
			b.Fatalf("after the seeds' deploy the stand-in runs %s, want %s", got, im.SHA256)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(ours.Seconds()/n, "s/deploy")
	b.ReportMetric(seeds.Seconds()/n, "seeds-s/deploy")
	b.ReportMetric(seeds.Seconds()/ours.Seconds(), "x-faster")
}
