package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// PullRequestIntake is what the webhook hands pull requests to, for
// deployability checks. *bot.Bot implements it; an Intake without it
// has pull_request deliveries audited as not handled.
type PullRequestIntake interface {
	// HandlePullRequest records the delivery (deduplicated by its
	// Delivery) and starts the checks of the services that check the
	// repository's pull requests.
	HandlePullRequest(ctx context.Context, pr bot.PullRequest) (bot.CheckResult, error)
}

var _ PullRequestIntake = (*bot.Bot)(nil)

// checkedActions are the pull_request actions that put a new head up for
// review; the others (closed, labeled, edited, …) change no code.
var checkedActions = map[string]bool{"opened": true, "synchronize": true, "reopened": true}

// pullRequest turns a pull_request delivery into a bot.PullRequest, or
// says why it is ignored.
func (h *Webhook) pullRequest(ctx context.Context, d bot.Delivery, payload []byte) (int, string) {
	in, ok := h.in.(PullRequestIntake)
	ev, repo, err := hookEvent[*gh.PullRequestEvent]("pull_request", payload, &d)
	if err != nil {
		return h.malformed(ctx, d, err)
	}
	if !ok {
		return h.ignore(ctx, d, "event pull_request not handled", http.StatusOK)
	}
	action := ev.GetAction()
	if !checkedActions[action] {
		return h.ignore(ctx, d, "pull_request action "+hookClip(action)+": nothing to check", http.StatusOK)
	}
	head := ev.GetPullRequest().GetHead()
	n := ev.GetNumber()
	if n == 0 {
		n = ev.GetPullRequest().GetNumber()
	}
	switch {
	case repo == "" || n <= 0:
		return h.malformed(ctx, d, fmt.Errorf("no repository.full_name or number"))
	case len(repo) > hookMaxName || len(head.GetRef()) > hookMaxRef:
		return h.malformed(ctx, d, fmt.Errorf("repository.full_name or head ref %q… longer than GitHub allows", hookClip(head.GetRef())))
	case !hookIsSHA(head.GetSHA()):
		return h.malformed(ctx, d, fmt.Errorf("pull_request.head.sha %q is not a commit hash", hookClip(head.GetSHA())))
	}
	title := strings.ToValidUTF8(ev.GetPullRequest().GetTitle(), "")
	pr := bot.PullRequest{
		Repo: repo, Number: n, Action: action, SHA: head.GetSHA(),
		// A deleted fork's head has no repository: it counts as a fork.
		HeadRepo: hookName(head.GetRepo().GetFullName()), HeadBranch: head.GetRef(),
		Sender: d.Sender, Title: cs.Clip(title, bot.MaxCommitTitle), Delivery: d.ID, Payload: d.Payload,
	}
	res, err := in.HandlePullRequest(ctx, pr)
	if err != nil {
		return h.storeFailed(d, err)
	}
	switch {
	case res.Duplicate:
		return http.StatusOK, "duplicate delivery"
	case res.Ignored != "":
		return http.StatusOK, "ignored: " + res.Ignored
	}
	return http.StatusOK, "ok: deployability checks for " + strings.Join(res.Services, ", ")
}
