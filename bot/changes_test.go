package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/bot/github/githubtest"
)

// wwwSHA is the n-th commit of www's history in the changes tests.
func wwwSHA(n int) string { return strings.Repeat(fmt.Sprintf("%02x", n), 20) }

// changesHarness is a harness whose bot compares commits through the
// GitHub client against the fake, which holds a main line of 40 commits
// of mirage/mirage-www (the even ones by hannesm, who is UOWN1, the odd
// ones by Odd Person, whose e-mail matches no GitHub account) and has an
// image for each, and for one commit it does not know.
func changesHarness(t *testing.T, opts ...harnessOpt) (*harness, *githubtest.Server) {
	t.Helper()
	const token = "ghp_changesTestToken"
	srv := githubtest.New(githubtest.Options{Token: token})
	t.Cleanup(srv.Close)
	for i := range 40 {
		c := githubtest.Commit{SHA: wwwSHA(i), Message: fmt.Sprintf("change %d\n\nthe long story", i), Author: "hannesm", AuthorName: "Hannes"}
		if i > 0 {
			c.Parents = []string{wwwSHA(i - 1)}
		}
		if i%2 == 1 {
			c.Author, c.AuthorName = "", "Odd Person"
		}
		srv.AddCommits("mirage/mirage-www", c)
	}
	client, err := github.NewClient(github.Auth{Token: token}, github.Options{APIURL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, append([]harnessOpt{func(c *harnessConfig) { c.comparer = client }}, opts...)...)
	for _, sha := range []string{wwwSHA(0), wwwSHA(7), wwwSHA(10), wwwSHA(13), wwwSHA(35), unknownSHA} {
		h.images["reg/www:live-"+sha] = "reg/www@sha256:" + strings.Repeat("0", 24) + sha
	}
	return h, srv
}

// unknownSHA has an image but is not in the fake's history (force-pushed away).
const unknownSHA = "dddddddddddddddddddddddddddddddddddddddd"

// running records a deployment of www.
func (h *harness) running(id cs.RequestID, sha string, ok, dry bool) {
	h.t.Helper()
	if err := h.db.Update(h.ctx, func(tx bot.Tx) error {
		return tx.PutDeployment(cs.Deployment{ID: id, Target: "www", Kind: cs.ActionDeploy, Image: "reg/www@" + digest('9'),
			Commit: sha, Requester: "UDEV1", Started: h.clock.Now(), Finished: h.clock.Now(), Succeeded: ok, DryRun: dry})
	}); err != nil {
		h.t.Fatal(err)
	}
}

// card returns the newest posted card of request id.
func (h *harness) card(id cs.RequestID) bot.Message {
	h.t.Helper()
	for i := len(h.chat.Posts()) - 1; i >= 0; i-- {
		if m := h.chat.Posts()[i]; m.Request != nil && m.Request.ID == id {
			return m
		}
	}
	h.t.Fatalf("no card of %s posted", id)
	return bot.Message{}
}

// replies returns the texts posted in threads (not cards).
func (h *harness) replies() string {
	var b strings.Builder
	for _, m := range h.chat.Posts() {
		if m.Request == nil && m.Push == nil && m.Thread != (cs.MessageRef{}) {
			b.WriteString(string(m.Text) + "\n")
		}
	}
	return b.String()
}

func TestBot_DeployChanges(t *testing.T) {
	short := func(n int) string { return wwwSHA(n)[:7] }
	for _, tc := range []struct {
		name      string
		deploy    string
		status    string
		ahead     int
		behind    int
		listed    []string // SHAs, in order
		text      []string // in the card's text
		downgrade bool
	}{
		{name: "0 commits", deploy: wwwSHA(10), status: cs.CompareIdentical,
			text: []string{"Changes: no changes: " + short(10) + " already runs"}},
		{name: "3 commits", deploy: wwwSHA(13), status: cs.CompareAhead, ahead: 3,
			listed: []string{wwwSHA(11), wwwSHA(12), wwwSHA(13)},
			text: []string{
				"Changes: 3 new commits since " + short(10) + ", which runs now",
				"  • <https://github.com/mirage/mirage-www/commit/" + wwwSHA(11) + "|" + short(11) + "> change 11 — Odd Person\n",
				"|" + short(12) + "> change 12 — <@UOWN1>\n",
			}},
		{name: "25 commits", deploy: wwwSHA(35), status: cs.CompareAhead, ahead: 25,
			listed: shas(11, 30),
			text:   []string{"25 new commits since " + short(10), "|" + short(30) + "> change 30", "  … and 5 more: <http"}},
		{name: "downgrade", deploy: wwwSHA(7), status: cs.CompareBehind, behind: 3, downgrade: true,
			listed: []string{wwwSHA(8), wwwSHA(9), wwwSHA(10)},
			text:   []string{"⚠️ Changes: downgrade: " + short(7) + " is 3 commits behind " + short(10) + ", which runs now; deploying it takes them away"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := changesHarness(t)
			h.running("R100", wwwSHA(10), true, false)
			h.running("R101", wwwSHA(20), false, false) // failed: 10 still runs
			h.running("R102", wwwSHA(30), true, true)   // a dry run changed nothing
			h.say("UDEV1", "deploy www "+tc.deploy)
			r := h.wantState("R1", cs.StatePending)
			ch := r.Changes
			if ch == nil || ch.Unknown != "" || ch.From != wwwSHA(10) || ch.To != tc.deploy {
				t.Fatalf("Changes = %+v, want a comparison of %s with %s", ch, wwwSHA(10), tc.deploy)
			}
			if ch.Status != tc.status || ch.Ahead != tc.ahead || ch.Behind != tc.behind || ch.Downgrade() != tc.downgrade {
				t.Errorf("Changes: %s, ahead %d, behind %d, downgrade %v; want %s, %d, %d, %v",
					ch.Status, ch.Ahead, ch.Behind, ch.Downgrade(), tc.status, tc.ahead, tc.behind, tc.downgrade)
			}
			var got []string
			for _, c := range ch.Commits {
				got = append(got, c.SHA)
				if strings.Contains(c.Title, "\n") {
					t.Errorf("title %q: more than the first line", c.Title)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.listed) {
				t.Errorf("commits %v, want %v", got, tc.listed)
			}
			text := string(h.card("R1").Text)
			for _, want := range tc.text {
				if !strings.Contains(text, want) {
					t.Errorf("card text lacks %q:\n%s", want, text)
				}
			}
			if said := strings.Contains(h.replies(), "⚠️ R1: downgrade: "); said != tc.downgrade {
				t.Errorf("the thread says R1 is a downgrade: %v, want %v:\n%s", said, tc.downgrade, h.replies())
			}
		})
	}
}

func shas(from, to int) []string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, wwwSHA(i))
	}
	return s
}

// TestBot_DeployChangesUnknown: whatever goes wrong, the request is made
// and its card says why the changes are unknown.
func TestBot_DeployChangesUnknown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(*harness, *githubtest.Server)
		opts    []harnessOpt
		deploy  string
		unknown string
	}{
		{name: "nothing ran yet", setup: func(*harness, *githubtest.Server) {}, deploy: wwwSHA(13),
			unknown: "no successful deployment of www is recorded to compare with"},
		{name: "running without commit", setup: func(h *harness, _ *githubtest.Server) { h.running("R100", "", true, false) },
			deploy: wwwSHA(13), unknown: "R100, which runs now, has no commit recorded"},
		{name: "unknown commit", setup: func(h *harness, _ *githubtest.Server) { h.running("R100", wwwSHA(10), true, false) },
			deploy: unknownSHA, unknown: "GitHub does not know " + wwwSHA(10)[:7] + " or ddddddd"},
		{name: "github fails", setup: func(h *harness, srv *githubtest.Server) {
			h.running("R100", wwwSHA(10), true, false)
			srv.Fail("/repos/", 1, http.StatusBadGateway)
		}, deploy: wwwSHA(13), unknown: "GitHub could not be asked"},
		{name: "github refuses", setup: func(h *harness, srv *githubtest.Server) {
			h.running("R100", wwwSHA(10), true, false)
			srv.Fail("/repos/", 1, http.StatusForbidden)
		}, deploy: wwwSHA(13), unknown: "GitHub refused the comparison"},
		{name: "github hangs", opts: []harnessOpt{func(c *harnessConfig) { c.compareWait = 50 * time.Millisecond }},
			setup: func(h *harness, srv *githubtest.Server) {
				h.running("R100", wwwSHA(10), true, false)
				srv.Hang("/repos/", 1)
			}, deploy: wwwSHA(13), unknown: "GitHub did not answer within 50ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, srv := changesHarness(t, tc.opts...)
			tc.setup(h, srv)
			h.say("UDEV1", "deploy www "+tc.deploy)
			r := h.wantState("R1", cs.StatePending)
			if r.Changes == nil || !strings.HasPrefix(r.Changes.Unknown, tc.unknown) || len(r.Changes.Commits) != 0 || r.Changes.Downgrade() {
				t.Fatalf("Changes = %+v, want unknown: %s", r.Changes, tc.unknown)
			}
			if want := "Changes: changes unknown: " + string(bot.Esc(r.Changes.Unknown)); !strings.Contains(string(h.card("R1").Text), want) {
				t.Errorf("card text lacks %q:\n%s", want, h.card("R1").Text)
			}
		})
	}
}

// TestBot_DeployChangesDryRun: under dry-run, what runs is the last
// dry-run deployment.
func TestBot_DeployChangesDryRun(t *testing.T) {
	h, _ := changesHarness(t, func(c *harnessConfig) { c.dryRun = true })
	h.running("R100", wwwSHA(7), true, true)
	h.running("R101", wwwSHA(20), true, false) // a real one: not what the dry run compares with
	h.say("UDEV1", "deploy www "+wwwSHA(10))
	if r := h.request("R1"); r.Changes == nil || r.Changes.From != wwwSHA(7) || r.Changes.Ahead != 3 {
		t.Fatalf("Changes = %+v, want 3 commits since %s", r.Changes, wwwSHA(7))
	}
}

// TestBot_PushDowngrade: a push of an older commit says so in its thread.
func TestBot_PushDowngrade(t *testing.T) {
	h, _ := changesHarness(t)
	h.running("R100", wwwSHA(10), true, false)
	h.push("mirage/mirage-www", "master", wwwSHA(7), "talex5")
	r := h.wantState("R1", cs.StatePending)
	if r.Thread == r.Message || !r.Changes.Downgrade() {
		t.Fatalf("R1: thread %v, message %v, changes %+v: want a downgrade in the push's thread", r.Thread, r.Message, r.Changes)
	}
	for _, m := range h.chat.Posts() {
		if m.Thread.ID == r.Thread.ID && strings.Contains(string(m.Text), "⚠️ R1: downgrade: "+wwwSHA(7)[:7]+" is 3 commits behind") {
			return
		}
	}
	t.Errorf("the push thread does not say R1 is a downgrade: %v", h.chat.Posts())
}

// floodingGitHub answers every comparison with more than was asked for:
// 30 commits whose messages are megabytes, with long names.
type floodingGitHub struct{}

func (floodingGitHub) Compare(_ context.Context, _, _, _ string, _ int) (bot.Comparison, error) {
	c := bot.Comparison{Status: cs.CompareAhead, Ahead: 30}
	for i := range 30 {
		c.Commits = append(c.Commits, cs.Commit{SHA: wwwSHA(i), Title: "\n" + strings.Repeat("é", 1<<20) + "\nsecond line",
			Login: strings.Repeat("l", 1000), Name: strings.Repeat("n", 1000)})
	}
	return c, nil
}

// TestBot_DeployChangesBounded: what a request keeps of a comparison is
// bounded whatever GitHub answers.
func TestBot_DeployChangesBounded(t *testing.T) {
	h, _ := changesHarness(t, func(c *harnessConfig) { c.comparer = floodingGitHub{} })
	h.running("R100", wwwSHA(10), true, false)
	h.say("UDEV1", "deploy www "+wwwSHA(13))
	ch := h.request("R1").Changes
	if ch == nil || len(ch.Commits) != cs.MaxChanges || ch.Unlisted() != 10 {
		t.Fatalf("Changes = %d commits, %d unlisted; want %d and 10", len(ch.Commits), ch.Unlisted(), cs.MaxChanges)
	}
	for _, c := range ch.Commits {
		if n := utf8.RuneCountInString(c.Title); n != bot.MaxCommitTitle || strings.ContainsAny(c.Title, "\n") {
			t.Fatalf("title of %d characters, want the first line cut to %d", n, bot.MaxCommitTitle)
		}
		if utf8.RuneCountInString(c.Login) > 100 || utf8.RuneCountInString(c.Name) > 100 {
			t.Fatalf("login of %d, name of %d characters kept", utf8.RuneCountInString(c.Login), utf8.RuneCountInString(c.Name))
		}
	}
}

// TestBot_DowngradeWithoutList: when the commits a downgrade takes away
// cannot be listed, the downgrade is still said, with their count.
func TestBot_DowngradeWithoutList(t *testing.T) {
	h, srv := changesHarness(t)
	h.running("R100", wwwSHA(10), true, false)
	srv.Fail("/repos/mirage/mirage-www/compare/"+wwwSHA(7), 1, http.StatusInternalServerError) // the way back
	h.say("UDEV1", "deploy www "+wwwSHA(7))
	ch := h.request("R1").Changes
	if !ch.Downgrade() || len(ch.Commits) != 0 || ch.Unlisted() != 3 {
		t.Fatalf("Changes = %+v, want a downgrade of 3 commits, none listed", ch)
	}
	if text := string(h.card("R1").Text); !strings.Contains(text, "⚠️ Changes: downgrade: ") || !strings.Contains(text, "… and 3 more: <http") {
		t.Errorf("card text:\n%s", text)
	}
	if !strings.Contains(h.replies(), "⚠️ R1: downgrade: ") {
		t.Errorf("the thread does not say R1 is a downgrade:\n%s", h.replies())
	}
}
