package slack

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/countersign/countersign/bot"
)

const compareURL = "https://github.com/acme/www/compare/1111111111111111111111111111111111111111...3f2c9d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"

// commitLines are n commit lines as the bot writes them, with titles of
// the given text.
func commitLines(n int, title func(i int) string) []bot.Markup {
	lines := make([]bot.Markup, n)
	for i := range lines {
		sha := fmt.Sprintf("%02x", i+1) + strings.Repeat("0", 38)
		author := bot.Mention("U0ALICE")
		switch i % 3 {
		case 1:
			author = bot.Textf("github:%s", "bob")
		case 2:
			author = bot.Esc("Carol <carol@example.org>")
		}
		lines[i] = bot.Link("https://github.com/acme/www/commit/"+sha, sha[:7]) + " " + bot.Esc(title(i)) + " — " + author
	}
	return lines
}

// changesCases are deploy cards with a "what changed", for golden files.
func changesCases() []renderCase {
	titles := func(i int) string { return fmt.Sprintf("Fix *thing* %d & <tidy> up", i+1) }
	three := deployCard("R60")
	three.Changes = &bot.ChangesCard{Summary: bot.Esc("3 new commits since 1111111, which runs now"),
		Lines: commitLines(3, titles), URL: compareURL}

	many := deployCard("R61")
	many.Changes = &bot.ChangesCard{Summary: bot.Esc("25 new commits since 1111111, which runs now"),
		Lines: commitLines(20, titles), More: 5, URL: compareURL}

	down := deployCard("R62")
	down.Changes = &bot.ChangesCard{Downgrade: true, URL: compareURL, Lines: commitLines(2, titles),
		Summary: bot.Esc("downgrade: 3f2c9d1 is 2 commits behind 1111111, which runs now; deploying it takes them away")}

	unknown := deployCard("R63")
	unknown.Changes = &bot.ChangesCard{Summary: bot.Esc("changes unknown: GitHub did not answer within 5s")}

	return []renderCase{
		{"deploy_changes", request(three)},
		{"deploy_changes_25", request(many)},
		{"deploy_downgrade", request(down)},
		{"deploy_changes_unknown", request(unknown)},
	}
}

// hugeChanges is a card whose 20 commits each have the longest title,
// all escapes, beside a plan as long as a section takes.
func hugeChanges() *bot.RequestCard {
	c := deployCard("R64")
	c.Plan = strings.Repeat("p", MaxSectionText)
	c.Changes = &bot.ChangesCard{Summary: bot.Esc("25 new commits since 1111111, which runs now"),
		Lines: commitLines(20, func(int) string { return strings.Repeat("&", bot.MaxCommitTitle) }), More: 5, URL: compareURL}
	return c
}

var moreRE = regexp.MustCompile(`… and (\d+) more`)

// TestRender_ChangesBudget: commit lines beyond the list's budget are
// counted with the rest, not cut off silently, and the card keeps its
// buttons.
func TestRender_ChangesBudget(t *testing.T) {
	c := hugeChanges()
	_, blocks := Render(request(c))
	js := string(marshal(t, blocks))
	shown := strings.Count(js, "— \\u003c@U0ALICE\\u003e") + strings.Count(js, "— github:bob") + strings.Count(js, "— Carol")
	m := moreRE.FindStringSubmatch(js)
	if m == nil {
		t.Fatalf("no \"… and N more\" line:\n%s", js)
	}
	more, _ := strconv.Atoi(m[1])
	if shown == 0 || shown >= 20 || shown+more != 25 {
		t.Errorf("%d commits shown and %d more, want some of 20 shown and the rest of 25 counted", shown, more)
	}
	if !strings.Contains(js, `"action_id": "`+bot.ButtonApprove+`"`) || strings.Contains(js, "characters cut") {
		t.Errorf("the card lost its buttons or was cut:\n%.2000s", js)
	}
}

// TestRender_ChangesDowngradeSaid: a downgrade is flagged and said in words.
func TestRender_ChangesDowngradeSaid(t *testing.T) {
	_, blocks := Render(request(changesCases()[2].msg.Request))
	js := string(marshal(t, blocks))
	if !strings.Contains(js, ":warning: *What changed:* downgrade: 3f2c9d1 is 2 commits behind") {
		t.Errorf("the downgrade is not said:\n%s", js)
	}
}
