package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/countersign/countersign/cmd/countersign/config"
)

const (
	stackPath  = "../deploy/countersign.stack.yml"
	configPath = "../deploy/countersign.yaml"
	service    = "countersign" // the stack's service
)

// stackFile is what the tests read from deploy/countersign.stack.yml.
// The tests take names, variables and mount points from it rather than
// repeating them, so that they follow the file.
type stackFile struct {
	Services map[string]stackService `yaml:"services"`
	Configs  map[string]stackObject  `yaml:"configs"`
	Secrets  map[string]stackObject  `yaml:"secrets"`
	Volumes  map[string]stackObject  `yaml:"volumes"`
}

type stackService struct {
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	User    string   `yaml:"user"`
	Ports   []struct {
		Target    int    `yaml:"target"`
		Published string `yaml:"published"`
	} `yaml:"ports"`
	Configs []stackMount `yaml:"configs"`
	Secrets []stackMount `yaml:"secrets"`
	Volumes []struct {
		Type   string `yaml:"type"`
		Source string `yaml:"source"`
		Target string `yaml:"target"`
	} `yaml:"volumes"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	StopGracePeriod string `yaml:"stop_grace_period"`
	Deploy          struct {
		Replicas  int `yaml:"replicas"`
		Placement struct {
			Constraints []string `yaml:"constraints"`
		} `yaml:"placement"`
		UpdateConfig struct {
			Order string `yaml:"order"`
		} `yaml:"update_config"`
	} `yaml:"deploy"`
}

type stackMount struct {
	Source string `yaml:"source"`
	Target string `yaml:"target"`
}

// stackObject is a top-level config, secret or volume.
type stackObject struct {
	External bool   `yaml:"external"`
	Name     string `yaml:"name"`
}

func readStack(t *testing.T) (stackFile, stackService) {
	t.Helper()
	b, err := os.ReadFile(stackPath)
	if err != nil {
		t.Fatal(err)
	}
	var s stackFile
	if err := yaml.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", stackPath, err)
	}
	svc, ok := s.Services[service]
	if !ok {
		t.Fatalf("%s: no service %q", stackPath, service)
	}
	return s, svc
}

// wholeVar matches a value that is one variable with a default.
var wholeVar = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*):-[^}]*\}$`)

// variable returns the variable v consists of, failing the test when v is
// not `${NAME:-default}`.
func variable(t *testing.T, what, v string) string {
	t.Helper()
	m := wholeVar.FindStringSubmatch(v)
	if m == nil {
		t.Fatalf("%s: %s is %q, want ${VARIABLE:-default} so that a deployment can choose it", stackPath, what, v)
	}
	return m[1]
}

// secretTargets maps each secret the service mounts (its source) to the
// file name under /run/secrets/ it is mounted at.
func (s stackService) secretTargets() map[string]string {
	m := map[string]string{}
	for _, sec := range s.Secrets {
		target := sec.Target
		if target == "" {
			target = sec.Source
		}
		m[sec.Source] = target
	}
	return m
}

// secretValue makes a value of the right shape for the secret the stack
// mounts at /run/secrets/target: the config checks some of them (a bot
// token starts with xoxb-, an app token with xapp-).
func secretValue(t *testing.T, target string) string {
	t.Helper()
	switch target {
	case "slack-bot-token":
		return "xoxb-e2e-" + randomHex(t, 12)
	case "slack-app-token":
		return "xapp-e2e-" + randomHex(t, 12)
	}
	return randomHex(t, 32)
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestStackFile_ConfigMatches checks, without Docker, that
// deploy/countersign.yaml is what the stack needs: it loads (as `serve`
// loads it) given exactly the secret files the stack mounts, listens on
// the port the stack publishes, keeps its database on the stack's volume,
// and drains within the stop grace period.
func TestStackFile_ConfigMatches(t *testing.T) {
	_, svc := readStack(t)
	root := t.TempDir()
	secrets := filepath.Join(root, "run", "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, target := range svc.secretTargets() {
		if err := os.WriteFile(filepath.Join(secrets, target), []byte(secretValue(t, target)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Options{Root: root, CheckFiles: true}.Load(configPath)
	if err == nil {
		err = cfg.CheckServe()
	}
	if err != nil {
		t.Fatalf("%s with the secrets %s mounts: %v", configPath, stackPath, err)
	}
	if len(svc.Configs) != 1 {
		t.Fatalf("%s mounts %d configs, want 1 (countersign.yaml)", stackPath, len(svc.Configs))
	}
	if got, want := svc.Command, []string{"serve", "--config", svc.Configs[0].Target}; !slices.Equal(got, want) {
		t.Errorf("command = %q, want %q (the config as mounted)", got, want)
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	if host != "0.0.0.0" && host != "" {
		t.Errorf("listen = %s: the published port reaches the container from outside its loopback; want 0.0.0.0:PORT", cfg.Listen)
	}
	if len(svc.Ports) != 1 || strconv.Itoa(svc.Ports[0].Target) != port {
		t.Errorf("ports = %+v, want one with target %s (listen)", svc.Ports, port)
	}
	db := strings.TrimPrefix(cfg.DB, root) // Root applies to db too
	onVolume := false
	for _, v := range svc.Volumes {
		if v.Type == "volume" && path.Dir(db) == v.Target {
			onVolume = true
		}
	}
	if !onVolume {
		t.Errorf("db = %s is not on a volume of the stack (%+v)", db, svc.Volumes)
	}
	grace, err := time.ParseDuration(svc.StopGracePeriod)
	if err != nil {
		t.Fatalf("stop_grace_period: %v", err)
	}
	if grace <= cfg.ShutdownGrace {
		t.Errorf("stop_grace_period %s is not longer than shutdown_grace %s: Swarm would kill executions the bot is letting finish", grace, cfg.ShutdownGrace)
	}
	if svc.Deploy.Replicas != 1 || svc.Deploy.UpdateConfig.Order != "stop-first" {
		t.Errorf("replicas %d, update order %q: bbolt takes one writer, want 1 and stop-first", svc.Deploy.Replicas, svc.Deploy.UpdateConfig.Order)
	}
	if want := fmt.Sprintf("http://127.0.0.1:%s/healthz", port); !slices.Contains(svc.Healthcheck.Test, want) {
		t.Errorf("healthcheck %q does not probe %s", svc.Healthcheck.Test, want)
	}
}
