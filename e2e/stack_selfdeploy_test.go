package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// TestStack_SelfDeploy: the stack of deploy/ lists Countersign's own
// Swarm service as a service (`build: wait`). A push to its repository
// asks for approval in the (fake) Slack; the click deploys the new image
// through the bot itself: Docker stops the old bot (stop-first) while
// the update runs, the old bot leaves it to the next start instead of
// waiting out shutdown_grace, and the new bot follows the update on the
// engine and records it succeeded, in the trail and the thread.
func TestStack_SelfDeploy(t *testing.T) {
	sd := startSelfDeploy(t)
	next := sd.approvePush(t, func(*v1.Config) {})
	began := time.Now()

	// The bot that approved is replaced by the one it deploys.
	newer := waitHealthy(t, sd.name, sd.old)
	sd.lap("replaced by the new bot")
	if got := mustDocker(t, "inspect", "--format", "{{.Config.Image}}", newer); got != next {
		t.Errorf("the new task runs %s, want %s", got, next)
	}
	trail := sd.waitTrail(t, `"kind":"execution.succeeded"`)
	sd.lap("the new bot recorded it succeeded")
	t.Logf("the trail says: %s", recordOf(trail, "execution.succeeded"))
	for _, want := range []string{"followed on the target after the bot restarted", "the next start follows it to its end"} {
		if !strings.Contains(trail, want) {
			t.Errorf("the trail does not say %q:\n%s", want, trail)
		}
	}
	for _, bad := range []string{`"kind":"execution.interrupted"`, `"kind":"execution.failed"`} {
		if strings.Contains(trail, bad) {
			t.Errorf("the trail has %s:\n%s", bad, trail)
		}
	}
	sd.s.WaitMessage(t, func(m slacktest.Message) bool {
		return strings.Contains(m.Text, "✅ "+string(sd.rid)+" succeeded")
	}, time.Minute)
	// The old bot did not wait out shutdown_grace (5m) for its own update.
	if took := time.Since(began); took > 3*time.Minute {
		t.Errorf("the self-deploy took %s: the old bot waited for its own replacement", took)
	}
}

// TestStack_SelfDeployBadImage: an image of the bot that cannot start is
// deployed through the bot. The stack's failure_action: rollback brings
// the old bot back on its own, and the old bot, started again, follows
// Docker's rollback and records the deploy failed, saying why.
func TestStack_SelfDeployBadImage(t *testing.T) {
	sd := startSelfDeploy(t)
	sd.approvePush(t, func(c *v1.Config) { c.Entrypoint = []string{"/usr/local/bin/no-such-countersign"} })

	back := waitHealthyImage(t, sd.name, sd.old, sd.first, 3*time.Minute)
	sd.lap("Swarm brought the old bot back")
	if spec := mustDocker(t, "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", sd.name); spec != sd.first {
		t.Errorf("after the rollback the service is set to %s, want %s", spec, sd.first)
	}
	t.Logf("the old image runs again in %s", back[:12])
	trail := sd.waitTrail(t, `"kind":"execution.failed"`)
	sd.lap("the old bot recorded it failed")
	t.Logf("the trail says: %s", recordOf(trail, "execution.failed"))
	for _, want := range []string{"followed on the target after the bot restarted", "the next start follows it to its end", "rolling that back"} {
		if !strings.Contains(trail, want) {
			t.Errorf("the trail does not say %q:\n%s", want, trail)
		}
	}
	for _, bad := range []string{`"kind":"execution.interrupted"`, `"kind":"execution.succeeded"`} {
		if strings.Contains(trail, bad) {
			t.Errorf("the trail has %s:\n%s", bad, trail)
		}
	}
	sd.s.WaitMessage(t, func(m slacktest.Message) bool {
		return strings.Contains(m.Text, "❌ "+string(sd.rid)+" failed")
	}, time.Minute)
}

// selfDeploy is the stack of deploy/ running the bot, whose config lists
// the bot's own service, with its image in a registry both reach.
type selfDeploy struct {
	lap     func(string)
	s       *serveRun // for the fake Slack: messages and clicks
	reg     *selfRegistry
	secrets map[string]string
	base    string // the bot's published address
	repo    string // the bot's image repository
	first   string // the image the stack was deployed with
	name    string // the bot's Swarm service
	old     string // the first bot's container
	rid     cs.RequestID
}

const (
	selfRepo     = "example-org/countersign"
	selfAuthor   = "octocat"   // U0OPS0001 in deploy/countersign.yaml: cannot approve his push
	selfApprover = "U0OPS0002" // the other ops member
	selfChannel  = "C0DEPLOYS"
)

// startSelfDeploy deploys the stack and waits for the bot to be healthy.
func startSelfDeploy(t *testing.T) *selfDeploy {
	t.Helper()
	requireDocker(t)
	sd := &selfDeploy{lap: laps(t), secrets: map[string]string{}}
	st, svc := readStack(t)
	t.Log(swarmManager(t))
	removeLeftovers(t)
	run := fmt.Sprintf("%s%d", runPrefix, time.Now().UnixNano())
	dir := t.TempDir()

	for _, target := range svc.secretTargets() {
		sd.secrets[target] = secretValue(t, target)
	}
	sl := slacktest.New(slacktest.Options{BotToken: sd.secrets["slack-bot-token"]})
	t.Cleanup(sl.Close)
	slack := slackForContainers(t, sl)
	sd.reg = startSelfRegistry(t, bridgeGateway(t))
	sd.lap("fakes and registry")

	bin := buildBinary(t, dir)
	local := buildImage(t, dir, run, bin, append(append([]byte{}, slack.caPEM...), sd.reg.caPEM...))
	sd.repo = sd.reg.name + "/countersign"
	sd.first = sd.repo + ":v1"
	mustDocker(t, "tag", local, sd.first)
	t.Cleanup(func() { docker(context.Background(), nil, nil, "image", "rm", "--force", sd.first) })
	mustDocker(t, "push", sd.first)
	sd.lap("image built and pushed")

	sd.name = run + "_" + service
	env := deployEnv(t, st, svc, run, sd.first)
	createObjects(t, st, svc, run, sd.secrets, slack.apiURL, func(cfg []byte) []byte {
		return selfService(t, cfg, fmt.Sprintf(`
name: countersign
kind: swarm
repo: %s
branch: main
channel: %s
image: %s
build: {mode: wait, tag: "{{.SHA}}", timeout: 5m}
engine: local
swarm_service: %s
`, selfRepo, selfChannel, sd.repo, sd.name))
	})
	labelNode(t, svc)
	override := filepath.Join(dir, "e2e.stack.yml")
	writeSelfOverride(t, override, slack, sd.reg)
	t.Cleanup(func() { removeStack(t, run, sd.name, env["COUNTERSIGN_VOLUME"]) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := docker(ctx, env.list(), nil, "stack", "deploy", "--resolve-image", "never", "-c", stackPath, "-c", override, run); err != nil {
		t.Fatal(err)
	}
	sd.old = waitHealthy(t, sd.name, "")
	sd.lap("stack deployed and healthy")
	sd.base = "http://127.0.0.1:" + env["COUNTERSIGN_PORT"]
	sd.s = &serveRun{servePeers: servePeers{Slack: sl}, t: t, Secrets: serveSecrets{SigningSecret: sd.secrets["slack-signing-secret"]}, url: sd.base}
	return sd
}

// approvePush plays CI pushing a commit's image of the bot (the first
// image, its config changed by edit and labelled, so that it is another
// image) tagged with the commit's SHA, GitHub delivering the push, and
// an ops member clicking Approve on the card. It returns the image.
func (sd *selfDeploy) approvePush(t *testing.T, edit func(*v1.Config)) string {
	t.Helper()
	sha := randomHex(t, 20)
	next := sd.reg.pushEdited(t, sd.first, sd.repo+":"+sha, edit)
	if code, text := deliver(t, sd.base, sd.secrets["github-webhook-secret"], "push", "e2e-"+randomHex(t, 8),
		pushBody(t, pushEvent{Repo: selfRepo, Branch: "main", SHA: sha, Author: selfAuthor})); code/100 != 2 {
		t.Fatalf("push: %d %q", code, text)
	}
	card := sd.s.WaitMessage(t, hasButton(bot.ButtonApprove), 90*time.Second)
	value := buttonValue(card, bot.ButtonApprove)
	rid, _, err := bot.ParseButtonValue(value)
	if err != nil {
		t.Fatal(err)
	}
	sd.rid = rid
	sd.lap("image found; approval asked")
	sd.s.Approve(t, selfApprover, value)
	return next
}

// waitTrail waits for the audit trail to hold want (a bot restarts
// meanwhile) and returns it.
func (sd *selfDeploy) waitTrail(t *testing.T, want string) string {
	t.Helper()
	var trail string
	if err := retry(3*time.Minute, func() error {
		var err error
		if trail, err = fetch(sd.base+"/audit/export", sd.secrets["countersign-audit-token"]); err != nil {
			return err
		}
		if !strings.Contains(trail, want) {
			return fmt.Errorf("no %s yet", want)
		}
		return nil
	}); err != nil {
		t.Fatalf("%s: %v; trail:\n%s", sd.rid, err, trail)
	}
	return trail
}

// waitHealthyImage waits until a container of the service other than not
// runs image and is healthy, and returns its ID. Unlike waitHealthy, it
// lets tasks fail meanwhile.
func waitHealthyImage(t *testing.T, name, not, image string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ids, _ := docker(ctx, nil, nil, "ps", "--quiet", "--no-trunc", "--filter", "label=com.docker.swarm.service.name="+name)
		for _, id := range strings.Fields(ids) {
			if id == not {
				continue
			}
			got, _ := docker(ctx, nil, nil, "inspect", "--format", "{{.Config.Image}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", id)
			if got == image+" healthy" {
				cancel()
				return id
			}
		}
		cancel()
		if time.Now().After(deadline) {
			tasks := mustDocker(t, "service", "ps", name, "--no-trunc")
			t.Fatalf("no healthy container of %s runs %s after %s; tasks:\n%s", name, image, timeout, tasks)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// selfRegistry is a registry the engine and the bot's container both
// reach under one name: this host's name, which resolves to a loopback
// address here (so the engine accepts its certificate unchecked) and,
// in the container, to the bridge's gateway (extra_hosts), where the
// registry also listens; the container trusts its certificate.
type selfRegistry struct {
	name    string // host:port
	gateway string
	caPEM   []byte
	client  *http.Client
}

func startSelfRegistry(t *testing.T, gateway string) *selfRegistry {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	addrs, _ := net.LookupIP(host)
	if len(addrs) == 0 || !addrs[0].IsLoopback() {
		t.Skipf("this host's name %s does not resolve to a loopback address (%v): the engine would not pull from the test's registry", host, addrs)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", ":0") // loopback for the engine, the gateway for the container
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
	srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	port := ln.Addr().(*net.TCPAddr).Port
	r := &selfRegistry{name: fmt.Sprintf("%s:%d", host, port), gateway: gateway,
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(r.caPEM)
	r.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(func() {
		removeImagesOf(t, r.name)
		srv.Close()
	})
	return r
}

// pushEdited copies the image at from to to, its config changed by edit
// and with a label of its own, so that it is another image, and returns
// to as repo@sha256:….
func (r *selfRegistry) pushEdited(t *testing.T, from, to string, edit func(*v1.Config)) string {
	t.Helper()
	src, err := name.ParseReference(from)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(src, remote.WithTransport(r.client.Transport))
	if err != nil {
		t.Fatalf("read %s: %v", from, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	cf.Config.Labels["org.example.e2e.version"] = "2"
	edit(&cf.Config)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(to)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithTransport(r.client.Transport)); err != nil {
		t.Fatalf("push %s: %v", to, err)
	}
	var d v1.Hash
	if d, err = img.Digest(); err != nil {
		t.Fatal(err)
	}
	return tag.Context().Name() + "@" + d.String()
}

// selfService replaces the services of the stack's config with the bot's
// own, given as YAML.
func selfService(t *testing.T, cfg []byte, entry string) []byte {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(cfg, &doc); err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := yaml.Unmarshal([]byte(entry), &s); err != nil {
		t.Fatal(err)
	}
	doc["services"] = []any{s}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// writeSelfOverride is writeOverride with the registry's name resolved
// in the container too, and an update monitored for 5s rather than the
// stack's 2m, so that the new bot sees it complete soon.
func writeSelfOverride(t *testing.T, path string, slack containerSlack, reg *selfRegistry) {
	t.Helper()
	host, _, _ := strings.Cut(reg.name, ":")
	text := fmt.Sprintf(`version: "3.8"
services:
  %s:
    extra_hosts:
      - "%s:%s"
      - "%s:%s"
    healthcheck:
      interval: 1s
      start_period: 30s
    deploy:
      update_config:
        monitor: 5s
`, service, slack.host, slack.addr, host, reg.gateway)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fetch is get that returns its failure: the bot may be restarting.
func fetch(url, token string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}

// recordOf is the line of the exported trail with a record of kind.
func recordOf(trail, kind string) string {
	for _, line := range strings.Split(trail, "\n") {
		if strings.Contains(line, `"kind":"`+kind+`"`) {
			return line
		}
	}
	return ""
}
