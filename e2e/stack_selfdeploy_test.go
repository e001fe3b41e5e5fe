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
	requireDocker(t)
	lap := laps(t)
	st, svc := readStack(t)
	t.Log(swarmManager(t))
	removeLeftovers(t)
	run := fmt.Sprintf("%s%d", runPrefix, time.Now().UnixNano())
	dir := t.TempDir()

	secrets := map[string]string{}
	for _, target := range svc.secretTargets() {
		secrets[target] = secretValue(t, target)
	}
	sl := slacktest.New(slacktest.Options{BotToken: secrets["slack-bot-token"]})
	t.Cleanup(sl.Close)
	slack := slackForContainers(t, sl)
	reg := startSelfRegistry(t, bridgeGateway(t))
	lap("fakes and registry")

	bin := buildBinary(t, dir)
	local := buildImage(t, dir, run, bin, append(append([]byte{}, slack.caPEM...), reg.caPEM...))
	repo := reg.name + "/countersign"
	first := repo + ":v1"
	mustDocker(t, "tag", local, first)
	t.Cleanup(func() { docker(context.Background(), nil, nil, "image", "rm", "--force", first) })
	mustDocker(t, "push", first)
	lap("image built and pushed")

	const (
		repoName = "example-org/countersign"
		author   = "octocat"   // U0OPS0001 in deploy/countersign.yaml: cannot approve his push
		approver = "U0OPS0002" // the other ops member
		channel  = "C0DEPLOYS"
	)
	name := run + "_" + service
	env := deployEnv(t, st, svc, run, first)
	createObjects(t, st, svc, run, secrets, slack.apiURL, func(cfg []byte) []byte {
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
`, repoName, channel, repo, name))
	})
	labelNode(t, svc)
	override := filepath.Join(dir, "e2e.stack.yml")
	writeSelfOverride(t, override, slack, reg)
	t.Cleanup(func() { removeStack(t, run, name, env["COUNTERSIGN_VOLUME"]) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := docker(ctx, env.list(), nil, "stack", "deploy", "--resolve-image", "never", "-c", stackPath, "-c", override, run); err != nil {
		t.Fatal(err)
	}
	old := waitHealthy(t, name, "")
	lap("stack deployed and healthy")

	base := "http://127.0.0.1:" + env["COUNTERSIGN_PORT"]
	s := &serveRun{servePeers: servePeers{Slack: sl}, t: t, Secrets: serveSecrets{SigningSecret: secrets["slack-signing-secret"]}, url: base}

	// CI pushed the commit's image, tagged with its SHA: the same bot,
	// told apart by a label.
	sha := randomHex(t, 20)
	next := reg.pushEdited(t, first, repo+":"+sha)
	if code, text := deliver(t, base, secrets["github-webhook-secret"], "push", "e2e-"+randomHex(t, 8),
		pushBody(t, pushEvent{Repo: repoName, Branch: "main", SHA: sha, Author: author})); code/100 != 2 {
		t.Fatalf("push: %d %q", code, text)
	}
	card := s.WaitMessage(t, hasButton(bot.ButtonApprove), 90*time.Second)
	value := buttonValue(card, bot.ButtonApprove)
	rid, _, err := bot.ParseButtonValue(value)
	if err != nil {
		t.Fatal(err)
	}
	lap("image found; approval asked")
	began := time.Now()
	s.Approve(t, approver, value)

	// The bot that approved is replaced by the one it deploys.
	newer := waitHealthy(t, name, old)
	lap("replaced by the new bot")
	if got := mustDocker(t, "inspect", "--format", "{{.Config.Image}}", newer); got != next {
		t.Errorf("the new task runs %s, want %s", got, next)
	}
	token := secrets["countersign-audit-token"]
	var trail string
	if err := retry(3*time.Minute, func() error {
		var err error
		if trail, err = fetch(base+"/audit/export", token); err != nil {
			return err
		}
		if !strings.Contains(trail, `"kind":"execution.succeeded"`) {
			return fmt.Errorf("no execution.succeeded yet")
		}
		return nil
	}); err != nil {
		t.Fatalf("%s not recorded succeeded: %v; trail:\n%s", rid, err, trail)
	}
	lap("the new bot recorded it succeeded")
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
	s.WaitMessage(t, func(m slacktest.Message) bool {
		return strings.Contains(m.Text, "✅ "+string(rid)+" succeeded")
	}, time.Minute)
	// The old bot did not wait out shutdown_grace (5m) for its own update.
	if took := time.Since(began); took > 3*time.Minute {
		t.Errorf("the self-deploy took %s: the old bot waited for its own replacement", took)
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

// pushEdited copies the image at from to to with a label of its own, so
// that it is another image, and returns to as repo@sha256:….
func (r *selfRegistry) pushEdited(t *testing.T, from, to string) string {
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
