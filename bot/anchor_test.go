package bot_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

var anchorText = regexp.MustCompile("`([0-9]+:[0-9a-f]{64})`")

// TestAnchor_PostedAndAnswered: the anchor goes to the audit channel at
// start and on `audit anchor`, and names the chain's current head.
func TestAnchor_PostedAndAnswered(t *testing.T) {
	h := newHarness(t, func(c *harnessConfig) { c.auditChannel = "CAUDIT" })
	h.idle()
	// The start's anchor comes from a loop Idle does not wait for.
	waitFor(t, "the anchor posted at start", func() bool {
		return slices.ContainsFunc(h.chat.Posts(), func(p bot.Message) bool { return p.Channel == "CAUDIT" })
	})
	h.say("UOPS1", "lock api maintenance")
	got := h.say("UOPS1", "audit anchor")
	m := anchorText.FindStringSubmatch(got)
	if m == nil || !strings.Contains(got, "Posted in <#CAUDIT>") {
		t.Fatalf("audit anchor answered %q", got)
	}
	head := h.lastEvent()
	if want := head; !strings.HasSuffix(m[1], ":"+want.Hash) || !strings.HasPrefix(m[1], itoa(want.Seq)+":") {
		t.Errorf("anchor %s is not the head %d:%s", m[1], want.Seq, want.Hash)
	}
	var inChannel []string
	for _, p := range h.chat.Posts() {
		if p.Channel == "CAUDIT" {
			inChannel = append(inChannel, string(p.Text))
		}
	}
	if len(inChannel) != 2 || !strings.Contains(inChannel[1], m[1]) || !strings.Contains(inChannel[0], "Audit anchor at") {
		t.Errorf("audit channel got %q", inChannel)
	}
}

func TestAnchor_WithoutChannelSaysWhereToKeepIt(t *testing.T) {
	h := newHarness(t)
	if got := h.say("UOPS1", "audit anchor"); !anchorText.MatchString(got) || !strings.Contains(got, "No audit channel is configured") {
		t.Errorf("audit anchor answered %q", got)
	}
}

// lastEvent is the newest audit record.
func (h *harness) lastEvent() cs.Event {
	h.t.Helper()
	var evs []cs.Event
	if err := h.db.View(h.ctx, func(tx bot.ReadTx) error {
		var err error
		evs, err = tx.Events(bot.EventQuery{Limit: 1})
		return err
	}); err != nil || len(evs) != 1 {
		h.t.Fatalf("read the audit head: %v", err)
	}
	return evs[0]
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
