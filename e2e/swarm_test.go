package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// stackEnv is the environment `docker stack deploy` interpolates the
// stack file with.
type stackEnv map[string]string

func (e stackEnv) list() []string {
	var l []string
	for k, v := range e {
		l = append(l, k+"="+v)
	}
	return l
}

// deployEnv sets every variable of the stack file to this run's names:
// its image, a free port, its configs, secrets and volume, the Docker
// socket's group.
func deployEnv(t *testing.T, st stackFile, svc stackService, run, image string) stackEnv {
	t.Helper()
	env := stackEnv{variable(t, "image", svc.Image): image}
	if len(svc.Ports) != 1 {
		t.Fatalf("%s publishes %d ports, want 1", stackPath, len(svc.Ports))
	}
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	env[variable(t, "the published port", svc.Ports[0].Published)] = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	if m := regexp.MustCompile(`\$\{([A-Za-z0-9_]+)`).FindStringSubmatch(svc.User); m != nil {
		var fi syscall.Stat_t
		if err := syscall.Stat("/var/run/docker.sock", &fi); err != nil {
			t.Fatalf("the stack mounts /var/run/docker.sock: %v", err)
		}
		env[m[1]] = strconv.Itoa(int(fi.Gid))
	}
	targets := svc.secretTargets()
	for key, obj := range st.Secrets {
		if !obj.External {
			t.Fatalf("%s: secret %s is not external: secrets are created with `docker secret create`, not from files", stackPath, key)
		}
		env[variable(t, "secrets."+key+".name", obj.Name)] = run + "-" + targets[key]
	}
	for key, obj := range st.Configs {
		if !obj.External {
			t.Fatalf("%s: config %s is not external", stackPath, key)
		}
		env[variable(t, "configs."+key+".name", obj.Name)] = run + "-" + key
	}
	for key, obj := range st.Volumes {
		env[variable(t, "volumes."+key+".name", obj.Name)] = run + "-" + key
	}
	for _, need := range []string{"COUNTERSIGN_IMAGE", "COUNTERSIGN_PORT", "COUNTERSIGN_VOLUME"} {
		if env[need] == "" {
			t.Fatalf("%s has no variable %s (deploy/README.md documents it)", stackPath, need)
		}
	}
	return env
}

// createObjects creates the run's Docker secrets and its config: the
// stack's countersign.yaml with slack.api_url pointing at the fake Slack.
// edits, if any, change the config further. They are removed at cleanup.
func createObjects(t *testing.T, st stackFile, svc stackService, run string, values map[string]string, apiURL string, edits ...func([]byte) []byte) {
	t.Helper()
	var made [][2]string // kind, name
	t.Cleanup(func() {
		for _, m := range made {
			if err := retry(30*time.Second, func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_, err := docker(ctx, nil, nil, m[0], "rm", m[1])
				return err
			}); err != nil {
				t.Errorf("remove %s: %v", m[1], err)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for key := range st.Secrets {
		target := svc.secretTargets()[key]
		name := run + "-" + target
		if _, err := docker(ctx, nil, []byte(values[target]), "secret", "create", name, "-"); err != nil {
			t.Fatal(err)
		}
		made = append(made, [2]string{"secret", name})
	}
	cfg, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = setKey(t, cfg, apiURL, "slack", "api_url")
	for _, edit := range edits {
		cfg = edit(cfg)
	}
	for key := range st.Configs {
		name := run + "-" + key
		if _, err := docker(ctx, nil, cfg, "config", "create", name, "-"); err != nil {
			t.Fatal(err)
		}
		made = append(made, [2]string{"config", name})
	}
}

// setKey sets the string at path in the YAML document doc.
func setKey(t *testing.T, doc []byte, value string, path ...string) []byte {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		t.Fatal(err)
	}
	n := root.Content[0]
	for i, key := range path {
		var next *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == key {
				next = n.Content[j+1]
			}
		}
		if next == nil {
			next = &yaml.Node{Kind: yaml.MappingNode}
			if i == len(path)-1 {
				next = &yaml.Node{Kind: yaml.ScalarNode}
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, next)
		}
		n = next
	}
	n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!str", value
	out, err := yaml.Marshal(&root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// labelNode gives this node the labels the stack's placement constraints
// ask for (node.labels.K == V), as deploy/README.md says to. The labels
// are left: another run may be using them.
func labelNode(t *testing.T, svc stackService) {
	t.Helper()
	node := mustDocker(t, "info", "--format", "{{.Swarm.NodeID}}")
	label := regexp.MustCompile(`^node\.labels\.([A-Za-z0-9._-]+)\s*==\s*(\S+)$`)
	for _, c := range svc.Deploy.Placement.Constraints {
		m := label.FindStringSubmatch(strings.TrimSpace(c))
		if m == nil {
			continue
		}
		key, want := m[1], m[2]
		if got := mustDocker(t, "node", "inspect", node, "--format", fmt.Sprintf("{{index .Spec.Labels %q}}", key)); got != want {
			mustDocker(t, "node", "update", "--label-add", key+"="+want, node)
			t.Logf("labelled this node %s=%s (left so)", key, want)
		}
	}
}

// writeOverride writes the test's second compose file, merged over the
// stack file: what only the test needs (the fake Slack's name, a quicker
// healthcheck). Everything else is the stack file's.
func writeOverride(t *testing.T, path string, slack containerSlack) {
	t.Helper()
	text := fmt.Sprintf(`version: "3.8"
services:
  %s:
    extra_hosts:
      - "%s:%s"
    healthcheck:
      interval: 1s
      start_period: 30s
`, service, slack.host, slack.addr)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitHealthy waits until a container of the service other than not is
// healthy and returns its ID. A task that fails fails the test with the
// service's log.
func waitHealthy(t *testing.T, name, not string) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(10*time.Second))
	defer cancel()
	last := ""
	for {
		tasks, _ := docker(ctx, nil, nil, "service", "ps", name, "--no-trunc", "--format", "{{.Name}} {{.Image}} {{.CurrentState}} {{.Error}}")
		for _, line := range strings.Split(tasks, "\n") {
			if f := strings.Fields(line); len(f) > 2 && (f[2] == "Failed" || f[2] == "Rejected") {
				t.Fatalf("a task of %s failed:\n%s", name, tasks)
			}
		}
		ids, _ := docker(ctx, nil, nil, "ps", "--quiet", "--no-trunc", "--filter", "label=com.docker.swarm.service.name="+name)
		for _, id := range strings.Fields(ids) {
			if id == not {
				continue
			}
			health, _ := docker(ctx, nil, nil, "inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{end}}", id)
			if health == "healthy" {
				return id
			}
			last, _ = docker(ctx, nil, nil, "inspect", "--format", "{{json .State.Health}}", id)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy after 90s; tasks:\n%s\nhealth: %s", name, tasks, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// removeStack removes the stack, waits for its containers to go, and
// removes its volume. On failure it first logs the tasks and the log.
func removeStack(t *testing.T, run, name, volume string) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if t.Failed() {
		tasks, _ := docker(ctx, nil, nil, "service", "ps", name, "--no-trunc")
		t.Logf("tasks of %s:\n%s\nlog:\n%s", name, tasks, dockerLog(ctx, "service", "logs", "--raw", "--timestamps", name))
	}
	if _, err := docker(ctx, nil, nil, "stack", "rm", run); err != nil {
		t.Errorf("remove the stack: %v", err)
	}
	err := retry(time.Minute, func() error {
		ids, err := docker(ctx, nil, nil, "ps", "--all", "--quiet", "--filter", "label=com.docker.stack.namespace="+run)
		if err == nil && ids != "" {
			err = fmt.Errorf("containers left: %s", strings.Join(strings.Fields(ids), " "))
		}
		return err
	})
	if err != nil {
		t.Errorf("stack %s: %v", run, err)
	}
	if err := retry(30*time.Second, func() error {
		_, err := docker(ctx, nil, nil, "volume", "rm", volume)
		return err
	}); err != nil {
		t.Errorf("remove the volume: %v", err)
	}
	t.Logf("%-34s %5.1fs", "stack removed", time.Since(start).Seconds())
}
