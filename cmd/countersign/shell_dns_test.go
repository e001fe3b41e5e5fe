package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countersign/countersign/executors/dns/bindtest"
)

// TestShell_DNSAgainstBIND runs `countersign shell` with a config whose
// zone is a real BIND 9: request → two approvals → RFC 2136 update →
// verified in BIND → audit verify OK, and the TSIG secret appears nowhere
// (chat output, logs, audit trail).
func TestShell_DNSAgainstBIND(t *testing.T) {
	ns := bindtest.Start(t, bindtest.Options{})
	dir, cfg := bindShellConfig(t, ns, "", `groups:
  ops: [U0OPS0001, U0OPS0002, U0OPS0003]
policies:
  - name: dns-changes
    actions: [dns]
    targets: ["`+bindtest.Zone+`", "*.`+bindtest.Zone+`"]
    request: [group:ops]
    approve: [{group: ops, count: 2}]
`)

	script := `@U0OPS0001 dns show www.example.test A
@U0OPS0001 dns set ci.example.test A 192.0.2.53 600
@U0OPS0001 approve R1
@U0OPS0002 approve R1
@U0OPS0003 approve R1
@U0OPS0001 dns set www.example.test A 192.0.2.80
@U0OPS0002 approve R2
@U0OPS0003 approve R2
@U0OPS0001 dns set other.invalid A 192.0.2.1
`
	code, out, errOut := run(t, script, nil, "shell", "--config", cfg)
	if code != exitOK {
		t.Fatalf("shell exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"www.example.test. 300 A 192.0.2.1",           // dns show
		"you cannot approve R1: requester",            // self-approval refused
		"R1 · dns set ci.example.test. A · succeeded", // ran after two approvals
		"SOA serial",
		"R2 · dns set www.example.test. A · succeeded",
		"is not in any configured zone (zones: example.test)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := ns.Query(t, "ci.example.test.", "A"); len(got) != 1 || !strings.Contains(got[0], "192.0.2.53") {
		t.Errorf("BIND has ci.example.test A = %v", got)
	}
	if got := ns.Query(t, "www.example.test.", "A"); len(got) != 1 || !strings.Contains(got[0], "192.0.2.80") {
		t.Errorf("BIND has www.example.test A = %v", got)
	}

	code, vout, _ := run(t, "", nil, "audit", "verify", "--db", filepath.Join(dir, "cs.db"))
	if code != exitOK {
		t.Fatalf("audit verify: %d %s", code, vout)
	}
	_, export, _ := run(t, "", nil, "audit", "export", "--db", filepath.Join(dir, "cs.db"))
	if !strings.Contains(export, `"kind":"execution.succeeded"`) {
		t.Error("no execution.succeeded in the trail")
	}
	for where, text := range map[string]string{"chat": out, "log": errOut, "audit": export} {
		if strings.Contains(text, ns.Secret.Reveal()) {
			t.Errorf("the TSIG secret reached the %s", where)
		}
	}
}

// bindShellConfig writes a config whose one zone is ns (a real BIND 9),
// its TSIG secret in a file beside it: zone adds lines to the zone's
// entry (indented four spaces), rest adds top-level keys (groups,
// policies). It returns the directory and the config's path.
func bindShellConfig(t testing.TB, ns *bindtest.Server, zone, rest string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	secretFile := filepath.Join(dir, "tsig")
	if err := os.WriteFile(secretFile, []byte(ns.Secret.Reveal()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "countersign.yaml")
	cfg := `db: ` + filepath.Join(dir, "cs.db") + `
dns:
  - zone: ` + bindtest.Zone + `
    server: ` + ns.Addr + `
    tsig_key: ` + ns.Key + `
    tsig_algorithm: ` + ns.Algorithm + `
    tsig_secret_file: ` + secretFile + `
` + zone + rest
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, path
}
