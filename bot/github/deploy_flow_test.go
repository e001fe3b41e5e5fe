package github_test

import (
	"context"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
	"github.com/countersign/countersign/policies"
)

// slowDeploy is a stand-in executor that takes a while, so that GitHub
// can go down in the middle of the deploy.
type slowDeploy struct{ started chan struct{} }

func (e *slowDeploy) Describe(context.Context, cs.Request) (string, error) { return "deploy it", nil }
func (e *slowDeploy) Execute(ctx context.Context, r cs.Request, progress func(string) error) (bot.Result, error) {
	close(e.started)
	time.Sleep(300 * time.Millisecond)
	return bot.Result{Summary: "app runs " + r.Action.Image, Image: r.Action.Image}, nil
}

// oneImage resolves every tag to one digest.
type oneImage string

func (i oneImage) Resolve(context.Context, string, string) (string, error) { return string(i), nil }
func (i oneImage) Wait(context.Context, string, string, time.Duration) (string, error) {
	return string(i), nil
}
func (i oneImage) Check(context.Context, string) error { return nil }

// TestReports_ThroughTheRESTAPIWithAnOutage: a push deploys without
// approval while GitHub goes down in the middle; once it is back, the
// commit status and the deployment reach GitHub, in order, field by field.
func TestReports_ThroughTheRESTAPIWithAnOutage(t *testing.T) {
	gh := githubtest.New(githubtest.Options{Token: "ghp-flow"})
	defer gh.Close()
	client, err := github.NewClient(github.Auth{Token: "ghp-flow"}, github.Options{APIURL: gh.URL()})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policies.New(policies.Set{Policies: []policies.Policy{{Name: "auto", Actions: []cs.ActionKind{cs.ActionDeploy},
		Targets: []string{"app"}, Request: []string{"push"}}}})
	if err != nil {
		t.Fatal(err)
	}
	exec := &slowDeploy{started: make(chan struct{})}
	image := "registry.example.org/org/app@sha256:" + strings.Repeat("ab", 32)
	b := bottest.NewWorld(t, bottest.Options{Config: bot.Config{Policy: engine, Reporter: client, PublicURL: "https://deploy.example.org",
		Services: []bot.Service{{Name: "app", Kind: "swarm", Repo: "org/app", Branch: "live", Channel: "C0DEPLOYS",
			Image: "registry.example.org/org/app", Executor: exec,
			Build: bot.Build{Mode: "wait", Tag: func(sha, _ string) (string, error) { return sha, nil }, Timeout: time.Second}}}},
		Images: oneImage(image)}).Bot
	ctx := context.Background()
	sha := strings.Repeat("5f", 20)
	if _, err := b.HandlePush(ctx, bot.Push{Repo: "org/app", Branch: "live", SHA: sha, Pusher: "alice", Author: "alice"}); err != nil {
		t.Fatal(err)
	}
	<-exec.started
	gh.Down()
	time.Sleep(1200 * time.Millisecond) // reports fail and wait
	gh.Up()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := b.Idle(wctx); err != nil {
		t.Fatalf("reports not delivered: %v", err)
	}

	failed := 0
	for _, r := range gh.Requests() {
		if r.Status == 503 {
			failed++
		}
	}
	if failed == 0 {
		t.Error("no report met the outage: the test did not test it")
	}
	sts := gh.Statuses()
	if len(sts) == 0 {
		t.Fatal("no commit status reached GitHub")
	}
	last := sts[len(sts)-1]
	if last.Repo != "org/app" || last.SHA != sha || last.Context != "countersign/app" || last.State != "success" ||
		last.TargetURL != "https://deploy.example.org/requests/R1" || !strings.HasPrefix(last.Description, "R1 succeeded") || len(last.Description) > 140 {
		t.Errorf("last status = %+v", last)
	}
	if sts[0].State != "pending" {
		t.Errorf("first status %s, want pending", sts[0].State)
	}
	deps := gh.Deployments()
	if len(deps) != 1 {
		t.Fatalf("deployments = %+v", deps)
	}
	d := deps[0]
	if d.Ref != sha || d.Environment != "app" || d.AutoMerge == nil || *d.AutoMerge || d.RequiredContexts == nil || len(*d.RequiredContexts) != 0 {
		t.Errorf("deployment = %+v", d)
	}
	var states []string
	for _, s := range gh.DeploymentStatuses() {
		if s.DeploymentID != d.ID {
			t.Errorf("status for deployment %d, want %d", s.DeploymentID, d.ID)
		}
		states = append(states, s.State)
	}
	// Statuses queued while GitHub was down are folded into the newest, so
	// which of queued and in_progress got out first depends on when the
	// outage began; the order and the end do not.
	switch got := strings.Join(states, " "); got {
	case "queued in_progress success", "queued success", "in_progress success", "success":
	default:
		t.Errorf("deployment statuses = %s, want a part of queued in_progress success ending in success", got)
	}
}
