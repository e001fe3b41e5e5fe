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
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "tsig")
	os.WriteFile(secretFile, []byte(ns.Secret.Reveal()+"\n"), 0o600)
	cfg := filepath.Join(dir, "countersign.yaml")
	os.WriteFile(cfg, []byte(`db: `+filepath.Join(dir, "cs.db")+`
dns:
  - zone: `+bindtest.Zone+`
    server: `+ns.Addr+`
    tsig_key: `+ns.Key+`
    tsig_algorithm: `+ns.Algorithm+`
    tsig_secret_file: `+secretFile+`
groups:
  ops: [U0OPS0001, U0OPS0002, U0OPS0003]
policies:
  - name: dns-changes
    actions: [dns]
    targets: ["`+bindtest.Zone+`", "*.`+bindtest.Zone+`"]
    request: [group:ops]
    approve: [{group: ops, count: 2}]
`), 0o600)

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
