package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// GateIntake is what the webhook hands deployments waiting at a custom
// deployment protection rule to. *bot.Bot implements it; an Intake
// without it has deployment_protection_rule deliveries audited as not
// handled.
type GateIntake interface {
	// HandleGate records the delivery (deduplicated by its Delivery and
	// its deployment) and makes the gate's request.
	HandleGate(ctx context.Context, g bot.GateDelivery) (bot.GateResult, error)
	// HandleGateStatus records a deployment_status of a gate's
	// deployment on its request.
	HandleGateStatus(ctx context.Context, s bot.GateStatus) (bot.GateResult, error)
}

var _ GateIntake = (*bot.Bot)(nil)

// gateMaxEnvironment bounds an environment's name (GitHub allows 255
// characters).
const gateMaxEnvironment = 255

// deploymentGate turns a deployment_protection_rule delivery into a
// bot.GateDelivery, or says why it is ignored.
func (h *Webhook) deploymentGate(ctx context.Context, d bot.Delivery, payload []byte) (int, string) {
	in, ok := h.in.(GateIntake)
	ev, repo, err := hookEvent[*gh.DeploymentProtectionRuleEvent]("deployment_protection_rule", payload, &d)
	if err != nil {
		return h.malformed(ctx, d, err)
	}
	if !ok {
		return h.ignore(ctx, d, "event deployment_protection_rule not handled", http.StatusOK)
	}
	if a := ev.GetAction(); a != "requested" {
		return h.ignore(ctx, d, "deployment_protection_rule action "+hookClip(a)+": nothing to answer", http.StatusOK)
	}
	dep := ev.GetDeployment()
	env := ev.GetEnvironment()
	switch {
	case repo == "" || env == "" || dep.GetID() <= 0:
		return h.malformed(ctx, d, errors.New("no repository.full_name, environment or deployment.id"))
	case len(repo) > hookMaxName || len(env) > gateMaxEnvironment || len(dep.GetRef()) > hookMaxRef:
		return h.malformed(ctx, d, fmt.Errorf("repository.full_name, environment or deployment.ref %q… longer than GitHub allows", hookClip(dep.GetRef())))
	case !hookIsSHA(dep.GetSHA()):
		return h.malformed(ctx, d, fmt.Errorf("deployment.sha %q is not a commit hash", hookClip(dep.GetSHA())))
	}
	run, err := gateRun(ev.GetDeploymentCallbackURL(), repo)
	if err != nil {
		return h.malformed(ctx, d, err)
	}
	creator := hookName(dep.GetCreator().GetLogin())
	if creator == "" {
		creator = d.Sender
	}
	res, err := in.HandleGate(ctx, bot.GateDelivery{
		Repo: repo, Environment: env, Deployment: dep.GetID(), Run: run, Ref: dep.GetRef(), SHA: dep.GetSHA(),
		Creator: creator, Sender: d.Sender, Delivery: d.ID, Payload: d.Payload,
	})
	if err != nil {
		return h.storeFailed(d, err)
	}
	switch {
	case res.Duplicate:
		return http.StatusOK, "duplicate delivery"
	case res.Ignored != "":
		return http.StatusOK, "ignored: " + res.Ignored
	}
	return http.StatusOK, fmt.Sprintf("ok: %s for gate %s", res.Request, res.Gate)
}

// deploymentStatus records a deployment_status delivery on the gate
// request of its deployment, or says why it is ignored.
func (h *Webhook) deploymentStatus(ctx context.Context, d bot.Delivery, payload []byte) (int, string) {
	in, ok := h.in.(GateIntake)
	ev, repo, err := hookEvent[*gh.DeploymentStatusEvent]("deployment_status", payload, &d)
	if err != nil {
		return h.malformed(ctx, d, err)
	}
	if !ok {
		return h.ignore(ctx, d, "event deployment_status not handled", http.StatusOK)
	}
	env := ev.GetDeployment().GetEnvironment()
	state := ev.GetDeploymentStatus().GetState()
	switch {
	case repo == "" || env == "" || ev.GetDeployment().GetID() <= 0 || state == "":
		return h.malformed(ctx, d, errors.New("no repository.full_name, deployment.environment, deployment.id or deployment_status.state"))
	case len(repo) > hookMaxName || len(env) > gateMaxEnvironment || len(state) > hookMaxName:
		return h.malformed(ctx, d, errors.New("repository.full_name, deployment.environment or deployment_status.state longer than GitHub allows"))
	}
	res, err := in.HandleGateStatus(ctx, bot.GateStatus{
		Repo: repo, Environment: env, Deployment: ev.GetDeployment().GetID(), State: state,
		Description: cs.Clip(strings.ToValidUTF8(ev.GetDeploymentStatus().GetDescription(), ""), bot.MaxCommitTitle),
		Sender:      d.Sender, Delivery: d.ID, Payload: d.Payload,
	})
	if err != nil {
		return h.storeFailed(d, err)
	}
	switch {
	case res.Duplicate:
		return http.StatusOK, "duplicate delivery"
	case res.Ignored != "":
		return http.StatusOK, "ignored: " + res.Ignored
	}
	return http.StatusOK, fmt.Sprintf("ok: %s of %s recorded on %s", state, res.Gate, res.Request)
}

// gateRun reads the workflow run's ID from a deployment_callback_url,
// which must be the review endpoint of repo's run:
// …/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule.
// The answer goes to that endpoint on the configured API, never to the
// URL itself: a payload does not choose where the installation's token
// is sent.
func gateRun(callback, repo string) (int64, error) {
	u, err := url.Parse(callback)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return 0, fmt.Errorf("deployment_callback_url %q is not a URL", hookClip(callback))
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	n := len(parts)
	if n < 7 || parts[n-7] != "repos" || parts[n-4] != "actions" || parts[n-3] != "runs" || parts[n-1] != "deployment_protection_rule" {
		return 0, fmt.Errorf("deployment_callback_url %q is not a workflow run's deployment_protection_rule endpoint", hookClip(callback))
	}
	if !strings.EqualFold(parts[n-6]+"/"+parts[n-5], repo) {
		return 0, fmt.Errorf("deployment_callback_url %q is not of repository %s", hookClip(callback), repo)
	}
	run, err := strconv.ParseInt(parts[n-2], 10, 64)
	if err != nil || run <= 0 {
		return 0, fmt.Errorf("deployment_callback_url %q names no workflow run", hookClip(callback))
	}
	return run, nil
}

// gateReview is the body of POST
// /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule.
type gateReview struct {
	EnvironmentName string `json:"environment_name"`
	State           string `json:"state"`
	Comment         string `json:"comment,omitempty"`
}

// repGate answers a deployment protection rule: GitHub takes it from
// the App's installation only.
func (c *Client) repGate(ctx context.Context, owner, name string, a *bot.GateAnswer) (string, error) {
	switch {
	case c.installation() == nil:
		return "", repRejectf("answer the deployment protection rule of %s/%s run %d: GitHub takes answers only from a GitHub App installation, and this client has a token", owner, name, a.Run)
	case a.State != bot.GateApproved && a.State != bot.GateRejected:
		return "", repRejectf("answer the deployment protection rule of %s/%s run %d: state %q is not approved or rejected", owner, name, a.Run, a.State)
	case a.Run <= 0 || a.Environment == "":
		return "", repRejectf("answer the deployment protection rule of %s/%s: no workflow run or environment", owner, name)
	}
	path := fmt.Sprintf("repos/%s/%s/actions/runs/%d/deployment_protection_rule", owner, name, a.Run)
	req, err := c.gh.NewRequest(http.MethodPost, path, gateReview{EnvironmentName: a.Environment, State: a.State, Comment: a.Comment})
	if err != nil {
		return "", repRejectf("answer the deployment protection rule of %s/%s run %d: %v", owner, name, a.Run, err)
	}
	resp, err := c.gh.Do(ctx, req, nil)
	if err != nil {
		return "", fmt.Errorf("answer %s to the deployment protection rule of %s/%s run %d: %w", a.State, owner, name, a.Run, repClassify(err, resp))
	}
	return "answered", nil
}
