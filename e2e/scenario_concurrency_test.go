package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
)

// The load of TestE2E_ConcurrentDeliveriesAndClicks.
const (
	// ccFollowed services follow branch live of their own repository:
	// one push each, each delivered twice.
	ccFollowed = 3
	// ccIgnored pushes go to branches nobody follows, each delivered
	// twice: with the followed ones, 2*(ccFollowed+ccIgnored) = 200
	// deliveries at once.
	ccIgnored = 97
	// ccClickers click Approve at once, ccApprovers of them in ops.
	ccClickers  = 200
	ccApprovers = 5
	// ccSlackAck is Slack's limit for acknowledging an interaction.
	ccSlackAck = 3 * time.Second
)

// TestE2E_ConcurrentDeliveriesAndClicks sends 200 signed GitHub
// deliveries at once — 100 distinct pushes, each also redelivered with
// the same X-GitHub-Delivery at the same moment; 97 to branches nobody
// follows, 3 to the followed branch of three Swarm services — and then
// has 200 users click Approve on one request at the same moment, 5 of
// them in the approver group. Every delivery is answered 2xx (a 503 is
// retried, as GitHub would); each delivery ID is audited exactly once
// and answered once as new and once as a duplicate; the three pushes get
// one thread and one request each. Of the clicks exactly one approval
// counts, the other 199 are refused and audited as approval.refused,
// every click is acknowledged within Slack's 3 s, and the request runs
// once: one execution.started and one rollout on the engine. The other
// two requests are left waiting, and nothing changed their services.
func TestE2E_ConcurrentDeliveriesAndClicks(t *testing.T) {
	requireDocker(t)
	lap := laps(t)
	t.Log(swarmManager(t))

	reg := startRegistry(t)
	stamp := time.Now().UnixNano()
	type followed struct {
		name, repo, sha, image, initial, built, swarm, channel string
	}
	var svcs []followed
	for i := range ccFollowed {
		// A channel each: the bot paces posts per channel.
		f := followed{name: fmt.Sprintf("svc%d", i), sha: randomHex(t, 20), channel: fmt.Sprintf("C0E2ECC%d", i)}
		f.repo, f.image = "e2e-org/"+f.name, reg+"/e2e/"+f.name
		f.initial = pushWorkload(t, f.image, "v0")
		f.built = pushWorkload(t, f.image, f.sha) // build: wait finds image:SHA
		f.swarm = fmt.Sprintf("%s%d-cc-%s", runPrefix, stamp, f.name)
		svcs = append(svcs, f)
	}
	createSwarmService(t, svcs[0].swarm, svcs[0].initial, 1) // the one that deploys
	for _, f := range svcs[1:] {
		ccCreateIdleService(t, f.swarm, f.initial) // only read by the bot
	}
	for _, f := range svcs[1:] {
		waitConverged(t, f.swarm, f.initial, 1, time.Minute)
	}
	lap("registry and services")

	var ops, users []string
	for i := range ccClickers {
		u := fmt.Sprintf("U0CCUSR%03d", i)
		if i < ccApprovers {
			u = fmt.Sprintf("U0CCOPS%03d", i)
			ops = append(ops, u)
		}
		users = append(users, u)
	}
	s := newServe(t, serveOptions{Config: func(servePeers) string {
		var b strings.Builder
		b.WriteString("engines:\n  local: {host: \"unix:///var/run/docker.sock\"}\nservices:\n")
		var names []string
		for _, f := range svcs {
			fmt.Fprintf(&b, `  - name: %s
    kind: swarm
    repo: %s
    branch: live
    channel: %s
    image: %s
    build: {mode: wait, timeout: 1m}
    engine: local
    swarm_service: %s
`, f.name, f.repo, f.channel, f.image, f.swarm)
			names = append(names, f.name)
		}
		fmt.Fprintf(&b, `groups:
  ops: [%s]
policies:
  - name: production
    actions: [deploy]
    targets: [%s]
    request: [push]
    approve: [{group: ops, count: 1}]
    expires: 1h
`, strings.Join(ops, ", "), strings.Join(names, ", "))
		return b.String()
	}})
	lap("countersign serve healthy")

	// 100 distinct deliveries, each sent twice at the same moment.
	var ds []ccDelivery
	for i, f := range svcs {
		ds = append(ds, ccDelivery{id: fmt.Sprintf("cc-followed-%d-%d", stamp, i), service: f.name,
			body: pushBody(t, pushEvent{Repo: f.repo, Branch: "live", SHA: f.sha, Author: "cc-author"})})
	}
	for i := range ccIgnored {
		repo := svcs[i%ccFollowed].repo // a followed repository, another branch
		if i%2 == 1 {
			repo = "e2e-org/nobody-follows"
		}
		ds = append(ds, ccDelivery{id: fmt.Sprintf("cc-ignored-%d-%d", stamp, i),
			body: pushBody(t, pushEvent{Repo: repo, Branch: fmt.Sprintf("feature-%d", i), SHA: randomHex(t, 20), Author: "cc-author"})})
	}
	type result struct {
		id      string
		final   answer
		retries int
		took    time.Duration
	}
	results := make([]result, 2*len(ds))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range results {
		d := ds[i/2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			began := time.Now()
			res := result{id: d.id}
			for {
				res.final = s.DeliverOnce("push", d.id, d.body)
				// 503: the bot could not record it and says try again;
				// GitHub would (deduplication makes that safe).
				if res.final.Err != nil || res.final.Status != http.StatusServiceUnavailable || res.retries == 20 {
					break
				}
				res.retries++
				time.Sleep(100 * time.Millisecond)
			}
			res.took = time.Since(began)
			results[i] = res
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d deliveries answered in %.2fs (slowest %s)", len(results), time.Since(began).Seconds(), ccSlowest(results, func(r result) time.Duration { return r.took }))
	lap("200 deliveries")

	byID := map[string][]answer{}
	retries := 0
	for _, r := range results {
		if r.final.Err != nil || r.final.Status < 200 || r.final.Status > 299 {
			t.Errorf("delivery %s: %s after %d retries, want 2xx", r.id, r.final, r.retries)
		}
		byID[r.id] = append(byID[r.id], r.final)
		retries += r.retries
	}
	if retries > 0 {
		t.Logf("%d answers were 503 and retried", retries)
	}
	for _, d := range ds {
		var fresh, dup []string
		for _, a := range byID[d.id] {
			if strings.TrimSpace(a.Body) == "duplicate delivery" {
				dup = append(dup, a.Body)
			} else {
				fresh = append(fresh, strings.TrimSpace(a.Body))
			}
		}
		want := "ignored: no service follows"
		if d.service != "" {
			want = "ok: deploy threads for " + d.service
		}
		if len(fresh) != 1 || len(dup) != 1 || !strings.HasPrefix(fresh[0], want) {
			t.Errorf("delivery %s answered %q as new and %d times as a duplicate; want once %q…, once a duplicate", d.id, fresh, len(dup), want)
		}
	}

	// Each delivery ID is in the trail once.
	recs := s.Audit()
	received := map[string][]auditRecord{}
	for _, r := range recs {
		if r.Kind != "webhook.received" {
			continue
		}
		var det struct {
			Delivery string   `json:"delivery"`
			Ignored  string   `json:"ignored"`
			Services []string `json:"services"`
		}
		if err := json.Unmarshal(r.Detail, &det); err != nil {
			t.Fatalf("webhook.received %d: %v", r.Seq, err)
		}
		received[det.Delivery] = append(received[det.Delivery], r)
		if d := ccFind(ds, det.Delivery); d != nil {
			if d.service == "" && det.Ignored == "" || d.service != "" && !slices.Equal(det.Services, []string{d.service}) {
				t.Errorf("webhook.received for %s: ignored %q, services %q; want the delivery's", det.Delivery, det.Ignored, det.Services)
			}
		}
	}
	if len(received) != len(ds) {
		t.Errorf("webhook.received for %d delivery IDs, want %d", len(received), len(ds))
	}
	for _, d := range ds {
		if n := len(received[d.id]); n != 1 {
			t.Errorf("%d webhook.received records for delivery %s, want 1", n, d.id)
		}
	}

	// One thread and one request per followed push.
	created := map[string]string{} // target → request
	ccWaitTrail(t, s, "a request per followed push", func(recs []auditRecord) bool {
		return ccCount(recs, "request.created") >= ccFollowed
	}, time.Minute)
	for _, r := range s.Audit() {
		if r.Kind == "request.created" {
			created[r.Target] = r.Request
		}
	}
	lap("deliveries checked; requests made")

	target := svcs[0]
	rid := created[target.name]
	card := s.WaitMessage(t, klCardOf(rid), 30*time.Second)
	var approve button
	for _, b := range buttonsOf(card) {
		if b.ActionID == bot.ButtonApprove {
			approve = b
		}
	}

	// 200 users click Approve at the same moment.
	type click struct {
		user string
		a    answer
		took time.Duration
	}
	// In random order, so that refusals of outsiders and of approvers
	// come before and after the one that counts.
	order := slices.Clone(users)
	rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	clicks := make([]click, len(order))
	start = make(chan struct{})
	for i, u := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			began := time.Now()
			a := s.ClickOn(card, approve, u)
			clicks[i] = click{user: u, a: a, took: time.Since(began)}
		}()
	}
	began = time.Now()
	close(start)
	wg.Wait()
	t.Logf("%d clicks acknowledged in %.2fs (slowest %s)", len(clicks), time.Since(began).Seconds(), ccSlowest(clicks, func(c click) time.Duration { return c.took }))
	for _, c := range clicks {
		if c.a.Err != nil || c.a.Status != http.StatusOK || c.took > ccSlackAck {
			t.Errorf("click of %s: %s in %s, want 200 within %s", c.user, c.a, c.took, ccSlackAck)
		}
	}
	lap("200 clicks")

	waitConverged(t, target.swarm, target.built, 1, time.Minute)
	s.WaitAudit(func(r auditRecord) bool { return r.Kind == "execution.succeeded" && r.Request == rid }, 30*time.Second)
	// Every click is decided (and audited) after its acknowledgement.
	ccWaitTrail(t, s, "every click decided", func(recs []auditRecord) bool {
		return klCount(recs)["approval.refused "+rid] >= ccClickers-1
	}, 30*time.Second)
	lap("executed; clicks audited")

	recs = s.Audit()
	var granted []string
	refused := map[string][]string{} // reason → actors
	var refusedBy []string
	for _, r := range recs {
		if r.Request != rid {
			continue
		}
		switch r.Kind {
		case "approval.granted":
			granted = append(granted, r.Actor)
		case "approval.refused":
			var det struct{ Reason string }
			if err := json.Unmarshal(r.Detail, &det); err != nil {
				t.Errorf("approval.refused %d: %v", r.Seq, err)
			}
			refused[det.Reason] = append(refused[det.Reason], r.Actor)
			refusedBy = append(refusedBy, r.Actor)
		}
	}
	if len(granted) != 1 || !slices.Contains(ops, granted[0]) {
		t.Errorf("approval.granted by %q, want exactly one, by a member of ops", granted)
	}
	sort.Strings(refusedBy)
	want := slices.DeleteFunc(slices.Clone(users), func(u string) bool { return len(granted) == 1 && u == granted[0] })
	sort.Strings(want)
	if !slices.Equal(refusedBy, want) {
		t.Errorf("%d approval.refused records (%d distinct users), want one for each of the %d other clickers", len(refusedBy), len(slices.Compact(slices.Clone(refusedBy))), len(want))
	}
	for reason, actors := range refused {
		t.Logf("approval.refused ×%d: %s", len(actors), reason)
	}
	// Each refused clicker is told why.
	ccWaitEphemerals(t, s, rid, want, 30*time.Second)

	n := klCount(recs)
	for _, c := range []struct {
		key  string
		want int
	}{
		{"execution.started " + rid, 1}, {"execution.succeeded " + rid, 1},
		{"request.created " + created[svcs[1].name], 1}, {"request.created " + created[svcs[2].name], 1},
		{"request.created " + rid, 1},
	} {
		if n[c.key] != c.want {
			t.Errorf("%d records %q, want %d", n[c.key], c.key, c.want)
		}
	}
	if started := ccCount(recs, "execution.started"); started != 1 {
		t.Errorf("%d execution.started records, want 1 (the others wait for approval)", started)
	}
	if n := len(created); n != ccFollowed {
		t.Errorf("requests for %d targets (%v), want %d", n, created, ccFollowed)
	}
	if n := ccCount(recs, "request.created"); n != ccFollowed {
		t.Errorf("%d request.created records, want %d: one per followed push", n, ccFollowed)
	}

	// One rollout on the engine; the others untouched.
	for slot, images := range klGenerations(t, target.swarm) {
		if !slices.Equal(images, []string{target.initial, target.built}) {
			t.Errorf("slot %d of %s ran %q, want the initial image then the built one, once each", slot, target.swarm, images)
		}
	}
	for _, f := range svcs[1:] {
		if st, err := swarmState(f.swarm); err != nil || st.Image != f.initial {
			t.Errorf("%s runs %q (%v), want still %s: its request waits for approval", f.swarm, st.Image, err, f.initial)
		}
	}
	// One thread per followed push, in its service's channel.
	for _, f := range svcs {
		var parents []string
		for _, m := range s.Slack.Messages(f.channel) {
			if m.ThreadTS == "" {
				parents = append(parents, m.Text)
			}
		}
		if len(parents) != 1 {
			t.Errorf("%d top-level messages in %s, want 1 (the push's thread): %q", len(parents), f.channel, parents)
		}
	}
	s.AuditVerify()
	lap("audit verified")
}

// ccCreateIdleService creates a one-task service running image, labelled
// e2eLabel like createSwarmService's, without waiting: the scenario
// waits for all of them at once. It removes the service at cleanup.
func ccCreateIdleService(t *testing.T, name, image string) {
	t.Helper()
	stamp := fmt.Sprint(time.Now().UnixNano())
	t.Cleanup(func() { removeSwarmService(t, name) })
	mustDocker(t, "service", "create", "--detach", "--no-resolve-image", "--name", name, "--replicas", "1",
		"--label", e2eLabel+"="+stamp, "--container-label", e2eLabel+"="+stamp, "--stop-grace-period", "1s", image)
}

// ccDelivery is one distinct GitHub delivery of the scenario.
type ccDelivery struct {
	id      string
	body    []byte
	service string // the service following the pushed branch; "" for none
}

// ccFind returns the delivery with id, or nil.
func ccFind(ds []ccDelivery, id string) *ccDelivery {
	for i := range ds {
		if ds[i].id == id {
			return &ds[i]
		}
	}
	return nil
}

// ccWaitEphemerals waits until each of users was shown an ephemeral
// message naming request rid; after timeout it fails t with how many
// were not.
func ccWaitEphemerals(t *testing.T, s *serveRun, rid string, users []string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		told := map[string]bool{}
		for _, e := range s.Slack.Ephemerals() {
			if strings.Contains(e.Text, rid) {
				told[e.User] = true
			}
		}
		for _, r := range s.Slack.Responses() {
			if u, _, _ := strings.Cut(r.ID, "#"); strings.Contains(r.Text, rid) {
				told[u] = true
			}
		}
		var missing []string
		for _, u := range users {
			if !told[u] {
				missing = append(missing, u)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("after %s, %d of %d refused clickers were not told why (%q…)", timeout, len(missing), len(users), missing[:min(len(missing), 5)])
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ccWaitTrail waits until pred holds for the whole trail; after timeout
// it fails t, saying what it waited for.
func ccWaitTrail(t *testing.T, s *serveRun, what string, pred func([]auditRecord) bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !pred(s.Audit()) {
		if time.Now().After(deadline) {
			t.Fatalf("the audit trail does not show %s after %s", what, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ccCount counts the records of kind.
func ccCount(recs []auditRecord, kind string) int {
	n := 0
	for _, r := range recs {
		if r.Kind == kind {
			n++
		}
	}
	return n
}

// ccSlowest returns the longest of f over xs.
func ccSlowest[X any](xs []X, f func(X) time.Duration) time.Duration {
	var max time.Duration
	for _, x := range xs {
		if d := f(x); d > max {
			max = d
		}
	}
	return max.Round(time.Millisecond)
}
