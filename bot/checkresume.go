package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	cs "github.com/countersign/countersign"
)

// checkResumeWindow is how far back a restart looks for checks it cut
// off: a pull request's head older than that has newer news anyway.
const checkResumeWindow = 24 * time.Hour

// resumeChecks starts again, after a restart, the newest check of each
// pull request that was started and never finished (its status would
// stay pending). The audit trail is the record: check.started without a
// check.succeeded or check.failed of the same head.
func (b *Bot) resumeChecks(ctx context.Context) error {
	for _, s := range b.rules().Services {
		if !s.Checks.PullRequests {
			continue
		}
		var evs []cs.Event
		if err := b.store.View(ctx, func(tx ReadTx) error {
			var err error
			evs, err = tx.Events(EventQuery{Target: s.Name, Since: b.now().Add(-checkResumeWindow)})
			return err
		}); err != nil {
			return fmt.Errorf("checks of %s: %w", s.Name, err)
		}
		for _, pr := range unfinishedChecks(evs) {
			if err := b.audit(ctx, b.checkEvent(cs.EventCheckStarted, s, pr, map[string]any{"resumed": "the bot restarted during the check"})); err != nil {
				return fmt.Errorf("checks of %s: %w", s.Name, err)
			}
			b.startCheck(s, pr)
		}
	}
	return nil
}

// unfinishedChecks returns, of a service's records oldest first, the
// newest started check of each pull request that has not finished.
func unfinishedChecks(evs []cs.Event) []PullRequest {
	newest := map[int]PullRequest{}
	var order []int
	for _, e := range evs {
		var d checkDetail
		if e.Kind != cs.EventCheckStarted && e.Kind != cs.EventCheckSucceeded && e.Kind != cs.EventCheckFailed ||
			json.Unmarshal(e.Detail, &d) != nil || d.Number <= 0 || d.SHA == "" {
			continue
		}
		if e.Kind == cs.EventCheckStarted {
			if _, ok := newest[d.Number]; !ok {
				order = append(order, d.Number)
			}
			newest[d.Number] = PullRequest{Repo: d.Repo, Number: d.Number, SHA: d.SHA, HeadRepo: d.HeadRepo, HeadBranch: d.HeadBranch, Action: "resumed"}
		} else if pr, ok := newest[d.Number]; ok && pr.SHA == d.SHA {
			delete(newest, d.Number)
		}
	}
	var out []PullRequest
	for _, n := range order {
		if pr, ok := newest[n]; ok {
			out = append(out, pr)
			delete(newest, n)
		}
	}
	return out
}

// checkDetail is what check records say of the pull request.
type checkDetail struct {
	Number     int    `json:"pull_request"`
	SHA        string `json:"sha"`
	Repo       string `json:"repo"`
	HeadRepo   string `json:"head_repo"`
	HeadBranch string `json:"head_branch"`
}
