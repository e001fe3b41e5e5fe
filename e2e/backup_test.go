package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const backupScript = "../deploy/backup.sh"

// backupRuns runs deploy/backup.sh against the running bot at base, as
// its systemd unit would: twice, keeping one copy here and shipping both
// to an "off-site" directory; then with a wrong token, which must fail
// and leave nothing behind. The copies must verify and hold the trail up
// to delivery. It returns the newest shipped copy, or "" when the tools
// the script needs are missing (and CI is not set).
func backupRuns(t *testing.T, dir, base, bin, token, delivery string) string {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "flock", "od", "sha256sum", "scp"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, rerr := exec.LookPath("rsync"); tool == "scp" && rerr == nil {
				continue // BACKUP_DEST takes rsync or scp
			}
			if os.Getenv("CI") != "" {
				t.Fatalf("%s needs %s (apt-get install curl util-linux coreutils openssh-client): %v", backupScript, tool, err)
			}
			t.Logf("not running %s: %v", backupScript, err)
			return ""
		}
	}
	local, offsite := filepath.Join(dir, "backups"), filepath.Join(dir, "offsite")
	if err := os.MkdirAll(offsite, 0o700); err != nil {
		t.Fatal(err)
	}
	tokenFile, wrongFile := filepath.Join(dir, "audit-token"), filepath.Join(dir, "wrong-token")
	for file, value := range map[string]string{tokenFile: token + "\n", wrongFile: "not-the-audit-token\n"} {
		if err := os.WriteFile(file, []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	textfile := filepath.Join(dir, "countersign_backup.prom")
	env := []string{
		"COUNTERSIGN_URL=" + base, "COUNTERSIGN_TOKEN_FILE=" + tokenFile,
		"BACKUP_DIR=" + local, "BACKUP_KEEP=1", "BACKUP_DEST=" + offsite + "/",
		"COUNTERSIGN_BIN=" + bin, "BACKUP_TEXTFILE=" + textfile,
	}
	backup := func(env ...string) (string, error) {
		cmd := exec.Command(backupScript)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	for i := range 2 {
		if i > 0 {
			// Copies are named to the second.
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		}
		out, err := backup(env...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", backupScript, err, out)
		}
		t.Logf("%s:\n%s", backupScript, out)
	}
	copies := func(d string) []string {
		m, err := filepath.Glob(filepath.Join(d, "countersign-*.db"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if got := copies(local); len(got) != 1 {
		t.Errorf("BACKUP_KEEP=1 kept %q", got)
	}
	shipped := copies(offsite)
	if len(shipped) != 2 {
		t.Fatalf("shipped %q, want 2 copies", shipped)
	}
	trail, err := exec.Command(bin, "audit", "export", "--db", shipped[1]).CombinedOutput()
	if err != nil || !strings.Contains(string(trail), delivery) {
		t.Errorf("audit export of the shipped copy (%v) does not name delivery %s:\n%s", err, delivery, trail)
	}
	if b, err := os.ReadFile(textfile); err != nil || !strings.Contains(string(b), "countersign_backup_last_success_timestamp_seconds ") {
		t.Errorf("BACKUP_TEXTFILE: %v %q", err, b)
	}

	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	out, err := backup(append(env, "COUNTERSIGN_TOKEN_FILE="+wrongFile)...)
	if err == nil || !strings.Contains(out, "failed") {
		t.Errorf("%s with a wrong token: %v %q, want a failure saying so", backupScript, err, out)
	}
	if got := copies(local); len(got) != 1 {
		t.Errorf("after a failed backup BACKUP_DIR holds %q, want the one earlier copy", got)
	}
	if left, _ := filepath.Glob(filepath.Join(local, ".partial*")); len(left) > 0 {
		t.Errorf("a failed backup left %q", left)
	}
	return shipped[1]
}
