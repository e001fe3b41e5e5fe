package web_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/countersign/countersign/bot"

	cs "github.com/countersign/countersign"
)

// The browser test drives the pages in a real headless Chromium (Debian's
// chromium): it signs in through the form, reads the pages as a person
// would, and fails on any console error, uncaught exception or Content
// Security Policy violation.

var screenshot = flag.Bool("screenshot", false, "write web/testdata/overview.png")

// browserCSP is the policy the web package sets on every response
// (secure() in web.go). The sub-test that proves the collector catches
// violations serves its page with it; TestBrowser_SignInAndRead checks
// that the site still sends exactly this, so the two cannot drift apart.
const browserCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// browserViewport is the window the pages are read in, and the size of
// testdata/overview.png.
const browserViewport, browserViewportHeight = 1280, 900

// chromiumPath finds Debian's chromium. Without it the test is skipped,
// except in CI, which must have it (.ci/run installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI must run the browser test: .ci/run installs Debian's chromium")
	}
	t.Skip("chromium is not installed (apt-get install chromium): skipping the browser test")
	return ""
}

// startBrowser starts a headless Chromium for the test and returns its
// context; tabs are opened from it with openTab.
func startBrowser(t *testing.T, path string, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // the tests run as root, where Chromium's sandbox cannot start
		chromedp.WindowSize(browserViewport, browserViewportHeight),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	b, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(b); err != nil { // starts the browser
		t.Fatalf("start %s: %v", path, err)
	}
	return b
}

// openTab opens a tab whose every event, from its first, goes to p, with
// the log domain on (chromedp enables it too; asking again is harmless).
func openTab(t *testing.T, b context.Context, p *browserProblems) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b, chromedp.WithListener(p.listen))
	t.Cleanup(cancel)
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(browserViewport, browserViewportHeight)); err != nil {
		t.Fatalf("set the viewport: %v", err)
	}
	return ctx
}

// browserProblems collects what a person would see as the page being
// broken: console.error calls, uncaught exceptions, and browser log
// entries at level error (failed loads) or from the security source (CSP
// violations).
type browserProblems struct {
	mu   sync.Mutex
	list []string
}

// listen runs in chromedp's event loop: it must return fast and run no
// command.
func (p *browserProblems) listen(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var args []string
		for _, a := range ev.Args {
			if len(a.Value) > 0 {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		problem = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d == nil {
			return
		}
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		problem = fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text)
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		if e == nil || (e.Level != cdplog.EntryLevelError && e.Source != cdplog.EntrySourceSecurity) {
			return
		}
		if e.Source == cdplog.EntrySourceNetwork && strings.HasSuffix(e.URL, "/favicon.ico") && strings.Contains(e.Text, "404") {
			// Chromium asks every site for /favicon.ico on its own; the
			// pages link no icon, so that 404 is not a broken page. An
			// icon the pages do link, and that fails, is still caught.
			return
		}
		problem = fmt.Sprintf("log %s/%s: %s", e.Source, e.Level, e.Text)
		if e.URL != "" {
			problem += " (" + e.URL + ")"
		}
	default:
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, problem)
}

func (p *browserProblems) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

// check fails t with every problem seen so far.
func (p *browserProblems) check(t *testing.T) {
	t.Helper()
	if list := p.all(); len(list) > 0 {
		t.Errorf("the browser reported %d problem(s):\n  %s", len(list), strings.Join(list, "\n  "))
	}
}

// log shows the problems seen so far, as context for a failed step.
func (p *browserProblems) log(t *testing.T) {
	t.Helper()
	if list := p.all(); len(list) > 0 {
		t.Logf("the browser reported so far:\n  %s", strings.Join(list, "\n  "))
	}
}

// browserEval evaluates expr in the page; a failure ends the test, after
// logging the problems seen so far.
func browserEval[T any](t *testing.T, ctx context.Context, p *browserProblems, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		p.log(t)
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// browserDo runs steps; a failure ends the test, after logging the
// problems seen so far.
func browserDo(t *testing.T, ctx context.Context, p *browserProblems, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.log(t)
		t.Fatalf("%s: %v", what, err)
	}
}

// browserDoc is what every page is checked for.
type browserDoc struct {
	URL      string   `json:"url"`
	Text     string   `json:"text"`
	Scripts  []string `json:"scripts"`  // src of each <script>, or "inline: ..."
	Images   int      `json:"images"`   // <img> elements
	Handlers []string `json:"handlers"` // on* attributes, as "TAG onx"
	Times    []string `json:"times"`    // title of each <time>
	Overflow []string `json:"overflow"` // tables wider than their box
}

const browserDocJS = `(() => ({
  url: location.href,
  text: document.body.innerText,
  scripts: Array.from(document.querySelectorAll("script"), s => s.src || "inline: " + s.textContent.slice(0, 80)),
  images: document.querySelectorAll("img").length,
  handlers: Array.from(document.querySelectorAll("*")).flatMap(e =>
    Array.from(e.attributes).filter(a => a.name.startsWith("on")).map(a => e.tagName + " " + a.name)),
  times: Array.from(document.querySelectorAll("time[datetime]"), t => t.title),
  overflow: Array.from(document.querySelectorAll("div.table")).filter(d => d.scrollWidth > d.clientWidth + 1).map(d =>
    "table." + (d.querySelector("table").className || "(no class)") + " is " + d.scrollWidth + "px wide in a " + d.clientWidth + "px box"),
}))()`

// readDoc reads the page and checks what holds on every page: no script
// but /static/app.js, no image, no inline event handler (the hostile text
// stayed text), and app.js ran (every <time> has the reader's local time
// as its title).
func readDoc(t *testing.T, ctx context.Context, p *browserProblems, site string) browserDoc {
	t.Helper()
	d := browserEval[browserDoc](t, ctx, p, browserDocJS)
	if len(d.Scripts) != 1 || d.Scripts[0] != site+"/static/app.js" {
		t.Errorf("%s: scripts %q, want only %s/static/app.js", d.URL, d.Scripts, site)
	}
	if d.Images != 0 {
		t.Errorf("%s: %d <img> element(s) in the document, want none", d.URL, d.Images)
	}
	if len(d.Handlers) > 0 {
		t.Errorf("%s: inline event handlers %q", d.URL, d.Handlers)
	}
	if len(d.Overflow) > 0 {
		// Not a failure (yet): the layout is the CSS's business; the
		// report says where a reader at this width has to scroll sideways.
		t.Logf("%s at %dpx: %s", d.URL, browserViewport, strings.Join(d.Overflow, "; "))
	}
	if len(d.Times) == 0 {
		t.Errorf("%s: no <time> element", d.URL)
	}
	for _, title := range d.Times {
		if !strings.HasPrefix(title, "Your time:") {
			t.Errorf("%s: a <time> has title %q, want \"Your time: …\" (set by app.js: did it run?)", d.URL, title)
			break
		}
	}
	return d
}

func (d browserDoc) path() string {
	u, err := url.Parse(d.URL)
	if err != nil {
		return d.URL
	}
	return u.Path
}

func (d browserDoc) hasText(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(d.Text, w) {
			t.Errorf("%s: the text lacks %q; it reads:\n%s", d.URL, w, d.Text)
		}
	}
}

// saveScreenshot writes a full-page screenshot of the tab to dir/name.
func saveScreenshot(t *testing.T, ctx context.Context, p *browserProblems, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.log(t)
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func TestBrowser_SignInAndRead(t *testing.T) {
	path := chromiumPath(t)
	lap := browserLaps(t)
	s := newSiteAt(t, time.Now().UTC().Truncate(time.Second))
	// Someone updated www behind the bot's back: the overview (and the
	// README's screenshot) shows the drift.
	s.swarm.runs = bot.Live{Image: "reg/www@" + digest('9'), Replicas: -1}
	s.swarm.status = "3/3 tasks running reg/www@" + digest('9')
	if err := s.bot.SweepDrift(s.ctx, ""); err != nil {
		t.Fatal(err)
	}
	lap("the site with its history")
	if res, _ := s.get("/login"); res.Header.Get("Content-Security-Policy") != browserCSP {
		t.Errorf("the site's Content-Security-Policy is\n  %s\nand browserCSP is\n  %s\nupdate browserCSP in browser_test.go",
			res.Header.Get("Content-Security-Policy"), browserCSP)
	}
	b := startBrowser(t, path, time.Minute)
	lap("start chromium")

	// The collector must be able to fail: an inline script under the
	// site's policy is a violation it reports.
	t.Run("CollectorCatchesACSPViolation", func(t *testing.T) {
		inline := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", browserCSP)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, `<!doctype html><title>inline</title><p>An inline script the policy must block.</p><script>document.title = "ran"</script>`)
		}))
		defer inline.Close()
		var p browserProblems
		ctx := openTab(t, b, &p)
		if err := chromedp.Do(ctx, chromedp.Navigate(inline.URL)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(p.all()) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if title := browserEval[string](t, ctx, &p, "document.title"); title == "ran" {
			t.Errorf("the inline script ran under %q", browserCSP)
		}
		found := false
		for _, m := range p.all() {
			found = found || strings.Contains(m, "Content Security Policy")
		}
		if !found {
			t.Errorf("the collector caught no CSP violation; it has %q", p.all())
		}
		t.Logf("caught: %q", p.all())
	})
	lap("the collector's own test")

	var p browserProblems
	ctx := openTab(t, b, &p)
	shots := t.TempDir()
	if dir := os.Getenv("WEB_SCREENSHOTS"); dir != "" { // to keep them for a look
		shots = dir
	}
	defer p.check(t)

	// Not signed in: the site sends the browser to the form.
	browserDo(t, ctx, &p, "open /", chromedp.Navigate(s.http.URL+"/"))
	login := readDoc(t, ctx, &p, s.http.URL)
	if login.path() != "/login" {
		t.Fatalf("opening / without signing in lands on %s, want /login", login.URL)
	}
	login.hasText(t, "Sign in", "Read token")

	// Sign in as a person does: type the token, press the button.
	browserDo(t, ctx, &p, "type the token", chromedp.SendKeys(chromedp.ID("token"), oncallToken))
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)))
	if err != nil {
		p.log(t)
		t.Fatalf("submit the sign-in form: %v", err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("after signing in: HTTP %d %s", res.Status, res.URL)
	}

	lap("sign in")

	// The overview.
	overview := readDoc(t, ctx, &p, s.http.URL)
	if overview.path() != "/" {
		t.Fatalf("after signing in the browser is on %s, want /", overview.URL)
	}
	overview.hasText(t, "www", "R1", "R2", "waiting for approval", "token:oncall",
		hostileScript, hostileImg, // the lock reason, shown as the text it is
		"⚠ drift since") // www runs another image than the bot deployed
	if got := browserEval[string](t, ctx, &p, `document.body.dataset.refresh || ""`); got != "10" {
		t.Errorf("body data-refresh = %q, want 10", got)
	}
	if !browserEval[bool](t, ctx, &p, `typeof refresh === "function" && typeof localTimes === "function"`) {
		t.Errorf("app.js's functions are not defined: the script did not load")
	}
	saveScreenshot(t, ctx, &p, shots, "overview.png")
	if *screenshot {
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()) // the 1280x900 viewport
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "overview.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote web/testdata/overview.png (%dx%d)", browserViewport, browserViewportHeight)
	}

	// On a phone the tables become cards: nothing wider than the screen.
	browserDo(t, ctx, &p, "emulate a phone", chromedp.EmulateViewport(390, 844))
	if w := browserEval[int](t, ctx, &p, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("on a 390 px wide screen the overview is %d px wide", w)
	}
	saveScreenshot(t, ctx, &p, shots, "overview-phone.png")
	browserDo(t, ctx, &p, "back to a laptop", chromedp.EmulateViewport(browserViewport, browserViewportHeight))

	lap("the overview")

	// A request's page, with its timeline.
	browserDo(t, ctx, &p, "open /requests/R1", chromedp.Navigate(s.http.URL+"/requests/R1"))
	r1 := readDoc(t, ctx, &p, s.http.URL)
	r1.hasText(t, "R1", "Timeline", "approval.granted", "production", hostileScript) // the commit title
	saveScreenshot(t, ctx, &p, shots, "request-R1.png")

	lap("/requests/R1")

	// The audit trail filtered by kind: only those rows, the filter shown.
	browserDo(t, ctx, &p, "open /audit?kind=approval.granted", chromedp.Navigate(s.http.URL+"/audit?kind=approval.granted"))
	readDoc(t, ctx, &p, s.http.URL)
	kinds := browserEval[[]string](t, ctx, &p, `Array.from(document.querySelectorAll("table.events tbody tr"),
		tr => tr.querySelector('td[data-label="Kind"]').textContent.trim())`)
	if want := len(s.events(cs.EventKind("approval.granted"))); len(kinds) != want || want == 0 {
		t.Errorf("/audit?kind=approval.granted shows %d rows, want the %d approval.granted records", len(kinds), want)
	}
	for i, k := range kinds {
		if k != "approval.granted" {
			t.Errorf("/audit?kind=approval.granted row %d has kind %q", i+1, k)
		}
	}
	if sel := browserEval[string](t, ctx, &p, `document.querySelector('select[name="kind"]').value`); sel != "approval.granted" {
		t.Errorf("the kind filter shows %q selected, want approval.granted", sel)
	}

	lap("/audit?kind=approval.granted")

	// The whole audit trail: the copy button for the anchor.
	browserDo(t, ctx, &p, "open /audit", chromedp.Navigate(s.http.URL+"/audit"))
	audit := readDoc(t, ctx, &p, s.http.URL)
	audit.hasText(t, "Audit trail", "Anchor", "approval.granted", "lock.set")
	type copyState struct {
		Secure    bool   `json:"secure"`
		Clipboard bool   `json:"clipboard"`
		Buttons   int    `json:"buttons"`
		Hidden    bool   `json:"hidden"`
		Anchor    string `json:"anchor"`
	}
	cp := browserEval[copyState](t, ctx, &p, `(() => { const b = document.querySelector("button.copy"); return {
		secure: window.isSecureContext, clipboard: !!navigator.clipboard,
		buttons: document.querySelectorAll("button.copy").length, hidden: b ? b.hidden : true,
		anchor: (document.getElementById("anchor") || {}).textContent || "" } })()`)
	switch {
	case cp.Buttons == 0:
		t.Errorf("/audit has no copy button")
	case !cp.Clipboard:
		// app.js shows the button only where navigator.clipboard exists,
		// which is only in a secure context; http://127.0.0.1 is one, so
		// this is not expected here, but the time titles above still
		// prove the script ran.
		t.Logf("navigator.clipboard is undefined (secure context: %v): the copy button stays hidden, checked only the time titles", cp.Secure)
	case cp.Hidden:
		t.Errorf("navigator.clipboard exists but the copy button is still hidden: app.js did not run copyButtons")
	default:
		// Press it and read the clipboard back.
		for _, perm := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
				Permission: &browser.PermissionDescriptor{Name: perm}, Setting: browser.PermissionSettingGranted, Origin: s.http.URL,
			}); err != nil {
				t.Fatalf("grant %s: %v", perm, err)
			}
		}
		browserDo(t, ctx, &p, "press Copy", chromedp.Click(chromedp.CSS("button.copy")))
		label, err := chromedp.Run(ctx, chromedp.Poll[string](`(t => t !== "Copy" && t)(document.querySelector("button.copy").textContent)`,
			chromedp.WithPollingTimeout(3*time.Second)))
		if err != nil {
			t.Errorf("the copy button's label did not change after pressing it: %v", err)
		} else if label != "Copied" {
			t.Errorf("the copy button says %q after pressing it, want Copied", label)
		} else if got := browserEval[string](t, ctx, &p, "navigator.clipboard.readText()", chromedp.EvalAwaitPromise); got != strings.TrimSpace(cp.Anchor) || got == "" {
			t.Errorf("the clipboard holds %q, want the anchor %q", got, cp.Anchor)
		} else {
			t.Logf("Copy put the anchor %s on the clipboard", got)
		}
	}
	saveScreenshot(t, ctx, &p, shots, "audit.png")

	lap("/audit and its copy button")

	// Live refresh, without waiting the 10 s: run app.js's own refresh()
	// once, after the bot's state changed, and see #live replaced in place.
	browserDo(t, ctx, &p, "open / again", chromedp.Navigate(s.http.URL+"/"))
	before := browserEval[string](t, ctx, &p, `window.browserTestNoReload = true;
		document.getElementById("live").dataset.browserTest = "old";
		document.getElementById("refreshed").textContent`)
	s.say("UOPS1", "unlock api")
	s.clock.Advance(time.Minute)
	browserEval[chromedp.Void](t, ctx, &p, "refresh()", chromedp.EvalAwaitPromise)
	type liveState struct {
		NoReload bool   `json:"noReload"`
		Old      bool   `json:"old"`
		Stamp    string `json:"stamp"`
		Visible  string `json:"visible"`
	}
	live := browserEval[liveState](t, ctx, &p, `({noReload: window.browserTestNoReload === true,
		old: document.getElementById("live").dataset.browserTest === "old",
		stamp: document.getElementById("refreshed").textContent, visible: document.visibilityState})`)
	switch {
	case !live.NoReload:
		t.Errorf("refresh() reloaded the page; it should replace #live in place")
	case live.Old:
		t.Errorf("refresh() left the old #live in place (visibilityState %q)", live.Visible)
	}
	if live.Stamp == before {
		t.Errorf("the footer still says %q after a refresh a minute later", before)
	}
	after := readDoc(t, ctx, &p, s.http.URL) // the fresh times got their titles too
	if strings.Contains(after.Text, "locked by UOPS1") || strings.Contains(after.Text, hostileScript) {
		t.Errorf("after unlocking api and refreshing, the overview still shows the lock:\n%s", after.Text)
	}
	after.hasText(t, "R2", "waiting for approval")
	t.Logf("refreshed in place: %q → %q", before, live.Stamp)
	lap("live refresh")

	// Sign out with the button: the browser's own Origin and
	// Sec-Fetch-Site pass the check on POST /logout.
	res, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/logout"] button[type=submit]`)))
	if err != nil {
		p.log(t)
		t.Fatalf("press Sign out: %v", err)
	}
	if out := readDoc(t, ctx, &p, s.http.URL); res.Status != http.StatusOK || out.path() != "/login" {
		t.Fatalf("after signing out: HTTP %d on %s, want the login form", res.Status, out.URL)
	}
	browserDo(t, ctx, &p, "open / signed out", chromedp.Navigate(s.http.URL+"/"))
	if again := readDoc(t, ctx, &p, s.http.URL); again.path() != "/login" {
		t.Fatalf("after signing out, / lands on %s, want /login", again.URL)
	}
	lap("sign out")

	// Another site's page that signs the browser in with its own token
	// (login CSRF): the browser says where the form came from, and the
	// site refuses it.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>evil</title><form method="post" action="%s/login">
			<input type="hidden" name="token" value="%s"><button type="submit">Win a prize</button></form>`, s.http.URL, auditToken)
	}))
	defer evil.Close()
	var ep browserProblems
	ectx := openTab(t, b, &ep)
	browserDo(t, ectx, &ep, "open another site", chromedp.Navigate(evil.URL))
	res, err = chromedp.RunResponse(ectx, chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	if err != nil {
		t.Fatalf("submit the other site's form: %v", err)
	}
	if res.Status != http.StatusForbidden {
		t.Errorf("a sign-in form on another site = HTTP %d, want 403", res.Status)
	}
	if in := s.events(cs.EventWebSignedIn); len(in) != 1 {
		t.Errorf("%d web.signed_in records, want only the browser's own sign-in", len(in))
	}
	lap("another site's sign-in form")
}

// browserLaps returns a func that logs how long each part of the test
// took, and the total.
func browserLaps(t *testing.T) func(what string) {
	start := time.Now()
	last := start
	return func(what string) {
		t.Helper()
		now := time.Now()
		t.Logf("%-30s %6v (total %v)", what+":", now.Sub(last).Round(time.Millisecond), now.Sub(start).Round(time.Millisecond))
		last = now
	}
}
