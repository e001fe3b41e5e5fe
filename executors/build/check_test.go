package build

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/bottest"
	"github.com/countersign/countersign/policies"
)

// checkReports records the bot's reports to GitHub.
type checkReports struct {
	mu      sync.Mutex
	reports []bot.Report
}

func (r *checkReports) Report(_ context.Context, rep bot.Report) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports = append(r.reports, rep)
	return "", nil
}

// TestCheck_PullRequestBuiltByTheEngine: a pull request's deployability
// check of a build: docker service is built by the real Docker Engine
// from the head's tarball and pushed to the registry under the pull
// request's tag, and the head's status names the digest the registry
// holds there; the deploy tag is never pushed, and nothing is said in
// chat.
func TestCheck_PullRequestBuiltByTheEngine(t *testing.T) {
	t.Parallel()
	f := env(t)
	tc := f.start(t)
	spec := tc.commit(files("Dockerfile", tc.dockerfile("COPY hello /hello")))
	engine, err := policies.New(policies.Set{})
	if err != nil {
		t.Fatal(err)
	}
	reports, chat := &checkReports{}, &bottest.Chat{}
	b := bottest.NewWorld(t, bottest.Options{Chat: chat, Config: bot.Config{Policy: engine, Reporter: reports,
		Services: []bot.Service{{Name: "app", Kind: "swarm", Repo: spec.Repo, Branch: "main", Channel: "C0DEPLOYS", Image: tc.repo,
			Build:  bot.Build{Mode: "docker", Builder: tc.builder(Config{}, Options{}), Engine: "local", Timeout: time.Minute},
			Checks: bot.Checks{PullRequests: true}}}}}).Bot
	ctx := context.Background()
	res, err := b.HandlePullRequest(ctx, bot.PullRequest{Repo: spec.Repo, Number: 12, Action: "opened", SHA: spec.SHA,
		HeadRepo: spec.Repo, HeadBranch: "feature", Sender: "dev", Delivery: "d1"})
	if err != nil || len(res.Services) != 1 {
		t.Fatalf("HandlePullRequest = %+v, %v", res, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := b.Idle(wctx); err != nil {
		t.Fatal(err)
	}

	var states []string
	var last *bot.CommitStatus
	reports.mu.Lock()
	for _, r := range reports.reports {
		if r.Status == nil || r.SHA != spec.SHA || r.Status.Context != "countersign/deployability: app" {
			t.Errorf("report %+v", r)
			continue
		}
		states, last = append(states, string(r.Status.State)), r.Status
	}
	reports.mu.Unlock()
	if strings.Join(states, " ") != "pending success" {
		t.Fatalf("states %v (last %+v)", states, last)
	}
	// The repository's name is long here: the description names the digest.
	digest, ok := strings.CutPrefix(last.Description, "deployable: ")
	if !ok || !strings.HasPrefix(digest, "sha256:") || len(digest) != len("sha256:")+64 {
		t.Fatalf("description %q", last.Description)
	}
	ref, err := name.ParseReference(tc.repo+":pr-12", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatalf("the pull request's tag is not in the registry: %v", err)
	}
	if got := desc.Digest.String(); got != digest {
		t.Errorf("registry has %s under pr-12, the status says %s", got, digest)
	}
	for _, deployTag := range []string{spec.SHA, spec.Tag} {
		r, _ := name.ParseReference(tc.repo+":"+deployTag, name.Insecure)
		if _, err := remote.Head(r); err == nil {
			t.Errorf("a deploy tag %s was pushed", deployTag)
		}
	}
	if posts := chat.Posts(); len(posts) != 0 {
		t.Errorf("the check posted in chat: %+v", posts)
	}
}
