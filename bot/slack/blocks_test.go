package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

var update = flag.Bool("update", false, "rewrite golden files")

// hostile is what a requester, a pusher or a TXT record may hold to
// notify a channel, impersonate an approver or phish with a link.
const hostile = "<!channel> <@U123> <https://evil.example|click to approve> & co"

var (
	fingerprint = strings.Repeat("5f", 32)
	policyV     = "9c1e4b7d2a3f" + strings.Repeat("0", 52)
	expires     = time.Date(2026, 11, 18, 11, 0, 0, 0, time.UTC)
	commit      = "3f2c9d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"
	commitURL   = "https://github.com/acme/www/commit/" + commit
	imageNew    = "registry.example/www@sha256:" + strings.Repeat("a1", 32)
	imageOld    = "registry.example/www@sha256:" + strings.Repeat("b2", 32)
)

// renderCase is a message and the golden file its blocks must match.
type renderCase struct {
	name string
	msg  bot.Message
}

func request(c *bot.RequestCard) bot.Message {
	return bot.Message{Channel: "C0DEPLOYS", Text: bot.Textf("%s · %s · %s", c.ID, c.Action.String(), c.Status), Request: c}
}

func deployCard(id cs.RequestID) *bot.RequestCard {
	return &bot.RequestCard{
		ID: id, Action: cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: imageNew, Commit: commit, Branch: "main"},
		State: cs.StatePending, Status: "waiting for approval",
		RequestedBy: bot.Textf("a push by %s (%s)", "github:alice", bot.Mention("U0ALICE")),
		Change:      bot.Textf("deploy %s to %s (commit %s)", "www", imageNew, commit[:7]),
		Details: []bot.Field{
			{Label: "Service", Value: bot.Esc("www")},
			{Label: "Engine", Value: bot.Esc("swarm-prod")},
			{Label: "Image", Value: bot.Textf("`%s`", imageNew)},
			{Label: "Commit", Value: bot.Link(commitURL, commit[:7])},
		},
		Plan:   "update service www on swarm-prod:\n  image " + imageOld + "\n     → " + imageNew + "\n  3 replicas, one at a time, roll back on failure",
		Policy: "production", PolicyVersion: policyV,
		Lines: []bot.ApprovalLine{
			{Group: "ops", Need: 1, Approvers: []cs.Actor{"U0OPS1"}},
			{Group: "owners", Need: 1},
		},
		Progress: "1 of 2 approvals: ops 1/1 (@U0OPS1), owners 0/1",
		Expires:  expires, Buttons: true, Fingerprint: fingerprint,
		URL: "https://countersign.example/requests/" + string(id),
	}
}

func dnsCard(id cs.RequestID, old, neu string) *bot.RequestCard {
	d := &cs.DNSChange{Op: cs.DNSSet, Name: "_acme.example.com.", Type: "TXT", Value: neu, TTL: 300,
		Current: []cs.Record{
			{Name: "_acme.example.com.", Type: "TXT", TTL: 300, Value: old},
			{Name: "_acme.example.com.", Type: "TXT", TTL: 300, Value: `"keep-me"`},
		},
		Proposed: []cs.Record{
			{Name: "_acme.example.com.", Type: "TXT", TTL: 300, Value: `"keep-me"`},
			{Name: "_acme.example.com.", Type: "TXT", TTL: 300, Value: neu},
		},
	}
	return &bot.RequestCard{
		ID: id, Action: cs.Action{Kind: cs.ActionDNS, Target: d.Name, DNS: d}, DNS: d,
		State: cs.StatePending, Status: "waiting for approval",
		RequestedBy: bot.Mention("U0DEV1"),
		Change:      bot.Textf("dns %s %s %s %s", string(d.Op), d.Name, d.Type, d.Value),
		Details:     []bot.Field{{Label: "Name", Value: bot.Esc("_acme.example.com")}},
		Plan:        "UPDATE example. (TSIG key ddns): prerequisite the RRset is exactly the current one; replace _acme.example.com. TXT",
		Policy:      "dns", PolicyVersion: policyV,
		Lines:    []bot.ApprovalLine{{Group: "ops", Need: 1}},
		Progress: "0 of 1 approval: ops 0/1",
		Expires:  expires, Buttons: true, Fingerprint: fingerprint,
	}
}

func renderCases() []renderCase {
	scale := &bot.RequestCard{
		ID: "R44", Action: cs.Action{Kind: cs.ActionScale, Target: "api", Replicas: 5, FromReplicas: 2},
		State: cs.StatePending, Status: "waiting for approval", RequestedBy: bot.Mention("U0DEV1"),
		Change: bot.Textf("scale %s to %d replicas", "api", 5),
		Details: []bot.Field{
			{Label: "Service", Value: bot.Esc("api")},
			{Label: "Engine", Value: bot.Esc("swarm-prod")},
			{Label: "Replicas", Value: bot.Textf("%d → %d", 2, 5)},
		},
		Plan:   "scale service api on swarm-prod from 2 to 5 replicas",
		Policy: "production", PolicyVersion: policyV, Window: "office hours (Mon–Fri 08:00–18:00 Europe/London)",
		Lines:    []bot.ApprovalLine{{Group: "ops", Need: 1}},
		Progress: "0 of 1 approval: ops 0/1", Expires: expires, Buttons: true, Fingerprint: fingerprint,
	}

	denied := deployCard("R45")
	denied.State, denied.Status, denied.Buttons = cs.StateDenied, "denied", false
	denied.Lines[0].Approvers = nil
	denied.Outcome = bot.Textf("denied by %s: %s", bot.Mention("U0OPS2"), "not during the demo")

	rollback := &bot.RequestCard{
		ID: "R46", Action: cs.Action{Kind: cs.ActionRollback, Target: "www", Image: imageOld, Deployment: "D17"},
		State: cs.StateSucceeded, Status: "succeeded", DryRun: true, RequestedBy: bot.Mention("U0DEV1"),
		Change: bot.Textf("rollback %s to %s", "www", imageOld),
		Details: []bot.Field{
			{Label: "Service", Value: bot.Esc("www")},
			{Label: "Image", Value: bot.Textf("`%s`", imageOld)},
			{Label: "Back to", Value: bot.Esc("D17")},
		},
		Plan:   "[dry run] would update service www on swarm-prod to " + imageOld,
		Policy: "production", PolicyVersion: policyV,
		Lines:    []bot.ApprovalLine{{Group: "ops", Need: 1, Approvers: []cs.Actor{"U0OPS1"}}},
		Progress: "1 of 1 approval: ops 1/1 (@U0OPS1)", Expires: expires, Fingerprint: fingerprint,
		Outcome: bot.Esc("[dry run] would roll www back to D17 (" + imageOld + ")"),
		URL:     "https://countersign.example/requests/R46",
	}

	// A deploy of a service that drifted says so above its plan.
	drifted := deployCard("R54")
	drifted.Drift = bot.Textf("%s does not run what was last approved: it runs %s, not %s (found %s)",
		"www", "image "+imageOld+"; its spec was changed outside the bot at 2026-11-18 09:40 UTC", "image "+imageOld, "2026-11-18 09:50 UTC")

	push := &bot.PushCard{Service: "www", Repo: "acme/www", SHA: commit, Branch: "main", Login: "alice",
		Title: "Fix the login redirect", CommitURL: commitURL, Status: bot.Textf("%s %s", "R42", "waiting for approval")}

	longPlan := deployCard("R47")
	var plan strings.Builder
	for i := 0; plan.Len() < 10000; i++ {
		fmt.Fprintf(&plan, "%04d copy layer <sha256:%02x> & verify\n", i, i%256)
	}
	longPlan.Plan = plan.String()[:10000]

	// longCard's parts each fit Slack's limits; together they do not.
	longCard := deployCard("R53")
	longCard.URL = "https://deploy.example.org/requests/R53"
	for i := range 12 {
		longCard.Details = append(longCard.Details, bot.Field{Label: fmt.Sprintf("Layer %d", i),
			Value: bot.Esc(strings.Repeat(fmt.Sprintf("sha256:%02x <&> ", i), 150))})
	}
	longCard.Plan = longPlan.Plan

	lock := &bot.RequestCard{
		ID: "R48", Action: cs.Action{Kind: cs.ActionLock, Target: "www", Reason: hostile, BreakGlass: hostile},
		State: cs.StatePending, Status: "waiting for approval " + hostile, RequestedBy: bot.Mention("U0DEV1"),
		Change: bot.Textf("lock %s: %s", "www", hostile),
		Details: []bot.Field{
			{Label: "Service", Value: bot.Esc("www")},
			{Label: "Reason", Value: bot.Esc(hostile)},
			{Label: hostile, Value: bot.Esc(hostile)},
		},
		Plan: hostile + "\n```\n" + hostile, BreakGlass: hostile, Policy: hostile, PolicyVersion: hostile, Window: hostile,
		Lines:   []bot.ApprovalLine{{Group: hostile, Need: 3, Approvers: []cs.Actor{"U0OPS1", "U1><!channel>"}}},
		Notes:   []bot.Markup{bot.Textf("could not read user group %s: %s", hostile, hostile)},
		Expires: expires, Buttons: true, Fingerprint: fingerprint, URL: "https://evil.example|click to approve",
	}

	evilPush := &bot.PushCard{Service: hostile, Repo: hostile, SHA: "<!channel>", Branch: hostile, Login: hostile,
		Title: hostile, CommitURL: "https://evil.example|click to approve", Status: bot.Textf("%s", hostile)}

	return append([]renderCase{
		{"deploy_pending", request(deployCard("R42"))},
		{"deploy_drifted", request(drifted)},
		{"dns_pending", request(dnsCard("R43", `"token-1"`, `"token-2"`))},
		{"scale_pending", request(scale)},
		{"deploy_denied", request(denied)},
		{"rollback_succeeded", request(rollback)},
		{"push", bot.Message{Channel: "C0DEPLOYS", Text: bot.Textf("%s ← %s", "www", "acme/www"), Push: push}},
		{"long_plan", request(longPlan)},
		{"long_text", bot.Message{Channel: "C0DEPLOYS", Text: longText()}},
		{"long_card", request(longCard)},
		{"hostile_lock", request(lock)},
		{"hostile_dns", request(dnsCard("R49", hostile, hostile))},
		{"hostile_push", bot.Message{Channel: "C0DEPLOYS", Text: bot.Esc(hostile), Push: evilPush}},
	}, changesCases()...)
}

// longText is 200,000 characters of markup: mentions, escapes, and a code
// block that spans sections.
func longText() bot.Markup {
	var b strings.Builder
	b.WriteString("*Audit*\n```\n")
	for i := 0; b.Len() < 200000; i++ {
		if i == 150 {
			b.WriteString("```\n")
		}
		b.WriteString(string(bot.Textf("%05d %s approved %s\n", i, bot.Mention("U0OPS1"), "R42 <x> & more")))
	}
	return bot.Markup(b.String()[:200000])
}

func marshal(t *testing.T, blocks []slackapi.Block) []byte {
	t.Helper()
	got, err := json.MarshalIndent(blocks, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(got, '\n')
}

// golden compares got with testdata/NAME.json, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		g, w := strings.SplitAfter(string(got), "\n"), strings.SplitAfter(string(want), "\n")
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		t.Errorf("%s differs from line %d (review, then -update):\ngot:  %.300s\nwant: %.300s", path, i+1, g[min(i, len(g)-1)], w[min(i, len(w)-1)])
	}
}

func TestRender_Golden(t *testing.T) {
	for _, tc := range renderCases() {
		t.Run(tc.name, func(t *testing.T) {
			text, blocks := Render(tc.msg)
			if text == "" || utf8.RuneCountInString(text) > MaxText {
				t.Errorf("text has %d characters, want 1 to %d", utf8.RuneCountInString(text), MaxText)
			}
			golden(t, tc.name, marshal(t, blocks))
		})
	}
}

// jsonStrings returns every string of the JSON document (keys too).
func jsonStrings(t *testing.T, doc []byte) []string {
	t.Helper()
	var out []string
	for dec := json.NewDecoder(bytes.NewReader(doc)); ; {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		if s, ok := tok.(string); ok {
			out = append(out, s)
		}
	}
}

func TestRender_HostileInputShowsLiterally(t *testing.T) {
	// Who must still be mentioned for real, by case.
	mentions := map[string][]string{"hostile_lock": {"<@U0DEV1>", "<@U0OPS1>"}, "hostile_dns": {"<@U0DEV1>"}, "hostile_push": nil}
	for name, want := range mentions {
		t.Run(name, func(t *testing.T) {
			_, blocks := Render(caseNamed(t, name))
			strs := jsonStrings(t, marshal(t, blocks))
			all := strings.Join(strs, "\n")
			for _, bad := range []string{"<!channel", "<@U123>", "<https://evil", "|click to approve>"} {
				if strings.Contains(all, bad) {
					t.Errorf("rendered text holds %q unescaped", bad)
				}
			}
			if strings.Count(all, "&lt;!channel&gt;") < 3 {
				t.Errorf("the hostile text is not shown escaped:\n%s", all)
			}
			for _, s := range strs {
				if strings.Contains(strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "").Replace(s), "&") {
					t.Errorf("a bare & in %q", s)
				}
			}
			for _, m := range want {
				if !strings.Contains(all, m) {
					t.Errorf("%s is not mentioned", m)
				}
			}
		})
	}
}

func TestRender_ButtonsRoundTrip(t *testing.T) {
	for _, tc := range renderCases() {
		c := tc.msg.Request
		if c == nil {
			continue
		}
		_, blocks := Render(tc.msg)
		var actions []*slackapi.ActionBlock
		for _, b := range blocks {
			if a, ok := b.(*slackapi.ActionBlock); ok {
				actions = append(actions, a)
			}
		}
		if !c.Buttons {
			if len(actions) != 0 {
				t.Errorf("%s: closed request has %d actions blocks", tc.name, len(actions))
			}
			continue
		}
		if len(actions) != 1 || blocks[len(blocks)-1] != slackapi.Block(actions[0]) {
			t.Fatalf("%s: want one actions block, last; got %d", tc.name, len(actions))
		}
		if got, want := actions[0].BlockID, RequestBlockPrefix+string(c.ID); got != want {
			t.Errorf("%s: block_id %q, want %q", tc.name, got, want)
		}
		styles := map[string]slackapi.Style{bot.ButtonApprove: slackapi.StylePrimary, bot.ButtonDeny: slackapi.StyleDanger}
		for _, e := range actions[0].Elements.ElementSet {
			b := e.(*slackapi.ButtonBlockElement)
			if b.ActionID == ActionDetails {
				if b.URL != c.URL {
					t.Errorf("%s: details URL %q, want %q", tc.name, b.URL, c.URL)
				}
				continue
			}
			if b.Style != styles[b.ActionID] {
				t.Errorf("%s: %s button has style %q", tc.name, b.ActionID, b.Style)
			}
			delete(styles, b.ActionID)
			id, fp, err := bot.ParseButtonValue(b.Value)
			if err != nil || id != c.ID || fp != c.Fingerprint {
				t.Errorf("%s: value %q parses to %q, %q, %v", tc.name, b.Value, id, fp, err)
			}
		}
		if len(styles) != 0 {
			t.Errorf("%s: missing buttons %v", tc.name, styles)
		}
	}
}

func caseNamed(t *testing.T, name string) bot.Message {
	for _, tc := range renderCases() {
		if tc.name == name {
			return tc.msg
		}
	}
	t.Fatalf("no case %q", name)
	return bot.Message{}
}

// stressCases break every limit at once; they have no golden files.
func stressCases() []renderCase {
	many := deployCard("R50")
	for i := range 60 {
		many.Details = append(many.Details, bot.Field{Label: fmt.Sprint("part ", i), Value: bot.Esc(strings.Repeat("é&", 1500))})
		many.Lines = append(many.Lines, bot.ApprovalLine{Group: strings.Repeat("g", 100), Need: 2, Approvers: []cs.Actor{"U0OPS1", "U0OPS2"}})
		many.Notes = append(many.Notes, bot.Esc(strings.Repeat("<note> ", 600)))
	}
	many.Policy, many.Window, many.BreakGlass = strings.Repeat("p&", 2000), strings.Repeat("w", 4000), strings.Repeat("b<", 2000)
	many.RequestedBy = bot.Markup(strings.Repeat(string(bot.Mention("U0OPS1")), 700))
	many.Change = bot.Link("https://example.com/"+strings.Repeat("x", 4000), "a long link")
	many.URL = "https://example.com/" + strings.Repeat("y", 4000)
	dns := dnsCard("R51", strings.Repeat(`"a&b" `, 800), strings.Repeat(`"<c>" `, 800))
	long := deployCard("R52")
	long.ID, long.Fingerprint = "R1234567890123456789", strings.Repeat("f", 3000)
	push := &bot.PushCard{Service: "www", Repo: "acme/www", SHA: commit, Title: strings.Repeat("&", 4000), Status: bot.Esc(strings.Repeat("s", 4000))}
	token := bot.Link("https://example.com/"+strings.Repeat("z", 5000), "label")
	return []renderCase{
		{"many", request(many)}, {"huge_dns", request(dns)}, {"long_id", request(long)},
		{"long_push", bot.Message{Text: bot.Esc(strings.Repeat("t", 50000)), Push: push}},
		{"one_long_token", bot.Message{Text: token + token}},
		{"blank_lines", bot.Message{Text: bot.Markup(strings.Repeat("\n", 10000) + "end")}},
		{"fences", bot.Message{Text: bot.Markup(strings.Repeat("```\n"+strings.Repeat("code line\n", 500)+"```\ntext\n", 30))}},
		{"empty_card", request(&bot.RequestCard{ID: "R1", Buttons: true, Details: []bot.Field{{}}})},
		{"huge_changes", request(hugeChanges())},
	}
}

// TestRender_Limits walks every block of every case through Slack's limits.
func TestRender_Limits(t *testing.T) {
	text := func(where string, o *slackapi.TextBlockObject, max int) {
		t.Helper()
		if o == nil || o.Validate() != nil || utf8.RuneCountInString(o.Text) > max || strings.TrimSpace(o.Text) == "" {
			t.Errorf("%s: bad text (max %d)", where, max)
		}
	}
	for _, tc := range append(renderCases(), stressCases()...) {
		t.Run(tc.name, func(t *testing.T) {
			msg, blocks := Render(tc.msg)
			if len(blocks) == 0 || len(blocks) > MaxBlocks || utf8.RuneCountInString(msg) > MaxText || blocksText(blocks) > MaxMessageText {
				t.Fatalf("%d blocks holding %d characters, text of %d characters", len(blocks), blocksText(blocks), utf8.RuneCountInString(msg))
			}
			for i, b := range blocks {
				where := fmt.Sprintf("block %d (%s)", i, b.BlockType())
				if len(b.ID()) > MaxBlockID {
					t.Errorf("%s: block_id of %d characters", where, len(b.ID()))
				}
				switch b := b.(type) {
				case *slackapi.HeaderBlock:
					text(where, b.Text, MaxHeaderText)
				case *slackapi.SectionBlock:
					if b.Text == nil && len(b.Fields) == 0 || len(b.Fields) > MaxFields {
						t.Errorf("%s: %d fields", where, len(b.Fields))
					}
					if b.Text != nil {
						text(where, b.Text, MaxSectionText)
						if strings.Count(b.Text.Text, "```")%2 != 0 {
							t.Errorf("%s: a code block is left open", where)
						}
					}
					for _, f := range b.Fields {
						text(where+" field", f, MaxFieldText)
					}
				case *slackapi.ContextBlock:
					if n := len(b.ContextElements.Elements); n == 0 || n > MaxContextElements {
						t.Errorf("%s: %d elements", where, n)
					}
					for _, e := range b.ContextElements.Elements {
						text(where+" element", e.(*slackapi.TextBlockObject), MaxSectionText)
					}
				case *slackapi.ActionBlock:
					for _, e := range b.Elements.ElementSet {
						btn := e.(*slackapi.ButtonBlockElement)
						text(where+" button", btn.Text, MaxButtonText)
						if len(btn.Value) > MaxButtonValue || len(btn.URL) > MaxButtonURL || btn.ActionID == "" {
							t.Errorf("%s: button %q: value of %d, URL of %d", where, btn.ActionID, len(btn.Value), len(btn.URL))
						}
					}
				default:
					t.Errorf("%s: unexpected block %T", where, b)
				}
			}
		})
	}
}

func TestCutAt_NeverBreaksMarkup(t *testing.T) {
	s := bot.Textf("é → %s %s %s %s", "a & <b>", bot.Mention("U0OPS1"), bot.Link("https://example.com/x", "a label"), "ü&")
	for max := 0; max <= runeLen(s)+1; max++ {
		kept := cutAt(s, max)
		rest := strings.TrimPrefix(string(s), string(kept))
		if !strings.HasPrefix(string(s), string(kept)) || runeLen(kept) > max || !utf8.ValidString(string(kept)) {
			t.Fatalf("cutAt(%d) = %q", max, kept)
		}
		if strings.Count(string(kept), "<") != strings.Count(string(kept), ">") {
			t.Errorf("cutAt(%d) = %q: cut inside a token", max, kept)
		}
		if i := strings.LastIndexByte(string(kept), '&'); i >= 0 && !strings.Contains(string(kept[i:]), ";") {
			t.Errorf("cutAt(%d) = %q: cut inside an escape", max, kept)
		}
		if max >= runeLen(s) && rest != "" {
			t.Errorf("cutAt(%d) left %q out of a text that fits", max, rest)
		}
	}
}

func TestRender_CutNotes(t *testing.T) {
	_, blocks := Render(caseNamed(t, "long_plan"))
	var plan string
	for _, b := range blocks {
		if s, ok := b.(*slackapi.SectionBlock); ok && s.Text != nil && strings.HasPrefix(s.Text.Text, "*Plan*") {
			plan = s.Text.Text
		}
	}
	body, note, ok := strings.Cut(plan, "\n```\n… (cut: ")
	var n int
	if _, err := fmt.Sscanf(note, "%d more characters; see the thread or the web page)", &n); !ok || err != nil {
		t.Fatalf("no cut note after the plan's code block:\n%s", plan)
	}
	if got := shown(bot.Markup(strings.TrimPrefix(body, "*Plan*\n```\n"))) + n; got != 10000 {
		t.Errorf("shown and cut characters add up to %d, want the plan's 10000", got)
	}

	_, blocks = Render(caseNamed(t, "long_text"))
	last := blocks[len(blocks)-1].(*slackapi.SectionBlock).Text.Text
	if n := blocksText(blocks); n > MaxMessageText || n < MaxMessageText-lastRoom || !strings.Contains(last, "… (cut: ") {
		t.Errorf("%d characters in %d blocks, the last ending %q; want about %d and a cut note", n, len(blocks), last[max(0, len(last)-80):], MaxMessageText)
	}

	_, blocks = Render(caseNamed(t, "long_card"))
	cardNote := blocks[len(blocks)-2].(*slackapi.ContextBlock).ContextElements.Elements[0].(*slackapi.TextBlockObject).Text
	if !strings.Contains(cardNote, "… (cut: ") || !strings.Contains(cardNote, "<https://deploy.example.org/requests/R53|the request's page>") {
		t.Errorf("the card's cut note is %q, want one linking its page", cardNote)
	}
	if _, ok := blocks[len(blocks)-1].(*slackapi.ActionBlock); !ok {
		t.Errorf("the buttons were cut: the last block is %T", blocks[len(blocks)-1])
	}
}
