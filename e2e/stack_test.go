// Package e2e runs Countersign the way its users run it: the stack file
// deploy/countersign.stack.yml deployed on this machine's Docker Engine in
// swarm mode, with its config and secrets as Docker configs and secrets,
// reached over its published port, backed up by deploy/backup.sh.
//
// The tests need the docker CLI and an engine that is, or can become, a
// swarm manager (the test runs `docker swarm init --advertise-addr
// 127.0.0.1` when it is in no swarm, and leaves it initialised). Without
// Docker they skip, or fail when CI is set.
package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot/slack/slacktest"
)

// TestStack_DeployPingUpgradeBackupRestore deploys the stack, waits for
// the healthcheck, sends signed GitHub deliveries to the published port,
// upgrades to a new image tag as deploy/README.md says (the trail and the
// delivery dedup survive on the volume), backs up with deploy/backup.sh,
// restores the backup as the README says, and removes everything it made.
func TestStack_DeployPingUpgradeBackupRestore(t *testing.T) {
	requireDocker(t)
	begin := time.Now()
	step := time.Now()
	lap := func(what string) {
		t.Logf("%-34s %5.1fs", what, time.Since(step).Seconds())
		step = time.Now()
	}
	t.Cleanup(func() { t.Logf("%-34s %5.1fs", "total", time.Since(begin).Seconds()) })

	st, svc := readStack(t)
	t.Log(swarmManager(t))
	removeLeftovers(t)
	run := fmt.Sprintf("%s%d", runPrefix, time.Now().UnixNano())
	dir := t.TempDir()
	lap("swarm ready")

	secrets := map[string]string{} // target under /run/secrets/ -> value
	for _, target := range svc.secretTargets() {
		secrets[target] = secretValue(t, target)
	}
	for _, need := range []string{"slack-bot-token", "github-webhook-secret", "countersign-audit-token"} {
		if secrets[need] == "" {
			t.Fatalf("%s mounts no secret at /run/secrets/%s, which the test (and deploy/countersign.yaml) use", stackPath, need)
		}
	}
	sl := slacktest.New(slacktest.Options{BotToken: secrets["slack-bot-token"]})
	t.Cleanup(sl.Close)
	slack := slackForContainers(t, sl)

	bin := buildBinary(t, dir)
	lap("go build")
	image := buildImage(t, dir, run, bin, slack.caPEM)
	lap("image (docker import)")

	env := deployEnv(t, st, svc, run, image)
	createObjects(t, st, svc, run, secrets, slack.apiURL)
	labelNode(t, svc)
	override := filepath.Join(dir, "e2e.stack.yml")
	writeOverride(t, override, slack)
	lap("configs and secrets")

	name := run + "_" + service
	deploy := func(env []string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := docker(ctx, env, nil, "stack", "deploy", "--resolve-image", "never",
			"-c", stackPath, "-c", override, run); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { removeStack(t, run, name, env["COUNTERSIGN_VOLUME"]) })
	deploy(env.list())
	first := waitHealthy(t, name, "")
	lap("deployed and healthy")
	// The stack hands the bot what it wants: no complaint about its config
	// (a secret others may read, a missing key). The warnings allowed are
	// that the GitHub token's permissions could not be checked and that a
	// branch head could not be read (github.poll): the stack's config
	// names api.github.com, which this machine cannot reach, and the bot
	// starts anyway (an unreachable GitHub is an outage, not a config
	// error).
	for _, line := range strings.Split(dockerLog(context.Background(), "logs", first), "\n") {
		if strings.Contains(line, `"level":"WARN"`) && !strings.Contains(line, `"msg":"github permissions not checked`) &&
			!strings.Contains(line, `"msg":"read branch head"`) {
			t.Errorf("the bot warns at start: %s", line)
		}
	}

	base := "http://127.0.0.1:" + env["COUNTERSIGN_PORT"]
	hookSecret, auditToken := secrets["github-webhook-secret"], secrets["countersign-audit-token"]
	if calls := slackCalls(sl, "auth.test"); calls == 0 {
		t.Errorf("the bot is healthy but never called auth.test on the fake Slack")
	}
	code, text := deliver(t, base, "wrong-secret", "ping", "e2e-forged", []byte(pingBody))
	if code != http.StatusUnauthorized {
		t.Errorf("delivery signed with the wrong secret: %d %q, want 401", code, text)
	}
	delivery := "e2e-" + randomHex(t, 8)
	if code, text := deliver(t, base, hookSecret, "ping", delivery, []byte(pingBody)); code/100 != 2 {
		t.Fatalf("ping: %d %q, want 2xx", code, text)
	} else {
		t.Logf("ping answered %d %q", code, strings.TrimSpace(text))
	}
	if trail := get(t, base+"/audit/export", auditToken); !strings.Contains(trail, delivery) {
		t.Errorf("the audit trail does not name delivery %s:\n%s", delivery, trail)
	}
	lap("ping")

	// The upgrade of deploy/README.md: the same stack file, a new image
	// tag. stop-first hands the database over from the old task to the new.
	upgraded := image + "-v2"
	mustDocker(t, "tag", image, upgraded)
	env["COUNTERSIGN_IMAGE"] = upgraded
	deploy(env.list())
	second := waitHealthy(t, name, first)
	if got := mustDocker(t, "inspect", "--format", "{{.Config.Image}}", second); got != upgraded {
		t.Errorf("after the upgrade the task runs %s, want %s", got, upgraded)
	}
	if code, text := deliver(t, base, hookSecret, "ping", delivery, []byte(pingBody)); code/100 != 2 || !strings.Contains(text, "duplicate") {
		t.Errorf("redelivery after the upgrade: %d %q, want 2xx and a duplicate (dedup kept on the volume)", code, text)
	}
	lap("upgrade (stop-first)")

	copy := backupRuns(t, dir, base, bin, auditToken, delivery)
	lap("backup.sh")
	if copy == "" {
		return
	}

	later := "e2e-" + randomHex(t, 8)
	if code, text := deliver(t, base, hookSecret, "ping", later, []byte(pingBody)); code/100 != 2 {
		t.Fatalf("ping after the backup: %d %q", code, text)
	}
	restoreCopy(t, name, env["COUNTERSIGN_VOLUME"], env["COUNTERSIGN_DOCKER_GID"], base, bin, auditToken, copy, second, delivery, later)
	lap("restore")
}

// pingBody is a GitHub ping delivery, shortened.
const pingBody = `{"zen":"Keep it logically awesome.","hook_id":1,"hook":{"type":"Repository","id":1,"events":["push"],"config":{"content_type":"json"}},"repository":{"id":1,"name":"web","full_name":"example-org/web"},"sender":{"login":"octocat","id":1}}`

// deliver posts a GitHub delivery signed with secret and returns the
// answer. Right after a task turns healthy its published port may not be
// wired to it yet, so connection errors are retried for a while.
func deliver(t *testing.T, base, secret, event, id string, body []byte) (int, string) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	var code int
	var text string
	err := retry(20*time.Second, func() error {
		req, err := http.NewRequest(http.MethodPost, base+"/webhooks/github", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		code, text = resp.StatusCode, string(b)
		return err
	})
	if err != nil {
		t.Fatalf("POST %s/webhooks/github: %v", base, err)
	}
	return code, text
}

// get GETs url with the bearer token and returns the body; anything but
// 200 fails the test.
func get(t *testing.T, url, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", url, resp.StatusCode, err, b)
	}
	return string(b)
}

// buildBinary builds the static countersign binary for the engine's
// Linux, as the image's Dockerfile does.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "countersign")
	goBuild(t, out, "./cmd/countersign", "..")
	return out
}

func goBuild(t *testing.T, out, pkg, in string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = in
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build -o %s %s: %v\n%s", out, pkg, err, msg)
	}
}
