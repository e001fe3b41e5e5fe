package bot_test

import (
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// buildOnlyHarness makes api a build-only service: no executor.
func buildOnlyHarness(t *testing.T, rep *fakeReporter) *harness {
	return checkHarness(t, rep, func(s *bot.Service) { s.Kind, s.Executor = bot.KindBuild, nil })
}

func TestBuildOnly_PushBuildsAndDeploysNothing(t *testing.T) {
	rep := &fakeReporter{}
	h := buildOnlyHarness(t, rep)
	h.push("org/api", "live", shaA, "p")
	if h.exists("R1") {
		t.Error("a build-only service's push made a request")
	}
	rec := h.pushRecord("api", shaA)
	if rec.State != bot.PushBuilt || !strings.Contains(string(rec.Status), "nothing is deployed") {
		t.Errorf("push %s %q", rec.State, rec.Status)
	}
	if !strings.Contains(h.chat.AllText(), "api is build-only: nothing is deployed") {
		t.Errorf("the thread does not say so:\n%s", h.chat.AllText())
	}
	got := strings.Join(rep.statuses("countersign/deployability: api"), "\n")
	if want := "aaaaaaa pending: getting the image\naaaaaaa success: deployable: reg/api@" + digest('3'); got != want {
		t.Errorf("statuses:\n got %s\nwant %s", got, want)
	}
	if got := rep.statuses("countersign/api"); len(got) != 0 {
		t.Errorf("a deploy status for a service never deployed: %q", got)
	}
	if h.exec.count("R1") != 0 {
		t.Error("executed")
	}
}

func TestBuildOnly_ChangesAreRefused(t *testing.T) {
	h := buildOnlyHarness(t, &fakeReporter{})
	for _, tc := range []struct{ cmd, verb string }{
		{"deploy api " + shaA, "deployed"},
		{"rollback api", "rolled back"},
		{"scale api 3", "scaled"},
	} {
		got := h.say("UOPS1", tc.cmd)
		if want := "api is a build-only service: it has no deploy target, so it cannot be " + tc.verb; !strings.Contains(got, want) {
			t.Errorf("%s: %q, want it to say %q", tc.cmd, got, want)
		}
	}
	if h.exists("R1") {
		t.Error("a request was made")
	}
	if got := h.say("UOPS1", "lock api release freeze"); strings.Contains(got, "build-only") {
		t.Errorf("lock refused: %q", got)
	}
}

func TestBuildOnly_PullRequestsAreChecked(t *testing.T) {
	rep := &fakeReporter{}
	h := buildOnlyHarness(t, rep)
	h.pullRequest(pullRequest(3, "opened", shaB))
	got := strings.Join(rep.statuses("countersign/deployability: api"), "\n")
	if !strings.Contains(got, "bbbbbbb success: deployable: reg/api@"+digest('4')) {
		t.Errorf("statuses:\n%s", got)
	}
	var evs []cs.Event
	h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		evs, err = tx.Events(bot.EventQuery{Kind: cs.EventCheckSucceeded})
		return err
	})
	if len(evs) != 1 || evs[0].Target != "api" {
		t.Errorf("check.succeeded records: %+v", evs)
	}
}
