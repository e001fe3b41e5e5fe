package albatross

import (
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
)

func testHostConfig() Host {
	return Host{Address: "dopey.example.org", User: "deploy", KnownHosts: "/etc/countersign/known_hosts"}
}

func TestNew_RefusesBadNames(t *testing.T) {
	for _, name := range []string{"", "www; rm -rf /", "$(reboot)", "`id`", "a b", "www'", "-www", "1www", "www\n", "ww|w", "www&", "../www", "w/w",
		strings.Repeat("w", cs.MaxServiceNameLen+1)} {
		t.Run(name, func(t *testing.T) {
			_, err := New(testHostConfig(), Unikernel{Name: name}, Options{})
			if !errors.Is(err, ErrBadName) {
				t.Errorf("New(%q) = %v, want ErrBadName", name, err)
			}
		})
	}
	for _, name := range []string{"www", "next", "A-b_9", "w"} {
		if _, err := New(testHostConfig(), Unikernel{Name: name}, Options{}); err != nil {
			t.Errorf("New(%q) = %v", name, err)
		}
	}
}

func TestNew_RefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		host func(*Host)
		uk   func(*Unikernel)
	}{
		{"no known_hosts", func(h *Host) { h.KnownHosts = "" }, nil},
		{"no user", func(h *Host) { h.User = "" }, nil},
		{"relative dir", func(h *Host) { h.Dir = "unikernels" }, nil},
		{"line break in socket", func(h *Host) { h.Socket = "/run/x\nrm -rf /" }, nil},
		{"negative keep", nil, func(u *Unikernel) { u.Keep = -1 }},
		{"net looks like an option", nil, func(u *Unikernel) { u.Net = []string{"--force"} }},
		{"bad template", nil, func(u *Unikernel) { u.Command = "redeploy {{.Name" }},
		{"template with unknown field", nil, func(u *Unikernel) { u.Command = "redeploy {{.Nope}}" }},
		{"empty template", nil, func(u *Unikernel) { u.Command = "{{/* nothing */}}" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, u := testHostConfig(), Unikernel{Name: "www"}
			if tc.host != nil {
				tc.host(&h)
			}
			if tc.uk != nil {
				tc.uk(&u)
			}
			if _, err := New(h, u, Options{}); !errors.Is(err, ErrConfig) {
				t.Errorf("err = %v, want ErrConfig", err)
			}
		})
	}
}

func TestNew_Defaults(t *testing.T) {
	e, err := New(testHostConfig(), Unikernel{Name: "www"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"address", e.host.Address, "dopey.example.org:22"},
		{"dir", e.dir(), "/var/lib/countersign/unikernels/www"},
		{"binary", e.uk.Binary, "unikernel.hvt"},
		{"info", e.cmdInfo(), "albatross-client info www"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if e.uk.Keep != DefaultKeep {
		t.Errorf("keep = %d, want %d", e.uk.Keep, DefaultKeep)
	}
}

func TestExecutor_CreateCommand(t *testing.T) {
	const file = "/var/lib/countersign/unikernels/www/ab.hvt"
	for _, tc := range []struct {
		name string
		host func(*Host)
		uk   Unikernel
		want string
	}{
		{"minimal", nil, Unikernel{Name: "www"}, "albatross-client create www " + file + " --force"},
		{"everything", func(h *Host) { h.Client, h.Socket = "/usr/local/bin/albatross-client", "/run/albatross/util/vmmd.sock" },
			Unikernel{Name: "www", Memory: 512, CPUs: 1, Net: []string{"service:br0", "mgmt@00:16:3e:00:00:01"}, Block: []string{"data:sda"},
				Args: []string{"--tls=true", "--motd=it's $(a) `test`"}, RestartOnFail: true},
			"/usr/local/bin/albatross-client create www " + file + " --force --socket=/run/albatross/util/vmmd.sock --mem 512 --cpu 1 " +
				`--arg=--tls=true '--arg=--motd=it'\''s $(a) ` + "`test`'" + " --net service:br0 --net mgmt@00:16:3e:00:00:01 --block data:sda --restart-on-fail"},
		{"template", nil, Unikernel{Name: "www", Command: "mirage-redeploy {{.Name}} {{.File}} --sha={{.SHA256}} $(oops) ;"},
			"mirage-redeploy www " + file + " --sha=ab '$(oops)' ';'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := testHostConfig()
			if tc.host != nil {
				tc.host(&h)
			}
			e, err := New(h, tc.uk, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.cmdCreate(file, "ab")
			if err != nil || got != tc.want {
				t.Errorf("cmdCreate =\n %s, %v\nwant\n %s", got, err, tc.want)
			}
		})
	}
}

// TestShellQuote runs the quoted words through a real sh: each must come
// back as exactly one argument, unchanged.
func TestShellQuote(t *testing.T) {
	words := []string{"plain", "", "a b", "it's", `"dq"`, "$(reboot)", "`id`", "a;b", "a&&b", "x|y", "*", "~root", "$HOME", "a\\b", "tab\there", "new\nline", "-n", "ünï"}
	out, err := exec.Command("sh", "-c", "set -- "+shellJoin(words...)+`; for a; do printf '%s\036' "$a"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x1e"), "\x1e")
	if len(got) != len(words) {
		t.Fatalf("sh saw %d words, want %d: %q", len(got), len(words), got)
	}
	for i := range words {
		if got[i] != words[i] {
			t.Errorf("word %d: sh saw %q, want %q", i, got[i], words[i])
		}
	}
}

func TestParseInfo(t *testing.T) {
	const d1, d2 = "1111111111111111111111111111111111111111111111111111111111111111", "2222222222222222222222222222222222222222222222222222222222222222"
	for _, tc := range []struct {
		name, out, want string
		wantErr         bool
	}{
		{"none", "no unikernels\n", "", false},
		{"empty", "", "", false},
		{"one line", "www: typ solo5 cpu 0 memory 64 MB digest " + d1 + " block data\n", d1, false},
		{"field per line", "name www\nmemory 64\ndigest: " + d1 + "\n", d1, false},
		{"upper case", "DIGEST " + strings.ToUpper(d1), d1, false},
		{"two unikernels", "www digest " + d1 + "\nwww2 digest " + d2 + "\n", "", true},
		{"no digest", "www: typ solo5\n", "", true},
		{"short digest", "www digest 1234\n", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseInfo(tc.out)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("parseInfo = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestCommandError_Explains(t *testing.T) {
	for _, tc := range []struct {
		err  CommandError
		want string
	}{
		{CommandError{Command: "albatross-client create www f --force", Code: 117, Output: "host vmmd: command failed Unikernel with same name is already running", Client: true},
			"albatross-client create: exit 117 (the albatross daemon refused the command): host vmmd: command failed Unikernel with same name is already running"},
		{CommandError{Command: "albatross-client info www", Code: 122, Client: true},
			"albatross-client info: exit 122 (cannot connect to the albatross daemon (is it running? is --socket right?))"},
		{CommandError{Command: "albatross-client create www f", Code: 124, Client: true}, "exit 124 (command-line usage error"},
		{CommandError{Command: "/opt/ac info www", Code: 127, Output: "sh: 1: /opt/ac: not found", Client: true}, "albatross-client not found on the host"},
		{CommandError{Command: "albatross-client create www f", Code: -1, Client: true}, "no exit status"},
		{CommandError{Command: "sha256sum -- /x", Code: 1, Output: "No such file"}, "`sha256sum -- /x`: exit 1: No such file"},
	} {
		if got := tc.err.Error(); !strings.Contains(got, tc.want) {
			t.Errorf("Error() = %q, want it to contain %q", got, tc.want)
		}
	}
}

func TestCheckAction(t *testing.T) {
	const d = "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		a  cs.Action
		ok bool
	}{
		{cs.Action{Kind: cs.ActionDeploy, Image: "r.example/x@" + d}, true},
		{cs.Action{Kind: cs.ActionRollback, Image: "r.example/x@" + d}, true},
		{cs.Action{Kind: cs.ActionScale, Image: "r.example/x@" + d}, false},
		{cs.Action{Kind: cs.ActionDeploy, Image: "r.example/x:latest"}, false},
		{cs.Action{Kind: cs.ActionDeploy, Image: "r.example/x y@" + d}, false},
		{cs.Action{Kind: cs.ActionRollback}, false},
	} {
		if _, err := checkAction(tc.a); (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrAction) {
			t.Errorf("checkAction(%+v) = %v, want ok %v", tc.a, err, tc.ok)
		}
	}
}

func TestLimitedBuffer_KeepsAtMostMax(t *testing.T) {
	b := &limitedBuffer{max: 10}
	n, err := io.Copy(b, strings.NewReader(strings.Repeat("x", 100)))
	if n != 100 || err != nil || b.String() != strings.Repeat("x", 10) {
		t.Errorf("io.Copy = %d, %v; kept %q", n, err, b.String())
	}
}
