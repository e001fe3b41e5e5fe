package albatross

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// TestSweep_RestartedWithAnotherImage: over real sshd, the stand-in
// restarted by someone else with another binary shows in the next sweep:
// an earlier image of the index by its image, a binary the bot never
// uploaded by its hash alone.
func TestSweep_RestartedWithAnotherImage(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	_, ims := startRegistry(t, binary(1), binary(2))
	e := newExecutor(t, h.host(), www(), Options{})
	mustExecute(t, e, request(cs.ActionDeploy, ims[0]))
	mustExecute(t, e, request(cs.ActionDeploy, ims[1]))

	sweep := func() bot.Live {
		t.Helper()
		got, err := e.Sweep(context.Background(), []string{"www"})
		if err != nil {
			t.Fatal(err)
		}
		return got["www"]
	}
	if l := sweep(); l.Image != ims[1].Ref || l.Hash != ims[1].SHA256 || l.Replicas != -1 {
		t.Fatalf("after the bot's deploy: %+v, want %s", l, ims[1].Ref)
	}

	// Someone on the host recreates it from the older binary.
	restart := func(file string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(h.Bin, "albatross-client"), "create", "www", file, "--force")
		cmd.Env = append(os.Environ(), "ALBATROSS_STANDIN_STATE="+h.State)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("restart behind the bot's back: %v\n%s", err, out)
		}
	}
	restart(filepath.Join(h.Dir, "www", ims[0].SHA256+".hvt"))
	if l := sweep(); l.Image != ims[0].Ref || l.Hash != ims[0].SHA256 {
		t.Fatalf("restarted with the older image: %+v, want %s", l, ims[0].Ref)
	}

	other := filepath.Join(t.TempDir(), "other.hvt")
	os.WriteFile(other, binary(7), 0o644)
	sum := sha256.Sum256(binary(7))
	restart(other)
	if l := sweep(); l.Image != "" || l.Hash != hex.EncodeToString(sum[:]) {
		t.Fatalf("restarted with a binary the bot never uploaded: %+v", l)
	}
}

func TestSweep_HostUnreachableIsAnError(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	host := h.host()
	host.Address = "127.0.0.1:1"
	e := newExecutor(t, host, www(), Options{})
	if _, err := e.Sweep(context.Background(), []string{"www"}); err == nil || !strings.Contains(err.Error(), "read what runs of www") {
		t.Fatalf("err = %v", err)
	}
}
