package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/countersign/countersign/executors/dns/bindtest"
)

// TestShell_DNSAddAgainstBIND runs dns add through the whole bot, from
// the chat line to a real BIND 9: a second MX and a second TXT record
// are added (the first ones kept), approved as any dns change, and
// verified; adding a record that is already there is refused before
// anyone is asked to approve; and the types that the config could allow
// but chat could not ask for (PTR, SSHFP, TLSA) now go all the way.
func TestShell_DNSAddAgainstBIND(t *testing.T) {
	ns := bindtest.Start(t, bindtest.Options{Records: []string{
		"@ 600 IN MX 10 mail", "mail 300 IN A 192.0.2.25", "mail2 300 IN A 192.0.2.26", `txt 300 IN TXT "v=spf1 -all"`,
	}})
	dir, cfg := bindShellConfig(t, ns, "    types: [A, MX, TXT, PTR, SSHFP, TLSA]\n", `groups:
  ops: [U0OPS0001, U0OPS0002]
policies:
  - name: dns-changes
    actions: [dns]
    targets: ["`+bindtest.Zone+`", "*.`+bindtest.Zone+`"]
    request: [group:ops]
    approve: [{group: ops, count: 1}]
`)

	const fp = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	script := `@U0OPS0001 dns add example.test MX 20 mail2.example.test
@U0OPS0002 approve R1
@U0OPS0001 dns add txt.example.test TXT "google-site-verification=abc123"
@U0OPS0002 approve R2
@U0OPS0001 dns add example.test MX 10 mail.example.test
@U0OPS0001 dns add example.test CNAME www.example.test
@U0OPS0001 dns set host.example.test SSHFP 4 2 ` + fp + `
@U0OPS0002 approve R3
@U0OPS0001 dns set _443._tcp.www.example.test TLSA 3 1 1 ` + fp + `
@U0OPS0002 approve R4
@U0OPS0001 dns set ptr.example.test PTR www.example.test
@U0OPS0002 approve R5
`
	code, out, errOut := run(t, script, nil, "shell", "--config", cfg)
	if code != exitOK {
		t.Fatalf("shell exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"R1 · dns add example.test. MX · succeeded",
		"R2 · dns add txt.example.test. TXT · succeeded",
		"example.test. MX 10 mail.example.test. is already there",
		"a name has at most one CNAME record: use dns set",
		"R3 · dns set host.example.test. SSHFP · succeeded",
		"R4 · dns set _443._tcp.www.example.test. TLSA · succeeded",
		"R5 · dns set ptr.example.test. PTR · succeeded",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, tc := range []struct {
		name, typ string
		want      []string
	}{
		{"example.test.", "MX", []string{"example.test.\t600\tMX\t10 mail.example.test.", "example.test.\t600\tMX\t20 mail2.example.test."}},
		{"txt.example.test.", "TXT", []string{"txt.example.test.\t300\tTXT\t\"google-site-verification=abc123\"", "txt.example.test.\t300\tTXT\t\"v=spf1 -all\""}},
		{"host.example.test.", "SSHFP", []string{"host.example.test.\t3600\tSSHFP\t4 2 " + strings.ToUpper(fp)}},
		{"_443._tcp.www.example.test.", "TLSA", []string{"_443._tcp.www.example.test.\t3600\tTLSA\t3 1 1 " + fp}},
		{"ptr.example.test.", "PTR", []string{"ptr.example.test.\t3600\tPTR\twww.example.test."}},
	} {
		got := ns.Query(t, tc.name, tc.typ)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("BIND has %s %s = %q, want %q", tc.name, tc.typ, got, tc.want)
		}
	}
	if code, vout, _ := run(t, "", nil, "audit", "verify", "--db", filepath.Join(dir, "cs.db")); code != exitOK {
		t.Fatalf("audit verify: %d %s", code, vout)
	}
	for where, text := range map[string]string{"chat": out, "log": errOut} {
		if strings.Contains(text, ns.Secret.Reveal()) {
			t.Errorf("the TSIG secret reached the %s", where)
		}
	}
}
