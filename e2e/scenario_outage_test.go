package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github/githubtest"
	"github.com/countersign/countersign/bot/slack/slacktest"
)

// Timings of the outage scenario.
const (
	// ogOutage is how long Slack and GitHub stay down, from the moment
	// both are switched off: the minute of the issue.
	ogOutage = time.Minute
	// ogRecovery bounds how long after both are back every message and
	// status may take to reach its final state: the outbox's retry delay
	// grows 1 s → 30 s, so up to about 30 s of it is the bot still
	// waiting before its next try.
	ogRecovery = time.Minute
)

// TestE2E_SlackAndGitHubOutage is a minute without Slack and GitHub in
// the middle of a deploy. A push asks for approval in Slack; then both
// fakes answer every call 503. The approval click still arrives (in HTTP
// mode it is a request to the bot, not a call of the bot's), the deploy
// runs and the Swarm service converges meanwhile, and /healthz answers
// 200 throughout. When both are back, within a bounded time the request
// message ends succeeded without buttons, the progress reply exists
// once, nothing was posted twice, GitHub's commit status and deployment
// end in success (one deployment), and the audit trail verifies.
func TestE2E_SlackAndGitHubOutage(t *testing.T) {
	// Parallel with the other scenarios that wait more than they work
	// (the outage's minute, Slack's pacing): CI time, not a dependency.
	t.Parallel()
	requireDocker(t)
	lap := laps(t)
	t.Log(swarmManager(t))
	lap("swarm ready")

	const (
		repo    = "e2e-org/outage"
		branch  = "live"
		author  = "carol-e2e" // GitHub login of the commit's author
		authorU = "U0E2EOGAU" // her Slack user
		opsU    = "U0E2EOGOP" // the approver
		service = "web"
	)
	reg := startRegistry(t)
	image := reg + "/e2e/outage"
	initial := pushWorkload(t, image, "v0")
	sha := randomHex(t, 20)
	// build: wait, tag {{.SHA}}: the commit's image is in the registry
	// before the push, so that no build spends the scenario's time.
	built := pushWorkload(t, image, sha)
	swarmName := fmt.Sprintf("%s%d-outage", runPrefix, time.Now().UnixNano())
	createSwarmService(t, swarmName, initial, 1)
	lap("registry and service")

	s := newServe(t, serveOptions{
		Config: func(servePeers) string {
			return fmt.Sprintf(`
engines:
  local: {host: "unix:///var/run/docker.sock"}
services:
  - name: %s
    kind: swarm
    repo: %s
    branch: %s
    channel: %s
    image: %s
    build: {mode: wait, timeout: 1m}
    engine: local
    swarm_service: %s
groups:
  ops: [%s]
identities:
  github: {%s: %s}
policies:
  - name: production
    actions: [deploy]
    targets: [%s]
    request: [push]
    approve: [{group: ops, count: 1}]
    expires: 1h
`, service, repo, branch, e2eChannel, image, swarmName, opsU, author, authorU, service)
		},
	})
	lap("countersign serve healthy")

	if a := s.Push(repo, branch, sha, author); a.Status != http.StatusOK {
		t.Fatalf("push: %s, want 200", a)
	}
	card := s.WaitMessage(t, hasButton(bot.ButtonApprove), 30*time.Second)
	value := buttonValue(card, bot.ButtonApprove)
	rid, _, err := bot.ParseButtonValue(value)
	if err != nil {
		t.Fatalf("Approve button: %v", err)
	}
	// The outage starts once GitHub has heard that the commit waits for
	// approval: what follows is what the outage holds back.
	ogWaitStatus(t, s.GitHub, repo, sha, "countersign/"+service, "pending", "waiting for approval", 15*time.Second)
	lap("approval asked")

	// Both down. From here on the fakes answer every call 503.
	s.Slack.Down()
	s.GitHub.Down()
	down := time.Now()
	ghBefore := len(s.GitHub.Requests())
	stopHealth := sync.OnceValue(ogPollHealth(s, 250*time.Millisecond))
	t.Cleanup(func() { stopHealth() })

	clickAt := time.Now()
	if a := s.Click(opsU, bot.ButtonApprove, value); a.Status != http.StatusOK {
		t.Fatalf("approval click with Slack down: %s, want 200", a)
	}
	if ack := time.Since(clickAt); ack > 3*time.Second {
		t.Errorf("the click was acknowledged after %s, want within Slack's 3 s", ack)
	}
	lap("approved (Slack, GitHub down)")

	// The peer is the judge: the deploy ran while nothing could be said.
	st := waitConverged(t, swarmName, built, 1, 90*time.Second)
	for _, task := range st.Tasks {
		if task.Container == "" || !slices.Contains(containerDigests(t, task.Container), built) {
			t.Errorf("task %s (container %q) does not run %s", task.ID, task.Container, built)
		}
	}
	s.WaitAudit(func(r auditRecord) bool { return r.Kind == "execution.succeeded" && r.Request == string(rid) }, 30*time.Second)
	lap("converged (Slack, GitHub down)")

	// The outage was real: the bot tried both, and neither took anything.
	var slackFailed, slackOK int
	for _, c := range s.Slack.Calls() {
		if !c.At.Before(down) {
			if c.OK {
				slackOK++
			} else {
				slackFailed++
			}
		}
	}
	ghFailed, ghOK := 0, 0
	for _, r := range s.GitHub.Requests()[ghBefore:] {
		if r.Status == http.StatusServiceUnavailable {
			ghFailed++
		} else {
			ghOK++
		}
	}
	t.Logf("during the outage so far: Slack %d failed calls, %d ok; GitHub %d failed requests, %d answered", slackFailed, slackOK, ghFailed, ghOK)
	if slackFailed == 0 || ghFailed == 0 {
		t.Errorf("the bot made %d Slack calls and %d GitHub requests during the outage, want some of each (retried)", slackFailed, ghFailed)
	}
	if slackOK != 0 || ghOK != 0 {
		t.Errorf("during the outage %d Slack calls and %d GitHub requests succeeded, want none", slackOK, ghOK)
	}

	// Keep them down for the minute.
	time.Sleep(time.Until(down.Add(ogOutage)))
	s.Slack.Up()
	s.GitHub.Up()
	up := time.Now()
	lap("outage over")

	// Every message and status reaches its final state.
	final := ogWaitFinal(t, s, card, string(rid), repo, sha, "countersign/"+service, up, ogRecovery)
	t.Logf("final state %.1fs after Slack and GitHub were back", time.Since(up).Seconds())
	lap("final state reached")

	h := stopHealth()
	t.Logf("/healthz: %d polls, %d said Slack not connected", h.Polls, h.NotConnected)
	if len(h.Bad) > 0 {
		t.Errorf("/healthz did not answer 200 %d times: %s", len(h.Bad), strings.Join(h.Bad[:min(len(h.Bad), 5)], "; "))
	}
	if h.Polls < int(ogOutage/time.Second) {
		t.Errorf("/healthz was polled %d times, want once a second at least through the outage", h.Polls)
	}
	if h.NotConnected == 0 {
		t.Errorf("/healthz never said Slack was not connected during the outage")
	}
	if body := ogHealthz(t, s); !strings.Contains(body, "slack: connected") {
		t.Errorf("/healthz after the outage: %q, want slack: connected", body)
	}

	// Nothing posted twice: every successful chat.postMessage of a
	// thread says something else, and the progress reply is one.
	ogCheckNoDuplicates(t, s.Slack, final)
	t.Logf("the approver was shown %q", s.Replies(opsU))
	ogCheckGitHubOnce(t, s.GitHub, repo, sha)

	// The outbox retried and gave nothing up: a 503 is not a refusal.
	retries, dropped := ogOutboxLog(s.Log())
	t.Logf("the bot's log: %d outbox retries by lane %v, %d entries dropped", ogSum(retries), retries, len(dropped))
	if len(dropped) > 0 {
		t.Errorf("the outbox dropped entries during the outage: %s", strings.Join(dropped, "\n"))
	}

	count, head := s.AuditVerify()
	recs := s.Audit()
	if count != len(recs) || recs[len(recs)-1].Hash != head {
		t.Errorf("audit verify: %d records, head %s; export: %d records, last %s", count, head, len(recs), recs[len(recs)-1].Hash)
	}
	kinds := map[string]int{}
	for _, r := range recs {
		if r.Request == string(rid) {
			kinds[r.Kind]++
		}
	}
	for _, k := range []string{"approval.granted", "execution.started", "execution.succeeded"} {
		if kinds[k] != 1 {
			t.Errorf("%d %s records for %s, want exactly one", kinds[k], k, rid)
		}
	}
	lap("checked; audit verified")
}

// ogWaitStatus waits for a commit status statusContext of sha in state
// with a description containing desc; after timeout it fails t.
func ogWaitStatus(t *testing.T, gh *githubtest.Server, repo, sha, statusContext, state, desc string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var got []string
		for _, st := range gh.Statuses() {
			if st.Repo == repo && st.SHA == sha && st.Context == statusContext {
				if st.State == state && strings.Contains(st.Description, desc) {
					return
				}
				got = append(got, st.State+" ("+st.Description+")")
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no commit status %s %q after %s; got %q", state, desc, timeout, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ogHealthReport is what ogPollHealth saw.
type ogHealthReport struct {
	Polls, NotConnected int
	Bad                 []string // failures and answers other than 200, with their time
}

// ogPollHealth polls /healthz every interval on a goroutine of its own
// until the returned function is called, which stops it, waits for it
// and returns what it saw.
func ogPollHealth(s *serveRun, interval time.Duration) func() ogHealthReport {
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Timeout: 2 * time.Second}
	var (
		wg  sync.WaitGroup
		rep ogHealthReport
	)
	start := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/healthz", nil)
			resp, err := client.Do(req)
			if ctx.Err() != nil {
				return
			}
			rep.Polls++
			at := time.Since(start).Round(100 * time.Millisecond)
			switch {
			case err != nil:
				rep.Bad = append(rep.Bad, fmt.Sprintf("+%s: %v", at, err))
			default:
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					rep.Bad = append(rep.Bad, fmt.Sprintf("+%s: %d %q", at, resp.StatusCode, body))
				}
				if strings.Contains(string(body), "not connected") {
					rep.NotConnected++
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() ogHealthReport {
		cancel()
		wg.Wait()
		return rep
	}
}

// ogHealthz returns the body of one GET /healthz, failing t unless it
// answers 200.
func ogHealthz(t *testing.T, s *serveRun) string {
	t.Helper()
	resp, err := http.Get(s.URL() + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d %q, want 200", resp.StatusCode, body)
	}
	return string(body)
}

// ogFinal is the thread as it ended.
type ogFinal struct {
	Request  string
	Card     slacktest.Message   // the request message
	Progress slacktest.Message   // the one progress reply
	Thread   []slacktest.Message // the messages of the card's thread, its parent included
}

// ogWaitFinal waits until the request message (card, by its ts) says
// rid succeeded and has no buttons, edited by a chat.update that Slack
// took at or after since; its thread holds exactly one progress reply;
// the push's parent message says succeeded; and GitHub has the commit
// status statusContext ending in success and a deployment of sha whose
// statuses end in success. After timeout it fails t with what is
// missing and the thread.
func ogWaitFinal(t *testing.T, s *serveRun, card slacktest.Message, rid, repo, sha, statusContext string, since time.Time, timeout time.Duration) ogFinal {
	t.Helper()
	deadline := time.Now().Add(timeout)
	thread := card.ThreadTS
	if thread == "" {
		thread = card.TS
	}
	for {
		var missing []string
		f := ogFinal{Request: rid}
		m, ok := s.Slack.Message(card.Channel, card.TS)
		f.Card = m
		switch {
		case !ok:
			missing = append(missing, "the request message is gone")
		case !strings.HasPrefix(m.Text, rid+" ·") || !strings.Contains(ogFirstLine(m.Text), "succeeded"):
			missing = append(missing, fmt.Sprintf("request message says %q", ogFirstLine(m.Text)))
		case len(buttonsOf(m)) != 0:
			missing = append(missing, fmt.Sprintf("request message has buttons %+v", buttonsOf(m)))
		}
		updated := false
		for _, c := range s.Slack.Calls() {
			if c.Method == "chat.update" && c.OK && c.Form.Get("ts") == card.TS && c.Form.Get("channel") == card.Channel && !c.At.Before(since) {
				updated = true
			}
		}
		if !updated {
			missing = append(missing, "no chat.update of the request message")
		}
		var progress []slacktest.Message
		parentDone := false
		for _, msg := range s.Slack.Messages(card.Channel) {
			if msg.TS != thread && msg.ThreadTS != thread {
				continue
			}
			f.Thread = append(f.Thread, msg)
			if strings.HasPrefix(msg.Text, rid+" progress:") {
				progress = append(progress, msg)
			}
			if msg.TS == thread && msg.TS != card.TS && strings.Contains(msg.Text, rid+" succeeded") {
				parentDone = true
			}
		}
		if len(progress) != 1 {
			missing = append(missing, fmt.Sprintf("%d progress replies", len(progress)))
		} else {
			f.Progress = progress[0]
		}
		if thread != card.TS && !parentDone {
			missing = append(missing, "the push's parent message does not say succeeded")
		}
		if gh := ogGitHubFinal(s.GitHub, repo, sha, statusContext); gh != "" {
			missing = append(missing, gh)
		}
		if len(missing) == 0 {
			return f
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, msg := range f.Thread {
				fmt.Fprintf(&b, "  [%s thread %q, %d updates] %s\n", msg.TS, msg.ThreadTS, msg.Updates, msg.Text)
			}
			t.Fatalf("%s after Slack and GitHub were back: %s\nthe thread:\n%s", timeout, strings.Join(missing, "; "), b.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ogFirstLine returns text up to its first newline.
func ogFirstLine(text string) string {
	line, _, _ := strings.Cut(text, "\n")
	return line
}

// ogGitHubFinal returns what GitHub still lacks of the final state: the
// commit status statusContext of sha ending in success, and a deployment
// of sha whose statuses end in success; "" when it has it all.
func ogGitHubFinal(gh *githubtest.Server, repo, sha, statusContext string) string {
	var states []string
	for _, st := range gh.Statuses() {
		if st.Repo == repo && st.SHA == sha && st.Context == statusContext {
			states = append(states, st.State)
		}
	}
	var ids []int64
	for _, d := range gh.Deployments() {
		if d.Repo == repo && d.Ref == sha {
			ids = append(ids, d.ID)
		}
	}
	var dstates []string
	for _, ds := range gh.DeploymentStatuses() {
		if slices.Contains(ids, ds.DeploymentID) {
			dstates = append(dstates, ds.State)
		}
	}
	var missing []string
	if len(states) == 0 || states[len(states)-1] != "success" {
		missing = append(missing, fmt.Sprintf("commit statuses %q", states))
	}
	if len(ids) == 0 || len(dstates) == 0 || dstates[len(dstates)-1] != "success" {
		missing = append(missing, fmt.Sprintf("%d deployments, statuses %q", len(ids), dstates))
	}
	return strings.Join(missing, "; ")
}

// ogCheckNoDuplicates fails t if Slack took two chat.postMessage calls
// with the same text in the same thread (or at the top of the same
// channel), or more than one progress reply, and logs the thread.
func ogCheckNoDuplicates(t *testing.T, sl *slacktest.Server, f ogFinal) {
	t.Helper()
	type where struct{ channel, thread string }
	posts := map[where][]string{}
	for _, c := range sl.Calls() {
		if c.Method == "chat.postMessage" && c.OK {
			w := where{c.Form.Get("channel"), c.Form.Get("thread_ts")}
			posts[w] = append(posts[w], c.Form.Get("text"))
		}
	}
	for w, texts := range posts {
		seen := map[string]int{}
		for _, text := range texts {
			if seen[text]++; seen[text] == 2 {
				t.Errorf("posted twice in %s (thread %q): %q", w.channel, w.thread, ogFirstLine(text))
			}
		}
	}
	progress := 0
	for _, texts := range posts {
		for _, text := range texts {
			if strings.HasPrefix(text, f.Request+" progress:") {
				progress++
			}
		}
	}
	if progress != 1 {
		t.Errorf("%d progress replies posted, want one", progress)
	}
	// The thread tells the story in order, the outcome once and last.
	var outcomes []int
	progressAt := -1
	for i, m := range f.Thread {
		t.Logf("  [%s thread %q, %d updates] %s", m.TS, m.ThreadTS, m.Updates, ogFirstLine(m.Text))
		if strings.HasPrefix(m.Text, "✅ "+f.Request+" succeeded") {
			outcomes = append(outcomes, i)
		}
		if m.TS == f.Progress.TS {
			progressAt = i
		}
	}
	if len(outcomes) != 1 || outcomes[0] != len(f.Thread)-1 || outcomes[0] < progressAt {
		t.Errorf("outcome replies at %v of %d thread messages (progress at %d), want one, last", outcomes, len(f.Thread), progressAt)
	}
	t.Logf("the progress reply (%d updates): %q", f.Progress.Updates, f.Progress.Text)
	if !strings.Contains(f.Progress.Text, "\n• ") {
		t.Errorf("the progress reply shows no step: %q", f.Progress.Text)
	}
}

// ogCheckGitHubOnce fails t unless GitHub got one deployment of sha,
// each deployment status state once, and no commit status twice.
func ogCheckGitHubOnce(t *testing.T, gh *githubtest.Server, repo, sha string) {
	t.Helper()
	var described []string
	seen := map[string]bool{}
	for _, st := range gh.Statuses() {
		if st.Repo != repo || st.SHA != sha {
			continue
		}
		key := st.Context + " " + st.State + " " + st.Description
		if seen[key] {
			t.Errorf("commit status reported twice: %s", key)
		}
		seen[key] = true
		described = append(described, fmt.Sprintf("%s (%s)", st.State, st.Description))
	}
	var ids []int64
	for _, d := range gh.Deployments() {
		if d.Repo == repo && d.Ref == sha {
			ids = append(ids, d.ID)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d deployments of %s, want one", len(ids), sha[:7])
	}
	var dstates []string
	dseen := map[string]bool{}
	for _, ds := range gh.DeploymentStatuses() {
		if ds.DeploymentID != ids[0] {
			continue
		}
		if dseen[ds.State] {
			t.Errorf("deployment status %s reported twice", ds.State)
		}
		dseen[ds.State] = true
		dstates = append(dstates, ds.State)
	}
	t.Logf("GitHub: statuses %s; deployment %d: %s", strings.Join(described, " → "), ids[0], strings.Join(dstates, " → "))
}

// ogOutboxLog reads the bot's JSON log for the outbox's retries (by
// lane) and the entries it dropped as refused for good.
func ogOutboxLog(log string) (retries map[string]int, dropped []string) {
	retries = map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		var rec struct {
			Msg, Lane, Op, ID, Err string
		}
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		switch rec.Msg {
		case "outbox call failed; will retry":
			lane := rec.Lane
			if lane == "" {
				lane = "chat"
			}
			retries[lane]++
		case "outbox entry refused; dropped":
			dropped = append(dropped, fmt.Sprintf("%s %s: %s", rec.Op, rec.ID, rec.Err))
		}
	}
	return retries, dropped
}

func ogSum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
