package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/web"
)

// contains fails for each want missing from body.
func contains(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
	if t.Failed() {
		t.Logf("%s:\n%s", what, body)
	}
}

func TestOverview_WhatRunsWhereAndWhatWaits(t *testing.T) {
	s := newSite(t)
	body := s.page("/", 200)
	contains(t, "/", body,
		`<a href="/services/www"><strong>www</strong></a>`, "swarm · engine prod",
		"reg/www@sha256:111111111111…", // what runs, short
		`<a href="https://github.com/mirage/mirage-www/commit/`+shaA+`">aaaaaaa</a>`,
		`by <a href="/requests/R1">R1</a> of github:mallory, approved by UOPS1`,
		"3/3 tasks running", // the executor's live answer
		"not readable here", // api's dry-run executor cannot tell
		"locked by UOPS1",   // api's lock, with its holder
		`<a href="/requests/R2">R2</a>`, "waiting for approval", "0 of 1 approval: ops 0/1",
		"expires <time datetime=\"2026-12-02T10:01:00Z\"",
		"example.org",
	)
}

// TestOverview_ShowsDrift: a service that runs other than the bot last
// carried out says so on the overview and on its own page.
func TestOverview_ShowsDrift(t *testing.T) {
	s := newSite(t)
	if err := s.bot.SweepDrift(s.ctx, ""); err != nil {
		t.Fatal(err)
	}
	if body := s.page("/", 200); strings.Contains(body, "drift") {
		t.Fatalf("a service that matches shows drift:\n%s", body)
	}
	s.swarm.runs = bot.Live{Image: "reg/www@" + digest('9'), Replicas: -1}
	s.clock.Advance(time.Minute)
	if err := s.bot.SweepDrift(s.ctx, ""); err != nil {
		t.Fatal(err)
	}
	want := []string{"⚠ drift</strong> since <time datetime=\"2026-12-02T09:02:00Z\"",
		`approved <code title="image reg/www@` + digest('1') + `">image reg/www@sha256:111111111111…</code>`,
		`runs <code title="image reg/www@` + digest('9') + `">image reg/www@sha256:999999999999…</code>`,
		"last seen matching <time datetime=\"2026-12-02T09:01:00Z\""}
	contains(t, "/", s.page("/", 200), want...)
	contains(t, "/services/www", s.page("/services/www", 200), append(want, "<dt>Drift</dt>")...)
}

// TestOverview_ShowsWhatNeverGotThrough: messages the outbox set aside
// are counted on the overview, with where to read why.
func TestOverview_ShowsWhatNeverGotThrough(t *testing.T) {
	s := newSite(t)
	if body := s.page("/", 200); strings.Contains(body, "set aside") {
		t.Fatalf("the overview shows entries set aside before any was:\n%s", body)
	}
	for range 2 {
		if err := s.db.Update(s.ctx, func(tx bot.Tx) error {
			o, err := tx.QueueOutgoing(bot.Outgoing{Op: bot.OpPost, Message: bot.Message{Channel: "CDEPLOY", Text: "hi"}})
			if err != nil {
				return err
			}
			return tx.SetAside(bot.Aside{Entry: o, Reason: bot.AsideRefused, Error: "msg_blocks_too_long", At: s.clock.Now()})
		}); err != nil {
			t.Fatal(err)
		}
	}
	contains(t, "/", s.page("/", 200), "2 Slack messages or GitHub reports never got through and were set aside, the last <time datetime=\""+s.clock.Now().UTC().Format(time.RFC3339),
		`<a href="/audit?kind=outbox.abandoned">`, "countersign outbox list")
}

func TestOverview_LiveStatusFailureIsShownNotFatal(t *testing.T) {
	s := newSite(t)
	s.swarm.err = errors.New("engine prod: connection refused")
	body := s.page("/", 200)
	contains(t, "/", body, "could not read: engine prod: connection refused")
}

func TestOverview_LiveStatusIsCached(t *testing.T) {
	s := newSite(t)
	s.page("/", 200)
	s.swarm.status = "1/3 tasks running"
	if body := s.page("/", 200); strings.Contains(body, "1/3 tasks") {
		t.Fatalf("the executor was asked again within 15 s")
	}
	s.clock.Advance(16 * time.Second)
	contains(t, "/ after 16 s", s.page("/", 200), "1/3 tasks running")
}

// TestOverview_ChangesShowAtOnce: the overview reuses the rows it
// rendered while their data is unchanged; a deployment, a lock, an unlock
// or a new live answer must still show on the very next read.
func TestOverview_ChangesShowAtOnce(t *testing.T) {
	s := newSite(t)
	before := s.page("/", 200)
	ran := func(c byte) string { return `<code title="reg/www@` + digest(c) + `">` } // the "Runs now" column
	contains(t, "/ before", before, `by <a href="/requests/R1">R1</a>`, ran('1'), "locked by UOPS1")
	s.say("UOPS1", "approve R2") // deploys reg/www@sha256:2222…
	after := s.page("/", 200)
	contains(t, "/ after R2 ran", after, `by <a href="/requests/R2">R2</a>`, ran('2'))
	if strings.Contains(after, ran('1')) {
		t.Errorf("the overview still shows what ran before R2:\n%s", after)
	}
	s.say("UOPS1", "unlock api")
	if body := s.page("/", 200); strings.Contains(body, "locked by") {
		t.Errorf("the overview still shows api's lock after the unlock:\n%s", body)
	}
	s.say("UOPS1", "lock www maintenance")
	contains(t, "/ after locking www", s.page("/", 200), "locked by UOPS1", "maintenance")
	s.swarm.status = "2/3 tasks running"
	s.clock.Advance(16 * time.Second)
	contains(t, "/ after a new live answer", s.page("/", 200), "2/3 tasks running")
}

// TestOverview_CannotTellIsCached: an executor that cannot say what runs
// is asked again only when an answer would be, not on every read (an
// estate of such services otherwise costs a call each per read).
func TestOverview_CannotTellIsCached(t *testing.T) {
	s := newSite(t)
	s.swarm.err = bot.ErrNoLiveStatus
	s.clock.Advance(16 * time.Second) // past what newSite's reads cached
	asked := s.swarm.asked.Load()
	contains(t, "/", s.page("/", 200), "not readable here")
	s.page("/", 200)
	if got := s.swarm.asked.Load() - asked; got != 1 {
		t.Errorf("two reads within 15 s asked the executor %d times, want 1", got)
	}
	s.swarm.err, s.swarm.status = nil, "3/3 tasks running"
	s.clock.Advance(16 * time.Second)
	contains(t, "/ after 16 s", s.page("/", 200), "3/3 tasks running")
}

func TestRequestPage_TheWholeTimeline(t *testing.T) {
	s := newSite(t)
	body := s.page("/requests/R1", 200)
	contains(t, "/requests/R1", body,
		`<span class="state ok">succeeded</span>`,
		"a push by github:mallory",
		"<code>reg/www@sha256:"+strings.Repeat("1", 64)+"</code>",
		"production <small>version",
		"1 of 1 approval: ops 1/1 (@UOPS1)",
		"DRY RUN: would set the image of Swarm service www_web", // the plan
		`<a href="https://team.slack.com/archives/CDEPLOY/p1700000000000001">the thread in Slack</a>`,
		`<a href="/audit/export?request=R1">JSON Lines</a>`,
	)
	var kinds []string
	for _, m := range regexp.MustCompile(`<a href="/audit\?kind=[^"]+">([a-z.]+)</a>`).FindAllStringSubmatch(body, -1) {
		kinds = append(kinds, m[1])
	}
	want := []string{"request.created", "approval.requested", "approval.granted", "execution.started", "execution.step", "execution.step", "execution.succeeded"}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("timeline kinds %v, want %v", kinds, want)
	}
}

func TestRequestPage_UnknownAndMalformedIDs(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct{ id, want string }{
		{"R99", "There is no request R99 (yet)."},
		{"R01", "request IDs are R followed by a number"},
		{"r1", "request IDs are R followed by a number"},
		{"R1x", "request IDs are R followed by a number"},
	} {
		contains(t, tc.id, s.page("/requests/"+tc.id, 404), tc.want)
	}
}

func TestServicePage_HistoryAndRollbackTarget(t *testing.T) {
	s := newSite(t)
	// R2 runs; then www has two deployments and a rollback target.
	s.clock.Advance(time.Minute)
	s.say("UOPS2", "approve R2")
	body := s.page("/services/www", 200)
	contains(t, "/services/www", body,
		"reg/www@sha256:222222222222…", // runs now
		"3/3 tasks running",
		`(deployment <a href="/requests/R1">R1</a>)`, // where rollback goes
		"mirage/mirage-www branch live",
		`<td data-label="Request"><a href="/requests/R2">R2</a></td>`,
		`<td data-label="Request"><a href="/requests/R1">R1</a></td>`,
		`<span class="ok">succeeded</span>`,
	)
	if i, j := strings.Index(body, `href="/requests/R2">R2</a></td>`), strings.Index(body, `href="/requests/R1">R1</a></td>`); i < 0 || j < 0 || i > j {
		t.Errorf("history is not newest first")
	}
	contains(t, "/services/api", s.page("/services/api", 200), "No deployment recorded.", "locked by UOPS1")
	contains(t, "/services/nope", s.page("/services/nope", 404), "There is no service nope")
}

func TestAuditPage_Filters(t *testing.T) {
	s := newSite(t)
	rows := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<td data-label="#">(\d+)</td>`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	all := rows(s.page("/audit", 200))
	if want := len(s.events("")); len(all) != want || all[0] != fmt.Sprint(want) || all[len(all)-1] != "1" {
		t.Fatalf("/audit rows %v: want all %d records, newest first", all, want)
	}
	for _, tc := range []struct {
		query string
		want  func(e cs.Event) bool
	}{
		{"target=api", func(e cs.Event) bool { return e.Target == "api" }},
		{"actor=UOPS1", func(e cs.Event) bool { return e.Actor == "UOPS1" }},
		{"kind=approval.granted", func(e cs.Event) bool { return e.Kind == cs.EventApprovalGranted }},
		{"request=R2", func(e cs.Event) bool { return e.Request == "R2" }},
		{"since=2026-12-02T09:01:00Z", func(e cs.Event) bool { return !e.Time.Before(time.Date(2026, 12, 2, 9, 1, 0, 0, time.UTC)) }},
		{"until=2026-12-02T09:01", func(e cs.Event) bool { return e.Time.Before(time.Date(2026, 12, 2, 9, 1, 0, 0, time.UTC)) }},
		{"target=www&kind=execution.step", func(e cs.Event) bool { return e.Target == "www" && e.Kind == cs.EventExecutionStep }},
		{"before=5", func(e cs.Event) bool { return e.Seq < 5 }},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got := rows(s.page("/audit?"+tc.query, 200))
			var want []string
			for _, e := range s.events("") {
				if tc.want(e) {
					want = append([]string{fmt.Sprint(e.Seq)}, want...)
				}
			}
			if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("rows %v, want %v", got, want)
			}
		})
	}
}

func TestAuditPage_KeepsTheFiltersInFormLinksAndExport(t *testing.T) {
	s := newSite(t)
	body := s.page("/audit?target=www&kind=execution.step&since=2026-12-02", 200)
	contains(t, "/audit filtered", body,
		`<input name="target" list="targets" value="www"`,
		`<option value="execution.step" selected>`,
		`<input name="since" value="2026-12-02"`,
		`<a href="/audit/export?kind=execution.step&amp;since=2026-12-02T00%3A00%3A00Z&amp;target=www">The same records as JSON Lines</a>`,
	)
}

func TestAuditPage_Paging(t *testing.T) {
	s := newSite(t)
	for i := 0; i < 15; i++ { // each lock and unlock writes several records
		s.say("UOPS1", "lock www maintenance "+fmt.Sprint(i))
		s.say("UOPS1", "unlock www")
	}
	total := len(s.events(""))
	if total <= 100 {
		t.Fatalf("only %d records: the test needs more than two pages", total)
	}
	seen := map[string]bool{}
	path, pages := "/audit", 0
	for path != "" {
		body := s.page(path, 200)
		pages++
		n := 0
		for _, m := range regexp.MustCompile(`<td data-label="#">(\d+)</td>`).FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Fatalf("record %s shown on two pages", m[1])
			}
			seen[m[1]] = true
			n++
		}
		if n > 50 {
			t.Fatalf("%s shows %d records, want 50 at most", path, n)
		}
		path = ""
		if m := regexp.MustCompile(`<a href="(/audit\?before=\d+)">Older →</a>`).FindStringSubmatch(body); m != nil {
			path = m[1]
		}
		if pages > 1 && !strings.Contains(body, `<a href="/audit">Newest</a>`) {
			t.Errorf("page %d has no link back to the newest", pages)
		}
	}
	if len(seen) != total {
		t.Fatalf("the pages showed %d of %d records", len(seen), total)
	}
}

func TestAuditPage_BadFiltersAreNamed(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct{ query, want string }{
		{"colour=red", `unknown filter &#34;colour&#34;`},
		{"kind=lock.smashed", `kind: &#34;lock.smashed&#34; is not a kind of audit record`},
		{"request=42", `request: want an ID like R42`},
		{"since=yesterday", `since: want a time like 2026-12-01T10:00:00Z`},
		{"until=2026-13-01", `until: want a time like`},
		{"before=-1", `before: want a record number`},
		{"before=0", `before: want a record number`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			body := s.page("/audit?"+tc.query, 400)
			contains(t, tc.query, body, tc.want)
			if strings.Contains(body, `<table class="events">`) {
				t.Errorf("a bad filter still lists records")
			}
		})
	}
}

func TestAuditPage_ChainStatusAndAnchor(t *testing.T) {
	s := newSite(t)
	total := len(s.events(""))
	head := s.events("")[total-1]
	want := fmt.Sprintf("The chain verifies: %d records", total)
	deadline := time.Now().Add(5 * time.Second)
	var body string
	for time.Now().Before(deadline) { // verification runs in the background
		if body = s.page("/audit", 200); strings.Contains(body, want) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	contains(t, "/audit", body, want, fmt.Sprintf(`<code id="anchor">%d:%s</code>`, head.Seq, head.Hash), `class="copy" data-copy="anchor"`)
}

// failingChain stands in for a store whose chain does not verify.
type failingChain struct{}

func (failingChain) VerifyAudit(context.Context) (uint64, string, error) {
	return 6, "", errors.New("verify audit: record 7 was changed")
}

func urlEscape(s string) string { return url.QueryEscape(s) }

func TestAuditPage_BrokenChainIsShouted(t *testing.T) {
	s := newSite(t, func(c *web.Config) { c.Chain = failingChain{} })
	var body string
	for i := 0; i < 250; i++ {
		if body = s.page("/audit", 200); strings.Contains(body, "does not verify") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	contains(t, "/audit", body, "✘ The chain does not verify", "record 7 was changed")
	contains(t, "/", s.page("/", 200), "The audit chain does not verify: verify audit: record 7 was changed")
}

func TestXSS_WhatPeopleWroteIsEscapedEverywhere(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/", "/requests/R1", "/requests/R3", "/services/api", "/audit", "/audit?target=api", "/audit?kind=lock.set"} {
		body := s.page(path, 200)
		for _, raw := range []string{"<script>alert", "<img", "onerror=alert(1)>"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s holds %q unescaped", path, raw)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert(") {
			t.Errorf("%s does not show the hostile text escaped", path)
		}
	}
	// Hostile filter values are escaped in the form and the problem.
	body := s.page("/audit?target="+urlEscape(hostile), 200)
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img") {
		t.Errorf("a hostile filter value comes back unescaped")
	}
	body = s.page("/audit?kind="+urlEscape(hostile), 400)
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img") {
		t.Errorf("a hostile kind comes back unescaped in the problem")
	}
}

func TestHeaders_StrictOnEveryResponse(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/", "/login", "/static/style.css", "/static/app.js", "/requests/R99", "/audit?colour=red"} {
		res, _ := s.get(path, "Authorization", "Bearer "+oncallToken)
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code", path)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, res.Header)
		}
	}
	res, _ := s.get("/static/style.css")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
		t.Errorf("style.css: %d %s, want 200 text/css without signing in", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestPages_NoStateChangingEndpoint(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/", "/requests/R2", "/services/www", "/audit"} {
		req, _ := http.NewRequest("POST", s.http.URL+path, strings.NewReader("approve=R2"))
		req.Header.Set("Authorization", "Bearer "+oncallToken)
		if res, _ := s.do(req); res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST %s = %d, want 405", path, res.StatusCode)
		}
	}
	if st := s.request("R2").State; st != cs.StatePending {
		t.Fatalf("R2 is %s after the POSTs, want still pending", st)
	}
}

func TestRequestPage_WhatChanged(t *testing.T) {
	s := newSite(t)
	body := s.page("/requests/R2", 200)
	contains(t, "/requests/R2", body,
		"<h2>What changed</h2>",
		"<p>2 new commits since aaaaaaa, which runs now</p>",
		`<li><a href="https://github.com/mirage/mirage-www/commit/`+shaC+`">ccccccc</a> &lt;script&gt;alert(`,
		"<small>github:mallory</small>",
		"second change <small>Eve Unmapped</small>",
	)
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img") {
		t.Errorf("a commit title comes unescaped:\n%s", body)
	}
	// R1 was the first deployment: nothing to compare with.
	contains(t, "/requests/R1", s.page("/requests/R1", 200),
		"<p>changes unknown: no successful deployment of www is recorded to compare with</p>")

	s.say("UOPS1", "approve R2")
	s.say("UDEV1", "deploy www "+shaA)
	if r := s.request("R4"); !r.Changes.Downgrade() {
		t.Fatalf("R4: %+v, want a downgrade", r.Changes)
	}
	contains(t, "/requests/R4", s.page("/requests/R4", 200),
		`<p class="bad">downgrade: aaaaaaa is 2 commits behind bbbbbbb, which runs now; deploying it takes them away</p>`)
}
