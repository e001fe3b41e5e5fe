package albatross

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuUse is the CPU time (user and system) the parties of a transfer
// spent, for BenchmarkUpload256MiB.
type cpuUse struct {
	bot      time.Duration // this process (the bot; crane export's stand-in)
	tools    time.Duration // the commands it ran and waited for: scp, ssh
	registry time.Duration // the registry process
	host     time.Duration // sshd and everything it ran (the "host")
}

func (u cpuUse) add(v cpuUse) cpuUse {
	return cpuUse{u.bot + v.bot, u.tools + v.tools, u.registry + v.registry, u.host + v.host}
}

func (u cpuUse) sub(v cpuUse) cpuUse {
	return cpuUse{u.bot - v.bot, u.tools - v.tools, u.registry - v.registry, u.host - v.host}
}

func (u cpuUse) total() time.Duration { return u.bot + u.tools + u.registry + u.host }

// cpuMeter reads the counters of cpuUse. Linux-only, like the rest of
// the benchmark (/proc/self/clear_refs).
type cpuMeter struct{ sshd, registry int }

// newCPUMeter meters the host's sshd (its PID file is in its directory)
// and the registry process.
func newCPUMeter(b *testing.B, h *testHost, registryPID int) *cpuMeter {
	data, err := os.ReadFile(filepath.Join(h.Server.Dir, "sshd.pid"))
	if err != nil {
		b.Fatalf("sshd's PID, to meter the host's CPU: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		b.Fatalf("sshd's PID file: %v", err)
	}
	return &cpuMeter{sshd: pid, registry: registryPID}
}

// read returns the counters once sshd has reaped every connection that
// ended: a process's CPU time counts in its parent's only then.
func (m *cpuMeter) read(b *testing.B) cpuUse {
	deadline := time.Now().Add(5 * time.Second)
	for hasChildren(m.sshd) {
		if time.Now().After(deadline) {
			b.Fatal("sshd still has connections 5s after the transfer ended")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var self, children syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children); err != nil {
		b.Fatal(err)
	}
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return cpuUse{
		bot:      tv(self.Utime) + tv(self.Stime),
		tools:    tv(children.Utime) + tv(children.Stime),
		registry: procCPU(b, m.registry, false),
		host:     procCPU(b, m.sshd, true),
	}
}

// procStat returns the fields of /proc/PID/stat after the command name
// (the first is field 3, the state), or nil if there is no such process.
func procStat(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(data)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// procCPU is pid's utime and stime, with withChildren also those of its
// children that it waited for. /proc counts in USER_HZ, 100 on Linux.
func procCPU(b *testing.B, pid int, withChildren bool) time.Duration {
	f := procStat(pid)
	if len(f) < 15 {
		b.Fatalf("/proc/%d/stat: process gone", pid)
	}
	fields := f[11:13] // utime, stime: fields 14 and 15
	if withChildren {
		fields = f[11:15] // and cutime, cstime
	}
	var ticks int64
	for _, v := range fields {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatalf("/proc/%d/stat: %v", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100
}

// hasChildren reports whether some process has parent pid.
func hasChildren(pid int) bool {
	ents, _ := os.ReadDir("/proc")
	want := strconv.Itoa(pid)
	for _, e := range ents {
		if p, err := strconv.Atoi(e.Name()); err == nil {
			if f := procStat(p); len(f) > 1 && f[1] == want {
				return true
			}
		}
	}
	return false
}
