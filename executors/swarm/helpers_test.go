package swarm

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/executors/dockertest"
)

// svcOpts shape a test service.
type svcOpts struct {
	image    string
	replicas uint64 // 0 means 1
	global   bool
	// failure is the update's failure action ("" : pause).
	failure string
	// dockerDefaults leaves UpdateConfig to Docker (monitor 5s), as a
	// service created with `docker service create` has; otherwise the
	// tests monitor each task for 1s to stay quick.
	dockerDefaults bool
	// monitor, if set, replaces the 1s monitor: tests of failing updates
	// need Docker to watch long enough to see the task die on a loaded
	// machine, where starting the container alone can take a second.
	monitor time.Duration
	// delay is the update's pause between tasks: it makes a rollout
	// last long enough to stop watching it half way.
	delay time.Duration
}

// createService creates a service labelled with the run, waits until its
// tasks run, and removes it when the test ends. It returns the name.
func (f *fixture) createService(t testing.TB, o svcOpts) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := "cs-test-" + dockertest.Slug(t)
	if len(name) > 50 {
		name = name[:50]
	}
	name += "-" + randomHex(3)
	replicas := o.replicas
	if replicas == 0 {
		replicas = 1
	}
	mode := swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}}
	if o.global {
		mode = swarm.ServiceMode{Global: &swarm.GlobalService{}}
	}
	grace := time.Second
	restartDelay := time.Second
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: map[string]string{"countersign.test": f.run, "keep": "service-label"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:           o.image,
				Env:             []string{"KEEP=env"},
				Labels:          map[string]string{"countersign.test": f.run},
				StopGracePeriod: &grace,
			},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: &restartDelay},
		},
		Mode: mode,
	}
	if !o.dockerDefaults {
		failure := o.failure
		if failure == "" {
			failure = swarm.UpdateFailureActionPause
		}
		monitor := time.Second
		if o.monitor > 0 {
			monitor = o.monitor
		}
		spec.UpdateConfig = &swarm.UpdateConfig{Parallelism: 1, Delay: o.delay, Monitor: monitor, FailureAction: failure, Order: swarm.UpdateOrderStopFirst}
		spec.RollbackConfig = &swarm.UpdateConfig{Parallelism: 1, Monitor: time.Second, FailureAction: swarm.UpdateFailureActionPause, Order: swarm.UpdateOrderStopFirst}
	}
	resp, err := f.api.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{})
	if err != nil {
		t.Fatalf("create service %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := f.api.ServiceRemove(ctx, resp.ID); err != nil {
			t.Logf("remove service %s: %v", name, err)
		}
	})
	f.waitRunning(t, resp.ID, int(replicas))
	return name
}

// waitRunning waits until n tasks of the service run (global: n ignored,
// one per node), or fails the test.
func (f *fixture) waitRunning(t testing.TB, id string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var last string
	for ctx.Err() == nil {
		svc, _, err := f.api.ServiceInspectWithRaw(ctx, id, swarm.ServiceInspectOptions{})
		if err != nil {
			t.Fatalf("inspect service: %v", err)
		}
		mine, err := f.api.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id))})
		if err != nil {
			t.Fatalf("list tasks: %v", err)
		}
		c := count(svc, mine, "")
		if c.Running == c.Desired && c.RunningAll == c.Desired && (svc.Spec.Mode.Global != nil || c.Desired == n) {
			return
		}
		last = failures(mine, "")
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("service %s: %d tasks not running within a minute; task errors: %s", id, n, last)
}

// inspect returns the service as the engine has it now.
func (f *fixture) inspect(t testing.TB, name string) swarm.Service {
	t.Helper()
	svc, _, err := f.api.ServiceInspectWithRaw(context.Background(), name, swarm.ServiceInspectOptions{})
	if err != nil {
		t.Fatalf("inspect %s: %v", name, err)
	}
	return svc
}

// connect returns a Client of the local engine with quick polling.
func connect(t testing.TB, e Engine, opts Options) *Client {
	t.Helper()
	if opts.Poll == 0 {
		opts.Poll = 200 * time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 90 * time.Second
	}
	c, err := Connect(context.Background(), e, opts)
	if err != nil {
		t.Fatalf("Connect(%s): %v", e.Host, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// local is the engine on this machine's socket.
var local = Engine{Name: "local", Host: socketHost}

// steps records progress.
type steps struct {
	mu   sync.Mutex
	list []string
}

func (s *steps) add(step string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, step)
	return nil
}

func (s *steps) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.list, "\n")
}

// run prepares, describes and executes an action as the bot does, and
// returns the description, the result and the steps.
func run(t *testing.T, ex *Executor, a cs.Action) (plan string, res bot.Result, st *steps, err error) {
	t.Helper()
	ctx := context.Background()
	st = &steps{}
	if a, err = ex.Prepare(ctx, a); err != nil {
		return "", bot.Result{}, st, err
	}
	req := cs.Request{ID: "R1", Action: a}
	if plan, err = ex.Describe(ctx, req); err != nil {
		return "", bot.Result{}, st, err
	}
	res, err = ex.Execute(ctx, req, st.add)
	return plan, res, st, err
}

var randomHex = dockertest.RandomHex

// imageOf returns the image in the service's spec.
func (f *fixture) imageOf(t testing.TB, name string) string {
	t.Helper()
	return currentImage(f.inspect(t, name))
}
