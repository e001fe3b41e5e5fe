package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot/bottest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// wednesday is a clock that reads a Wednesday outside every freeze
// window; no test moves it.
var wednesday = bottest.NewClock(time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC))

// run runs one command in-process and returns its exit code and outputs.
func run(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	no := false
	m := &Main{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, StdinIsTerminal: &no, Clock: wednesday,
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := m.Run(ctx, args)
	return code, out.String(), errOut.String()
}

// normalise removes what differs between runs: the registry's port and
// execution timings.
func normalise(s string) string {
	s = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "REGISTRY")
	s = regexp.MustCompile(`in \d+(\.\d+)?(ms|µs|s)`).ReplaceAllString(s, "in TIME")
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update after checking):\n%s", path, diffLines(string(want), got))
	}
}

// diffLines shows the first differing lines.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n want: " + wl + "\n  got: " + gl
		}
	}
	return ""
}

// TestDemo_ScriptedSession runs testdata/session.txt through the demo:
// push → approval requested → author's approval refused → approvals by
// the right groups → dry-run execution → audit verify OK.
func TestDemo_ScriptedSession(t *testing.T) {
	script, err := os.ReadFile("testdata/session.txt")
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "demo.db")
	code, out, errOut := run(t, string(script), nil, "demo", "--quiet", "--db", db)
	if code != exitOK {
		t.Fatalf("demo exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		"R1 · deploy www · waiting for approval [DRY RUN]",
		"you cannot approve R1: requester cannot approve their own request",
		"R1 was superseded by R2",
		"R2 · deploy www · succeeded [DRY RUN]",
		"R3 · deploy opam-live · succeeded [DRY RUN]",
		"R4: downgrade: 5f3c9a1 is 4 commits behind a1b2c3d, which runs now",
		"• 7c1d2e3 Fix the dates of the RSS feed — @U0OPS0001",
		"www is now locked against deploys on push",
		"R6 · deploy www · refused [DRY RUN]",
		"you cannot approve R7: requester cannot approve their own request",
		"R7 · dns set ci.mirageos.org. A · succeeded [DRY RUN]",
		`unknown service "nosuch"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("session output lacks %q", want)
		}
	}
	golden(t, "session.golden", normalise(out))

	code, out, errOut = run(t, "", nil, "audit", "verify", "--db", db)
	if code != exitOK || !strings.HasPrefix(out, "OK: ") {
		t.Fatalf("audit verify: exit %d, %q %q", code, out, errOut)
	}
	anchor := regexp.MustCompile(`anchor: (\d+:[0-9a-f]{64})`).FindStringSubmatch(out)
	if anchor == nil {
		t.Fatalf("verify printed no anchor: %q", out)
	}
	if code, _, errOut := run(t, "", nil, "audit", "verify", "--db", db, "--anchor", anchor[1]); code != exitOK {
		t.Errorf("verify with its own anchor: %d %s", code, errOut)
	}
	seq, _, _ := strings.Cut(anchor[1], ":")
	for _, bad := range []struct{ anchor, want string }{
		{seq + ":" + strings.Repeat("0", 64), "was rewritten"},
		{"999999:" + strings.Repeat("0", 64), "truncated"},
	} {
		if code, _, errOut := run(t, "", nil, "audit", "verify", "--db", db, "--anchor", bad.anchor); code != exitFail || !strings.Contains(errOut, bad.want) {
			t.Errorf("anchor %s: %d %q, want failure saying %q", bad.anchor, code, errOut, bad.want)
		}
	}
	if code, _, _ := run(t, "", nil, "audit", "verify", "--db", db, "--anchor", "nonsense"); code != exitUsage {
		t.Errorf("malformed anchor: exit %d, want %d", code, exitUsage)
	}
	// Anchors kept in the audit channel: the history pasted or exported.
	dir := t.TempDir()
	history := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := history("good.txt", "🔏 Audit anchor at 2026-11-18 10:00 UTC: `1:"+firstHash(t, db)+"`\n"+
		`{"text":"🔏 Audit anchor: `+"`"+anchor[1]+"`"+`"}`+"\n")
	if code, out, errOut := run(t, "", nil, "audit", "verify", "--db", db, "--anchors", good); code != exitOK || !strings.Contains(out, "2 anchor(s) hold") {
		t.Errorf("verify --anchors: %d %q %q", code, out, errOut)
	}
	for _, bad := range []struct {
		name, text string
		code       int
		want       string
	}{
		{"rewritten", seq + ":" + strings.Repeat("ab", 32), exitFail, "was rewritten"},
		{"twice", "1:" + strings.Repeat("0", 64) + " 1:" + strings.Repeat("1", 64), exitUsage, "two different hashes"},
		{"empty", "no anchors here", exitUsage, "holds no SEQ:HASH"},
	} {
		f := history(bad.name, bad.text)
		if code, _, errOut := run(t, "", nil, "audit", "verify", "--db", db, "--anchors", f); code != bad.code || !strings.Contains(errOut, bad.want) {
			t.Errorf("--anchors %s: %d %q, want %d saying %q", bad.name, code, errOut, bad.code, bad.want)
		}
	}
	code, out, _ = run(t, "", nil, "audit", "export", "--db", db)
	if code != exitOK {
		t.Fatalf("audit export exit %d", code)
	}
	for _, kind := range []string{"config.loaded", "webhook.received", "request.created", "approval.requested",
		"approval.refused", "approval.granted", "request.superseded", "execution.started", "execution.step",
		"execution.succeeded", "lock.set", "request.refused"} {
		if !strings.Contains(out, `"kind":"`+kind+`"`) {
			t.Errorf("export has no %s record", kind)
		}
	}
	if !strings.Contains(out, `"dry_run":true`) {
		t.Error("dry-run executions are not marked dry_run in the audit trail")
	}
	// The demo zone's TSIG secret is in the config; it must not be in the trail.
	if strings.Contains(out, "ZGVtby1vbmx5LW5vdC1hLXJlYWwta2V5") {
		t.Error("the TSIG secret reached the audit trail")
	}
}

func TestRun_Usage(t *testing.T) {
	for _, args := range [][]string{{}, {"nosuch"}, {"shell"}, {"serve"}, {"config"}, {"config", "check"},
		{"audit"}, {"audit", "verify"}, {"audit", "verify", "--db", "x", "--server", "http://y"}, {"demo", "extra"}} {
		if code, _, _ := run(t, "", nil, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, out, _ := run(t, "", nil, "version"); code != exitOK || !strings.HasPrefix(out, "countersign ") {
		t.Errorf("version: %d %q", code, out)
	}
}

// firstHash returns the hash of audit record 1 in db.
func firstHash(t *testing.T, db string) string {
	t.Helper()
	code, out, _ := run(t, "", nil, "audit", "export", "--db", db)
	if code != exitOK {
		t.Fatal("export failed")
	}
	e, err := cs.ParseEvent([]byte(strings.SplitN(out, "\n", 2)[0]))
	if err != nil {
		t.Fatal(err)
	}
	return e.Hash
}
