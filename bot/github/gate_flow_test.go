package github_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
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

// The gate of the recorded-style example delivery
// (testdata/deployment-protection-rule.json).
const (
	gateRepo       = "octo-org/web"
	gateEnv        = "production"
	gateRun        = 8412345678
	gateDeployment = 1544321987
	gateSHA        = "8f2b4c6d0e1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c"
	gateSecret     = "gate-webhook-secret"
	gateURL        = "https://deploy.example.org"
)

// Chat users: two SREs and a lead; U0MONA is monalisa, who creates the
// deployments.
const (
	sre1, sre2, lead, mona cs.Actor = "U0SRE1", "U0SRE2", "U0LEAD", "U0MONA"
)

// gateFlow is a bot that gates environment production of octo-org/web
// (and staging, which needs no approval), answering a githubtest server
// through a GitHub App client, with deliveries through the real webhook.
type gateFlow struct {
	t     *testing.T
	gh    *githubtest.Server
	world *bottest.World
	bot   *bot.Bot
	hook  *github.Webhook
	clock *bottest.Clock // starts at the real time
	cfg   bot.Config
	chat  *bottest.Chat
}

type gateFlowOpt func(*bot.Config)

func newGateFlow(t *testing.T, opts ...gateFlowOpt) *gateFlow {
	t.Helper()
	gh := appServer(t, githubtest.Options{})
	client := appClient(t, gh, "", appKey(t, 0), appInstallation)
	engine, err := policies.New(policies.Set{
		Groups: map[string][]string{"sre": {string(sre1), string(sre2), string(mona)}, "leads": {string(lead)}},
		Policies: []policies.Policy{
			{Name: "web-production", Actions: []cs.ActionKind{cs.ActionDeploy}, Targets: []string{"web-production"}, Request: []string{"push"},
				Approve: []cs.Requirement{{Group: "sre", Count: 1}, {Group: "leads", Count: 1}}, Expires: policies.Duration(time.Hour)},
			{Name: "web-staging", Actions: []cs.ActionKind{cs.ActionDeploy}, Targets: []string{"web-staging"}, Request: []string{"push"}},
			{Name: "locks", Actions: []cs.ActionKind{cs.ActionLock, cs.ActionUnlock}, Targets: []string{"*"}, Request: []string{"group:sre"}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	clock := bottest.NewClock(time.Now())
	cfg := bot.Config{
		Policy: engine, Reporter: client, PublicURL: gateURL, Clock: clock,
		Identities: map[string]cs.Actor{"monalisa": mona},
		Gates: []bot.Gate{
			{Name: "web-production", Repo: gateRepo, Environment: gateEnv, Channel: "C0DEPLOYS"},
			{Name: "web-staging", Repo: gateRepo, Environment: "staging", Channel: "C0DEPLOYS"},
			{Name: "web-sandbox", Repo: gateRepo, Environment: "sandbox", Channel: "C0DEPLOYS"}, // no policy names it
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	f := &gateFlow{t: t, gh: gh, clock: clock, cfg: cfg, chat: &bottest.Chat{}}
	f.world = bottest.NewWorld(t, bottest.Options{Config: cfg, Chat: f.chat})
	f.started()
	return f
}

// started puts the webhook in front of the world's (new) bot.
func (f *gateFlow) started() {
	f.t.Helper()
	hook, err := github.NewWebhook(gateSecret, f.world.Bot, github.WebhookOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.bot, f.hook = f.world.Bot, hook
}

// restart stops the bot and its store and starts them again on the same
// file, with opts applied to the config.
func (f *gateFlow) restart(opts ...gateFlowOpt) {
	f.t.Helper()
	f.idle()
	for _, o := range opts {
		o(&f.cfg)
	}
	f.world.Restart(func(c *bot.Config) { *c = f.cfg })
	f.started()
}

// deliver sends d through the webhook, signed, and returns the answer.
func (f *gateFlow) deliver(d githubtest.Delivery) (int, string) {
	f.t.Helper()
	req, err := d.Request("http://countersign.test/webhooks/github", gateSecret)
	if err != nil {
		f.t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	f.hook.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, strings.TrimSpace(string(body))
}

// example is the recorded-style delivery from testdata, under id.
func (f *gateFlow) example(id string) githubtest.Delivery {
	f.t.Helper()
	body, err := os.ReadFile("testdata/deployment-protection-rule.json")
	if err != nil {
		f.t.Fatal(err)
	}
	return githubtest.Delivery{Event: "deployment_protection_rule", ID: id, Body: body}
}

// gate is a delivery of deployment dep waiting in run to environment env.
func gateDelivery(id string, env string, dep, run int64, sha string) githubtest.Delivery {
	return githubtest.GateDelivery(id, githubtest.Gate{Repo: gateRepo, Environment: env, Deployment: dep, Run: run, SHA: sha, Creator: "monalisa"})
}

func (f *gateFlow) idle() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.bot.Idle(ctx); err != nil {
		f.t.Fatalf("bot not idle: %v", err)
	}
}

func (f *gateFlow) request(id cs.RequestID) bot.RequestView {
	f.t.Helper()
	v, _, err := f.bot.RequestDetail(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *gateFlow) approve(user cs.Actor, id cs.RequestID) {
	f.bot.HandleButton(context.Background(), bot.Caller{User: user, Channel: "C0DEPLOYS"}, bot.ButtonApprove,
		bot.ButtonValue(id, f.request(id).Fingerprint))
}

// events returns the audit records of kind, oldest first.
func (f *gateFlow) events(kind cs.EventKind) []map[string]any {
	f.t.Helper()
	evs, err := f.bot.Events(context.Background(), bot.EventQuery{Kind: kind})
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]map[string]any, len(evs))
	for i, e := range evs {
		if err := json.Unmarshal(e.Detail, &out[i]); err != nil {
			f.t.Fatal(err)
		}
		out[i]["_request"], out[i]["_target"], out[i]["_actor"] = string(e.Request), e.Target, string(e.Actor)
	}
	return out
}

// wantReviews checks the answers GitHub took: one per run given, in
// order, with its state and comment fragments.
func (f *gateFlow) wantReviews(want ...githubtest.GateReview) {
	f.t.Helper()
	got := f.gh.GateReviews()
	if len(got) != len(want) {
		f.t.Fatalf("GitHub took %d answers, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Repo != gateRepo || g.Run != w.Run || g.EnvironmentName != w.EnvironmentName || g.State != w.State {
			f.t.Errorf("answer %d = %+v, want run %d %s %s", i, g, w.Run, w.EnvironmentName, w.State)
		}
		for _, part := range strings.Split(w.Comment, "|") {
			if !strings.Contains(g.Comment, part) {
				f.t.Errorf("answer %d comment %q does not say %q", i, g.Comment, part)
			}
		}
	}
}

// TestGate_ApprovedByTheRightGroups: the example delivery makes one
// request for gate web-production, requested by github:monalisa, who may
// not approve it (she is U0MONA); an SRE and a lead approve it, and then
// GitHub gets one answer, approved, naming them and the request's page.
func TestGate_ApprovedByTheRightGroups(t *testing.T) {
	f := newGateFlow(t)
	f.gh.WaitGate(gateRepo, gateRun, gateEnv)
	code, body := f.deliver(f.example("d-1"))
	if code != http.StatusOK || body != "ok: R1 for gate web-production" {
		t.Fatalf("delivery answered %d %q", code, body)
	}
	f.idle()
	r := f.request("R1")
	g := r.Gate
	if r.State != cs.StatePending || r.Action.Kind != cs.ActionDeploy || r.Action.Target != "web-production" || r.Requester != "github:monalisa" ||
		r.Source != cs.SourcePush || g == nil || g.Deployment != gateDeployment || g.Run != gateRun || g.SHA != gateSHA || g.Ref != "main" || g.Environment != gateEnv {
		t.Fatalf("request = %+v (gate %+v)", r.Request, g)
	}
	req := f.events(cs.EventGateRequested)
	if len(req) != 1 || req[0]["deployment"] != float64(gateDeployment) || req[0]["run"] != float64(gateRun) ||
		req[0]["sha"] != gateSHA || req[0]["ref"] != "main" || req[0]["_request"] != "R1" || req[0]["_actor"] != "github:monalisa" {
		t.Errorf("gate.requested = %+v", req)
	}

	f.approve(mona, "R1") // the deployment's creator
	f.approve(sre1, "R1")
	f.idle()
	if got := f.request("R1"); got.State != cs.StatePending || len(got.Approvals) != 1 || got.Approvals[0].Actor != sre1 {
		t.Fatalf("after the creator and one SRE: %s with approvals %+v", got.State, got.Approvals)
	}
	if n := len(f.gh.GateReviews()); n != 0 {
		t.Fatalf("GitHub answered before the policy was satisfied: %d answers", n)
	}
	f.approve(lead, "R1")
	f.idle()
	got := f.request("R1")
	if got.State != cs.StateSucceeded || got.Outcome != "approved — GitHub Actions deploys" {
		t.Errorf("after the lead: %s %q", got.State, got.Outcome)
	}
	f.wantReviews(githubtest.GateReview{Run: gateRun, EnvironmentName: gateEnv, State: "approved",
		Comment: "Countersign R1 approved by U0SRE1, U0LEAD|policy web-production|" + gateURL + "/requests/R1"})
	ans := f.events(cs.EventGateAnswered)
	if len(ans) != 1 || ans[0]["state"] != "approved" || ans[0]["run"] != float64(gateRun) || ans[0]["_request"] != "R1" || ans[0]["_target"] != "web-production" {
		t.Errorf("gate.answered = %+v", ans)
	}
	if n := len(f.events(cs.EventExecutionStarted)); n != 0 {
		t.Errorf("%d executions started: a gate runs nothing, GitHub Actions deploys", n)
	}
}

// TestGate_DeniedInTheModal: a denial's reason reaches GitHub.
func TestGate_DeniedInTheModal(t *testing.T) {
	f := newGateFlow(t)
	f.gh.WaitGate(gateRepo, 11, gateEnv)
	if code, body := f.deliver(gateDelivery("d-1", gateEnv, 21, 11, gateSHA)); code != http.StatusOK {
		t.Fatalf("delivery answered %d %q", code, body)
	}
	f.idle()
	f.bot.HandleDeny(context.Background(), bot.Caller{User: lead, Channel: "C0DEPLOYS"}, bot.ButtonValue("R1", f.request("R1").Fingerprint),
		"the release notes are missing")
	f.idle()
	if r := f.request("R1"); r.State != cs.StateDenied {
		t.Fatalf("state %s", r.State)
	}
	f.wantReviews(githubtest.GateReview{Run: 11, EnvironmentName: gateEnv, State: "rejected",
		Comment: "Countersign R1 denied: denied by @U0LEAD: the release notes are missing|" + gateURL + "/requests/R1"})
}

// TestGate_Expired: a request nobody decides in time is rejected.
func TestGate_Expired(t *testing.T) {
	f := newGateFlow(t)
	f.gh.WaitGate(gateRepo, 12, gateEnv)
	f.deliver(gateDelivery("d-1", gateEnv, 22, 12, gateSHA))
	f.idle()
	f.clock.Advance(time.Hour + time.Second)
	if err := f.bot.Expire(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.idle()
	f.wantReviews(githubtest.GateReview{Run: 12, EnvironmentName: gateEnv, State: "rejected", Comment: "Countersign R1 expired: expired at"})
}

// TestGate_Superseded: a newer deployment to the environment supersedes
// the pending one, which GitHub hears is rejected, and why; a deployment
// to another environment supersedes nothing.
func TestGate_Superseded(t *testing.T) {
	f := newGateFlow(t)
	f.gh.WaitGate(gateRepo, 13, gateEnv)
	f.gh.WaitGate(gateRepo, 14, gateEnv)
	f.gh.WaitGate(gateRepo, 15, "staging")
	newer := strings.Repeat("b", 40)
	f.deliver(gateDelivery("d-1", gateEnv, 23, 13, gateSHA))
	f.deliver(gateDelivery("d-2", gateEnv, 24, 14, newer))
	f.idle()
	f.wantReviews(githubtest.GateReview{Run: 13, EnvironmentName: gateEnv, State: "rejected",
		Comment: "Countersign R1 superseded: superseded by R2 (deploy web-production: main (commit bbbbbbb))"})
	if r := f.request("R2"); r.State != cs.StatePending {
		t.Errorf("R2 %s, want pending", r.State)
	}
	// Staging needs no approval: approved at once.
	if code, body := f.deliver(gateDelivery("d-3", "staging", 25, 15, newer)); body != "ok: R3 for gate web-staging" {
		t.Fatalf("staging delivery answered %d %q", code, body)
	}
	f.idle()
	f.wantReviews(
		githubtest.GateReview{Run: 13, EnvironmentName: gateEnv, State: "rejected"},
		githubtest.GateReview{Run: 15, EnvironmentName: "staging", State: "approved", Comment: "Countersign R3 approved: policy \"web-staging\" needs no approval"},
	)
	if r := f.request("R2"); r.State != cs.StatePending {
		t.Errorf("R2 %s after a staging deploy, want pending", r.State)
	}
}

// TestGate_CallbackFailingThenDelivered: GitHub failing the answer for a
// while (for a minute by the bot's clock) delays it; it is delivered
// once, then audited once.
func TestGate_CallbackFailingThenDelivered(t *testing.T) {
	f := newGateFlow(t)
	f.gh.WaitGate(gateRepo, 16, "staging")
	path := "/repos/" + gateRepo + "/actions/runs/16/deployment_protection_rule"
	f.gh.Fail(path, 1, http.StatusBadGateway)
	f.gh.Fail(path, 1, http.StatusServiceUnavailable)
	f.clock.Advance(time.Minute) // while it fails: far from giving up
	f.deliver(gateDelivery("d-1", "staging", 26, 16, gateSHA))
	f.idle()
	failed := 0
	for _, r := range f.gh.Requests() {
		if r.Path == path && r.Status >= 500 {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("%d failed answers, want 2: the test did not test the outage", failed)
	}
	f.wantReviews(githubtest.GateReview{Run: 16, EnvironmentName: "staging", State: "approved"})
	if n := len(f.events(cs.EventGateAnswered)); n != 1 {
		t.Errorf("%d gate.answered records, want 1", n)
	}
}

// TestGate_RefusedForGood: an answer GitHub refuses for good (the run no
// longer waits: 422) is set aside and audited, not retried for ever.
func TestGate_RefusedForGood(t *testing.T) {
	f := newGateFlow(t)
	// No WaitGate: GitHub knows no such run waiting.
	f.deliver(gateDelivery("d-1", "staging", 27, 17, gateSHA))
	f.idle()
	if n := len(f.gh.GateReviews()); n != 0 {
		t.Fatalf("%d answers taken", n)
	}
	ab := f.events(cs.EventOutboxAbandoned)
	if len(ab) != 1 || !strings.Contains(ab[0]["error"].(string), "deployment protection rule") {
		t.Errorf("outbox.abandoned = %+v", ab)
	}
	if n := len(f.events(cs.EventGateAnswered)); n != 0 {
		t.Errorf("%d gate.answered records for an answer never taken", n)
	}
}

// TestGate_DuplicateDeliveries: a redelivery, the same payload under
// another delivery ID, and the same deployment in another delivery make
// one request.
func TestGate_DuplicateDeliveries(t *testing.T) {
	f := newGateFlow(t)
	d := gateDelivery("d-1", gateEnv, 28, 18, gateSHA)
	again := d
	again.ID = "d-2"
	other := githubtest.GateDelivery("d-3", githubtest.Gate{Repo: gateRepo, Environment: gateEnv, Deployment: 28, Run: 18, SHA: gateSHA,
		Creator: "monalisa", Sender: "hubot"})
	for _, tc := range []struct {
		d    githubtest.Delivery
		want string
	}{
		{d, "ok: R1 for gate web-production"},
		{d, "duplicate delivery"},
		{again, "ignored: the payload of delivery d-1 again under another delivery ID (1 times so far; a replay, or a second webhook): nothing done"},
		{other, "ignored: deployment 28 has a request already"},
	} {
		if code, body := f.deliver(tc.d); code != http.StatusOK || body != tc.want {
			t.Errorf("delivery %s answered %d %q, want %q", tc.d.ID, code, body, tc.want)
		}
	}
	f.idle()
	if _, _, err := f.bot.RequestDetail(context.Background(), "R2"); err == nil {
		t.Error("a second request was made")
	}
	if n := len(f.events(cs.EventGateRequested)); n != 1 {
		t.Errorf("%d gate.requested records, want 1", n)
	}
}

// TestGate_Ignored: deliveries for no gate, and actions other than
// requested, are acknowledged and audited with the reason; nothing is
// requested or answered.
func TestGate_Ignored(t *testing.T) {
	f := newGateFlow(t)
	for _, tc := range []struct {
		d    githubtest.Delivery
		want string
	}{
		{gateDelivery("d-1", "qa", 31, 21, gateSHA), `ignored: no gate for environment "qa" of octo-org/web`},
		{githubtest.GateDelivery("d-2", githubtest.Gate{Repo: "octo-org/api", Environment: gateEnv, Deployment: 32, Run: 22, SHA: gateSHA}),
			`ignored: no gate for environment "production" of octo-org/api`},
		{githubtest.GateDelivery("d-3", githubtest.Gate{Repo: gateRepo, Environment: gateEnv, Deployment: 33, Run: 23, SHA: gateSHA, Action: "completed"}),
			"ignored: deployment_protection_rule action completed: nothing to answer"},
	} {
		if code, body := f.deliver(tc.d); code != http.StatusOK || body != tc.want {
			t.Errorf("delivery %s answered %d %q, want %q", tc.d.ID, code, body, tc.want)
		}
	}
	f.idle()
	var reasons []string
	for _, e := range f.events(cs.EventWebhookReceived) {
		if e["event"] == "deployment_protection_rule" {
			reasons = append(reasons, e["ignored"].(string))
		}
	}
	if len(reasons) != 3 || !strings.Contains(reasons[0], `"qa"`) || !strings.Contains(reasons[1], "octo-org/api") || !strings.Contains(reasons[2], "completed") {
		t.Errorf("audited reasons = %q", reasons)
	}
	if n := len(f.events(cs.EventGateRequested)); n != 0 {
		t.Errorf("%d requests made", n)
	}
}

// TestGate_Malformed: signed deliveries GitHub would never send are
// answered 400 and audited, and make nothing.
func TestGate_Malformed(t *testing.T) {
	f := newGateFlow(t)
	good := gateDelivery("x", gateEnv, 41, 31, gateSHA)
	edit := func(id string, change func(m map[string]any)) githubtest.Delivery {
		var m map[string]any
		if err := json.Unmarshal(good.Body, &m); err != nil {
			t.Fatal(err)
		}
		change(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return githubtest.Delivery{Event: good.Event, ID: id, Body: b}
	}
	dep := func(m map[string]any) map[string]any { return m["deployment"].(map[string]any) }
	for _, d := range []githubtest.Delivery{
		edit("m-1", func(m map[string]any) {
			m["deployment_callback_url"] = "https://api.github.com/repos/octo-org/web/deployments/41"
		}),
		edit("m-2", func(m map[string]any) {
			m["deployment_callback_url"] = "https://api.github.com/repos/octo-org/other/actions/runs/31/deployment_protection_rule"
		}),
		edit("m-3", func(m map[string]any) {
			m["deployment_callback_url"] = "https://api.github.com/repos/octo-org/web/actions/runs/zero/deployment_protection_rule"
		}),
		edit("m-4", func(m map[string]any) { m["deployment_callback_url"] = "::not a url" }),
		edit("m-5", func(m map[string]any) { delete(m, "deployment") }),
		edit("m-6", func(m map[string]any) { dep(m)["sha"] = "main" }),
		edit("m-7", func(m map[string]any) { m["environment"] = "" }),
		edit("m-8", func(m map[string]any) { m["environment"] = strings.Repeat("e", 256) }),
		edit("m-9", func(m map[string]any) { m["deployment"] = "not an object" }),
	} {
		if code, body := f.deliver(d); code != http.StatusBadRequest || body != "ignored: malformed payload" {
			t.Errorf("delivery %s answered %d %q", d.ID, code, body)
		}
	}
	f.idle()
	if n := len(f.events(cs.EventGateRequested)); n != 0 {
		t.Errorf("%d requests made from malformed deliveries", n)
	}
}

// TestGate_DryRun: under --dry-run the request is decided, and GitHub is
// not answered.
func TestGate_DryRun(t *testing.T) {
	f := newGateFlow(t, func(c *bot.Config) { c.DryRun = true })
	f.gh.WaitGate(gateRepo, 51, "staging")
	f.deliver(gateDelivery("d-1", "staging", 51, 51, gateSHA))
	f.idle()
	if r := f.request("R1"); r.State != cs.StateSucceeded || !strings.Contains(r.Outcome, "DRY RUN: GitHub is not answered") {
		t.Errorf("request %s %q", r.State, r.Outcome)
	}
	if n := len(f.gh.GateReviews()); n != 0 {
		t.Errorf("GitHub was answered %d times under --dry-run", n)
	}
}

// TestGate_LockedAndRefused: a lock on the gate refuses its deployments,
// and a requester no policy admits is refused: both are answered
// rejected at once, with the reason. A gate is not deployed by hand.
func TestGate_LockedAndRefused(t *testing.T) {
	f := newGateFlow(t)
	ctx := context.Background()
	f.bot.HandleCommand(ctx, bot.Caller{User: sre1, Channel: "C0DEPLOYS"}, "lock web-staging freeze for the migration")
	f.bot.HandleCommand(ctx, bot.Caller{User: sre1, Channel: "C0DEPLOYS"}, "deploy web-production "+gateSHA)
	f.idle()
	f.gh.WaitGate(gateRepo, 61, "staging")
	f.gh.WaitGate(gateRepo, 62, "sandbox")
	f.deliver(gateDelivery("d-1", "staging", 61, 61, gateSHA))
	f.deliver(gateDelivery("d-2", "sandbox", 62, 62, gateSHA))
	f.idle()
	f.wantReviews(
		githubtest.GateReview{Run: 61, EnvironmentName: "staging", State: "rejected", Comment: "Countersign R2 refused: web-staging is locked by @U0SRE1|freeze for the migration"},
		githubtest.GateReview{Run: 62, EnvironmentName: "sandbox", State: "rejected", Comment: "Countersign R3 refused: no policy"},
	)
	// R1 is the lock; the typed deploy made no request.
	if v := f.request("R1"); v.Action.Kind != cs.ActionLock || v.State != cs.StateSucceeded {
		t.Errorf("R1 = %s %s, want the lock, succeeded", v.Action.Kind, v.State)
	}
	if _, _, err := f.bot.RequestDetail(ctx, "R4"); err == nil {
		t.Error("a fourth request was made: the typed deploy of a gate must be refused")
	}
}

// TestGate_AnswerResumedAtStart: a gate request that closed while its
// answer could not be queued (here: no GitHub client) is answered at the
// next start, once; a later start sends nothing more, nor for an answer
// GitHub refused for good.
func TestGate_AnswerResumedAtStart(t *testing.T) {
	f := newGateFlow(t)
	reporter := f.cfg.Reporter
	f.restart(func(c *bot.Config) { c.Reporter = nil })
	f.gh.WaitGate(gateRepo, 71, gateEnv)
	f.deliver(gateDelivery("d-1", gateEnv, 71, 71, gateSHA))
	f.deliver(gateDelivery("d-2", "staging", 72, 72, gateSHA)) // approved at once; GitHub will refuse it
	f.idle()
	f.bot.HandleDeny(context.Background(), bot.Caller{User: lead, Channel: "C0DEPLOYS"}, bot.ButtonValue("R1", f.request("R1").Fingerprint), "not today")
	f.idle()
	if n := len(f.gh.GateReviews()); n != 0 {
		t.Fatalf("answered without a client: %d", n)
	}
	f.restart(func(c *bot.Config) { c.Reporter = reporter })
	f.idle()
	f.wantReviews(githubtest.GateReview{Run: 71, EnvironmentName: gateEnv, State: "rejected", Comment: "Countersign R1 denied: denied by @U0LEAD: not today"})
	if ab := f.events(cs.EventOutboxAbandoned); len(ab) != 1 || ab[0]["_request"] != "R2" || ab[0]["_target"] != "web-staging" {
		t.Errorf("outbox.abandoned = %+v, want R2's answer", ab)
	}
	f.restart()
	f.idle()
	f.wantReviews(githubtest.GateReview{Run: 71, EnvironmentName: gateEnv, State: "rejected"})
	if n := len(f.events(cs.EventOutboxAbandoned)); n != 1 {
		t.Errorf("%d outbox.abandoned records after another start, want 1: a refused answer was sent again", n)
	}
}

// TestGate_DeploymentStatus: GitHub's deployment_status of a gate's
// deployment is recorded on its request, and its end said in the
// thread; a status of a deployment no gate request is for, or to an
// environment no gate names, is audited as ignored.
func TestGate_DeploymentStatus(t *testing.T) {
	f := newGateFlow(t)
	f.gh.WaitGate(gateRepo, 81, "staging")
	f.deliver(gateDelivery("d-1", "staging", 81, 81, gateSHA))
	f.idle()
	g := githubtest.Gate{Repo: gateRepo, Environment: "staging", Deployment: 81, Run: 81, SHA: gateSHA}
	other := g
	other.Deployment = 82
	elsewhere := g
	elsewhere.Environment = "app"
	bad := githubtest.GateStatusDelivery("s-6", g, "success", "")
	bad.Body = bytes.Replace(bad.Body, []byte(`"state":"success"`), []byte(`"state":""`), 1)
	for _, tc := range []struct {
		d    githubtest.Delivery
		code int
		want string
	}{
		{githubtest.GateStatusDelivery("s-1", g, "in_progress", ""), 200, "ok: in_progress of web-staging recorded on R1"},
		{githubtest.GateStatusDelivery("s-2", g, "success", "deployed 8f2b4c6"), 200, "ok: success of web-staging recorded on R1"},
		{githubtest.GateStatusDelivery("s-2", g, "success", "deployed 8f2b4c6"), 200, "duplicate delivery"},
		{githubtest.GateStatusDelivery("s-4", other, "success", ""), 200, `ignored: deployment 82 to "staging" of octo-org/web has no request`},
		{githubtest.GateStatusDelivery("s-5", elsewhere, "success", ""), 200, `ignored: no gate for environment "app" of octo-org/web`},
		{bad, 400, "ignored: malformed payload"},
	} {
		if code, body := f.deliver(tc.d); code != tc.code || body != tc.want {
			t.Errorf("delivery %s answered %d %q, want %d %q", tc.d.ID, code, body, tc.code, tc.want)
		}
	}
	f.idle()
	var states []string
	for _, e := range f.events(cs.EventWebhookReceived) {
		if e["event"] == "deployment_status" && e["_request"] == "R1" {
			states = append(states, e["state"].(string))
		}
	}
	if strings.Join(states, " ") != "in_progress success" {
		t.Errorf("statuses recorded on R1: %q", states)
	}
	var said []string
	for _, text := range f.chat.PostTexts() {
		if strings.Contains(text, "GitHub reports") {
			said = append(said, text)
		}
	}
	if len(said) != 1 || said[0] != "✅ GitHub reports the deployment of R1 (staging): success: deployed 8f2b4c6" {
		t.Errorf("the thread heard %q", said)
	}
}

// TestGate_Reload: gates are part of the rules a reload swaps: a gate
// removed by a reload (stricter: applied at once) no longer takes its
// environment's deliveries.
func TestGate_Reload(t *testing.T) {
	f := newGateFlow(t)
	next := &bot.Rules{Policy: f.cfg.Policy, Identities: f.cfg.Identities, Gates: f.cfg.Gates[:2], Hash: "next (test)", Path: "test.yaml",
		Text: []byte("next (test)")}
	out, err := f.bot.Reload(context.Background(), next, sre1, nil)
	if err != nil || !out.Applied {
		t.Fatalf("reload: %+v, %v", out, err)
	}
	if len(out.Diff.Changes) != 1 || out.Diff.Changes[0].Path != "gates.web-sandbox" || out.Diff.Changes[0].Direction != policies.Stricter {
		t.Errorf("changes = %+v", out.Diff.Changes)
	}
	if code, body := f.deliver(gateDelivery("d-1", "sandbox", 91, 91, gateSHA)); code != http.StatusOK || body != `ignored: no gate for environment "sandbox" of octo-org/web` {
		t.Errorf("delivery for the removed gate answered %d %q", code, body)
	}
	if code, body := f.deliver(gateDelivery("d-2", "staging", 92, 92, gateSHA)); body != "ok: R1 for gate web-staging" {
		t.Errorf("delivery for a kept gate answered %d %q", code, body)
	}
}
