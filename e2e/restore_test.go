package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// restoreCopy restores the backup copy into the running stack as
// deploy/README.md ("Restore") says: scale to 0, put the copy in the
// volume as the bot's user, keeping the file it replaces, scale to 1. The
// bot must come back healthy with the copy's trail: delivery (in the
// copy) there, later (recorded after the copy) gone, the chain intact.
// It needs root, to write into the volume as the README's root does.
func restoreCopy(t *testing.T, name, volume, gid, base, bin, token, copy, running, delivery, later string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Logf("not restoring: writing into the volume %s needs root", volume)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// --detach: without it the CLI waits the update_config monitor period
	// (2m) to call the service stable; the test watches the task instead.
	if _, err := docker(ctx, nil, nil, "service", "scale", "--detach", name+"=0"); err != nil {
		t.Fatal(err)
	}
	if err := retry(time.Minute, func() error {
		ids, err := docker(ctx, nil, nil, "ps", "--quiet", "--filter", "label=com.docker.swarm.service.name="+name)
		if err == nil && ids != "" {
			err = fmt.Errorf("%s still runs %s", name, ids)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	vol := mustDocker(t, "volume", "inspect", "--format", "{{.Mountpoint}}", volume)
	db := filepath.Join(vol, "countersign.db")
	if err := os.Rename(db, db+".replaced-"+time.Now().UTC().Format("20060102T150405Z")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(copy)
	if err != nil {
		t.Fatal(err)
	}
	g, err := strconv.Atoi(gid)
	if err != nil {
		t.Fatalf("group %q: %v", gid, err)
	}
	if err := os.WriteFile(db, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(db, imageUID, g); err != nil {
		t.Fatal(err)
	}
	if _, err := docker(ctx, nil, nil, "service", "scale", "--detach", name+"=1"); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, name, running)

	trail := get(t, base+"/audit/export", token)
	if !strings.Contains(trail, delivery) || strings.Contains(trail, later) {
		t.Errorf("after the restore the trail should name %s (in the copy) and not %s (after it):\n%s", delivery, later, trail)
	}
	tokenFile := filepath.Join(t.TempDir(), "audit-token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "audit", "verify", "--server", base, "--token-file", tokenFile).CombinedOutput(); err != nil {
		t.Errorf("audit verify --server after the restore: %v\n%s", err, out)
	}
}
