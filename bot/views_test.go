package bot_test

import (
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// TestBot_OverviewShowsNewestAndWhatRuns: the overview reads each
// service's history newest first only as far as its newest success. It
// must still find a success behind several failures, and say so when
// there is none at all.
func TestBot_OverviewShowsNewestAndWhatRuns(t *testing.T) {
	h := newHarness(t)
	// www: R1 succeeded, then five failures (more than the first reads
	// look at); api: only failures.
	outcomes := map[string][]bool{"www": {true, false, false, false, false, false}, "api": {false, false}}
	err := h.db.Update(h.ctx, func(tx bot.Tx) error {
		for _, target := range []string{"www", "api"} {
			for _, ok := range outcomes[target] {
				id, err := tx.NextRequestID()
				if err != nil {
					return err
				}
				if err := tx.PutDeployment(cs.Deployment{ID: id, Target: target, Kind: cs.ActionDeploy, Image: "reg/" + target + "@" + digest('1'),
					Started: h.clock.Now(), Finished: h.clock.Now(), Succeeded: ok}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	o, err := h.bot.Overview(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	views := map[string]bot.ServiceView{}
	for _, v := range o.Services {
		views[v.Name] = v
	}
	www := views["www"]
	if www.Last == nil || www.Last.ID != "R6" || www.Last.Succeeded {
		t.Errorf("www last = %+v, want the failed R6", www.Last)
	}
	if www.Running == nil || www.Running.ID != "R1" {
		t.Errorf("www running = %+v, want R1, behind five failures", www.Running)
	}
	api := views["api"]
	if api.Last == nil || api.Last.ID != "R8" {
		t.Errorf("api last = %+v, want R8", api.Last)
	}
	if api.Running != nil {
		t.Errorf("api running = %+v, want none: it never succeeded", api.Running)
	}
}

// TestBot_DriftExpectsTheNewestRealDeployment: a drift sweep compares
// what runs with the newest deployment that succeeded and was not a dry
// run, however many failures and dry runs came after it.
func TestBot_DriftExpectsTheNewestRealDeployment(t *testing.T) {
	sw := &fakeSweeper{}
	h := newHarness(t, withExecutor(observedExec{fakeExec: &fakeExec{}, sw: sw}))
	image := func(c byte) string { return "reg/api@" + digest(c) }
	// R1 is what should run; R2 … R5 (dry runs and failures) are not.
	err := h.db.Update(h.ctx, func(tx bot.Tx) error {
		for _, d := range []struct {
			c       byte
			ok, dry bool
		}{{'1', true, false}, {'2', true, true}, {'3', false, false}, {'4', true, true}, {'5', false, false}} {
			id, err := tx.NextRequestID()
			if err != nil {
				return err
			}
			if err := tx.PutDeployment(cs.Deployment{ID: id, Target: "api", Kind: cs.ActionDeploy, Image: image(d.c),
				Started: h.clock.Now(), Finished: h.clock.Now(), Succeeded: d.ok, DryRun: d.dry}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sw.set("api", bot.Live{Image: image('1'), Replicas: -1})
	if err := h.bot.SweepDrift(h.ctx, "api"); err != nil {
		t.Fatal(err)
	}
	v, ok := h.bot.Drift()["api"]
	if !ok || v.Drifted || !strings.Contains(v.Expected, image('1')) {
		t.Errorf("api drift view %+v, want R1's image expected and found", v)
	}
}
