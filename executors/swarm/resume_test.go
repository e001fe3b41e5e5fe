package swarm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// sendAndStop executes a as the bot does and stops watching as soon as
// the change is sent to the engine, as a bot killed there would: Docker
// carries on alone. It returns the request.
func sendAndStop(t *testing.T, ex *Executor, a cs.Action) cs.Request {
	t.Helper()
	a, err := ex.Prepare(t.Context(), a)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	req := cs.Request{ID: "R1", Action: a}
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	sent := func(step string) error {
		if strings.Contains(step, "Docker is rolling it out") || strings.Contains(step, "replicas") {
			stop()
		}
		return nil
	}
	if _, err := ex.Execute(ctx, req, sent); !errors.Is(err, context.Canceled) {
		t.Fatalf("execute stopped after sending: err = %v, want it stopped waiting", err)
	}
	return req
}

// restarted is the executor of a bot started anew: a new client.
func restarted(t *testing.T, name string) *Executor {
	return connect(t, local, Options{}).Service("www", name, env(t).repo)
}

// waitUpdateOver waits until Docker has finished, paused or rolled back
// the service's update.
func (f *fixture) waitUpdateOver(t *testing.T, name string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		switch us := f.inspect(t, name).UpdateStatus; {
		case us == nil:
		case us.State == swarm.UpdateStateCompleted, us.State == swarm.UpdateStatePaused,
			us.State == swarm.UpdateStateRollbackCompleted, us.State == swarm.UpdateStateRollbackPaused:
			return
		}
	}
	t.Fatalf("the update of %s did not end within a minute", name)
}

// TestExecutor_ResumeFollowsToSuccess: a rolling update (two tasks, a
// pause between them) the bot sent and stopped watching is followed by
// a new executor to its end, without being sent again.
func TestExecutor_ResumeFollowsToSuccess(t *testing.T) {
	f := env(t)
	t.Parallel()
	name := f.createService(t, svcOpts{image: f.v1, replicas: 2, delay: 2 * time.Second})
	req := sendAndStop(t, connect(t, local, Options{}).Service("www", name, f.repo), cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2})
	if svc := f.inspect(t, name); svc.UpdateStatus != nil && svc.UpdateStatus.State == swarm.UpdateStateCompleted {
		t.Fatalf("the update already completed before the resume: make it last longer")
	}

	st := &steps{}
	res, err := restarted(t, name).Resume(t.Context(), req, st.add)
	t.Logf("steps:\n%s\nresult: %s", st.all(), res.Summary)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if res.Image != f.v2 || !sameImage(res.Replaced, f.v1) || !strings.Contains(res.Summary, "runs "+f.v2+" on 2/2 tasks") {
		t.Errorf("result %+v, want %s on 2/2 tasks, replacing %s", res, f.v2, f.v1)
	}
	for _, want := range []string{"the bot restarted while Swarm service " + name, "without changing anything", "tasks running new image 2/2"} {
		if !strings.Contains(st.all(), want) {
			t.Errorf("steps do not say %q", want)
		}
	}
	after := f.inspect(t, name)
	if after.UpdateStatus == nil || after.UpdateStatus.State != swarm.UpdateStateCompleted {
		t.Errorf("update status %+v, want completed", after.UpdateStatus)
	}
	// Sent once: an update sent again would have made the v2 spec the
	// previous one.
	if got := previousImage(after); !sameImage(got, f.v1) {
		t.Errorf("previous spec has %s, want %s: the update was sent again", got, f.v1)
	}
}

// TestExecutor_ResumeAlreadySet: a deploy that found the service set to
// its image already (Docker starts no update, and has no status of one)
// is followed by its tasks.
func TestExecutor_ResumeAlreadySet(t *testing.T) {
	f := env(t)
	t.Parallel()
	name := f.createService(t, svcOpts{image: f.v2})
	ex := connect(t, local, Options{Timeout: 20 * time.Second}).Service("www", name, f.repo)
	st := &steps{}
	res, err := ex.Resume(t.Context(), cs.Request{ID: "R1", Action: cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2}}, st.add)
	t.Logf("steps:\n%s\nresult: %s", st.all(), res.Summary)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if res.Image != f.v2 || !strings.Contains(st.all(), "tasks running new image 1/1") {
		t.Errorf("result %+v, want %s on 1/1 tasks", res, f.v2)
	}
}

// TestExecutor_ResumeScale follows a scale the bot sent and stopped
// watching.
func TestExecutor_ResumeScale(t *testing.T) {
	f := env(t)
	t.Parallel()
	name := f.createService(t, svcOpts{image: f.v1})
	req := sendAndStop(t, connect(t, local, Options{}).Service("www", name, f.repo), cs.Action{Kind: cs.ActionScale, Target: "www", Replicas: 3})
	st := &steps{}
	res, err := restarted(t, name).Resume(t.Context(), req, st.add)
	t.Logf("steps:\n%s\nresult: %s", st.all(), res.Summary)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if !strings.Contains(res.Summary, "runs 3 replicas (was 1)") || !strings.Contains(st.all(), "tasks running 3/3") {
		t.Errorf("result %q, steps %q: want 3 replicas running", res.Summary, st.all())
	}
}

// TestExecutor_ResumeFailure: an update of an image whose container
// exits at once, followed after the restart, fails with Docker's words,
// whether Docker pauses it or rolls it back.
func TestExecutor_ResumeFailure(t *testing.T) {
	f := env(t)
	t.Parallel()
	for _, tc := range []struct {
		name, failure string
		// over: Docker is done with the update before the restart.
		over      bool
		want      error
		words     []string
		wantImage string
	}{
		{"pause", "pause", false, ErrUpdatePaused, []string{"Docker paused the update", "update paused due to failure", "non-zero exit (1)"}, f.bad},
		{"paused before the restart", "pause", true, ErrUpdatePaused, []string{"Docker paused the update", "update paused due to failure", "non-zero exit (1)"}, f.bad},
		{"rollback", "rollback", false, ErrRolledBack, []string{"Docker rolled the update", "non-zero exit (1)", "runs " + f.v1 + " again"}, f.v1},
		{"rolled back before the restart", "rollback", true, ErrRolledBack, []string{"Docker rolled the update", "non-zero exit (1)", "runs " + f.v1 + " again"}, f.v1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := f.createService(t, svcOpts{image: f.v1, failure: tc.failure, monitor: 5 * time.Second})
			req := sendAndStop(t, connect(t, local, Options{}).Service("www", name, f.repo), cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.bad})
			if tc.over {
				f.waitUpdateOver(t, name)
			}
			st := &steps{}
			_, err := restarted(t, name).Resume(t.Context(), req, st.add)
			t.Logf("error: %v\nsteps:\n%s", err, st.all())
			if !errors.Is(err, tc.want) || errors.Is(err, bot.ErrCannotResume) {
				t.Fatalf("resume of a failing update: err = %v, want %v", err, tc.want)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q", w)
				}
			}
			if got := f.imageOf(t, name); got != tc.wantImage {
				t.Errorf("service image = %q, want %q", got, tc.wantImage)
			}
		})
	}
}

// TestExecutor_ResumeNothingToFollow: what the service does not show to
// be the request's change is not followed (nor taken as its outcome):
// ErrCannotResume, and no step.
func TestExecutor_ResumeNothingToFollow(t *testing.T) {
	f := env(t)
	t.Parallel()
	deployed := func(t *testing.T) string { // a service deployed from v1 to v2 by the bot
		name := f.createService(t, svcOpts{image: f.v1})
		if _, _, st, err := run(t, restarted(t, name), cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2}); err != nil {
			t.Fatalf("deploy v2: %v\n%s", err, st.all())
		}
		return name
	}
	update := func(t *testing.T, name string, change func(*swarm.ServiceSpec), opts swarm.ServiceUpdateOptions) {
		svc := f.inspect(t, name)
		spec := svc.Spec
		if change != nil {
			change(&spec)
		}
		if _, err := f.api.ServiceUpdate(t.Context(), svc.ID, svc.Version, spec, opts); err != nil {
			t.Fatalf("update by hand: %v", err)
		}
	}
	deployV2 := cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2}
	for _, tc := range []struct {
		name  string
		setUp func(t *testing.T) string // returns the service
		a     cs.Action
		dry   bool
		words string
	}{
		{"never sent", func(t *testing.T) string { return f.createService(t, svcOpts{image: f.v1}) }, deployV2, false, "has image " + f.v1},
		{"another image set by hand since", func(t *testing.T) string {
			name := deployed(t)
			update(t, name, func(s *swarm.ServiceSpec) { s.TaskTemplate.ContainerSpec.Image = f.v1 }, swarm.ServiceUpdateOptions{})
			return name
		}, deployV2, false, "has image " + f.v1},
		{"same image, changed by hand since", func(t *testing.T) string {
			name := deployed(t)
			update(t, name, func(s *swarm.ServiceSpec) {
				s.TaskTemplate.ContainerSpec.Env = append(s.TaskTemplate.ContainerSpec.Env, "BY=hand")
			}, swarm.ServiceUpdateOptions{})
			return name
		}, deployV2, false, "before it " + f.v2},
		{"rolled back by hand", func(t *testing.T) string {
			name := deployed(t)
			update(t, name, nil, swarm.ServiceUpdateOptions{Rollback: "previous"})
			return name
		}, deployV2, false, "has image " + f.v1},
		{"scaled by hand since", func(t *testing.T) string { return f.createService(t, svcOpts{image: f.v1}) },
			cs.Action{Kind: cs.ActionScale, Target: "www", Replicas: 3}, false, "set to 1 replica, not the 3"},
		{"dry run", func(t *testing.T) string { return f.createService(t, svcOpts{image: f.v2}) }, deployV2, true, "a dry run changed nothing"},
		{"no such service", func(t *testing.T) string { return "cs-test-none-" + randomHex(4) }, deployV2, false, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := tc.setUp(t)
			st := &steps{}
			_, err := restarted(t, name).Resume(t.Context(), cs.Request{ID: "R1", Action: tc.a, DryRun: tc.dry}, st.add)
			t.Logf("error: %v", err)
			if !errors.Is(err, bot.ErrCannotResume) || !strings.Contains(err.Error(), tc.words) {
				t.Errorf("err = %v, want ErrCannotResume saying %q", err, tc.words)
			}
			if got := st.all(); got != "" {
				t.Errorf("steps reported: %q", got)
			}
		})
	}
}
