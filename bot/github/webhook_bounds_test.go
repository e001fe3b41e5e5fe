package github_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github"
)

// TestWebhook_LongText pushes a commit with a 20 MB message, a long
// pusher name and a long address: the request, the push record and the
// audit trail keep the title's first 200 characters and bounded names,
// and the database does not grow by the message.
func TestWebhook_LongText(t *testing.T) {
	w := hookNewWorld(t, hookService("www", "mirage/mirage-www", "live"))
	const sha = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
	body, err := json.Marshal(map[string]any{"ref": "refs/heads/live", "before": strings.Repeat("0", 40), "after": sha,
		"repository": map[string]any{"full_name": "mirage/mirage-www"}, "sender": map[string]any{"login": "talex5"},
		"pusher": map[string]any{"name": strings.Repeat("p", 300)},
		"head_commit": map[string]any{"id": sha, "message": strings.Repeat("é", 10<<20) + "\n\nbody",
			"url": "https://github.com/" + strings.Repeat("u", 3000), "author": map[string]any{"username": "alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, w.path)
	if code, text := w.deliver(hookRequest(w.srv.URL, "push", "long-1", body)); code != http.StatusOK {
		t.Fatalf("push: %d %q", code, text)
	}
	w.idle()
	wantTitle := strings.Repeat("é", bot.MaxCommitTitle-1) + "…"
	rs := w.requests()
	if len(rs) != 1 || rs[0].CommitTitle != wantTitle {
		t.Fatalf("%d requests, the first titled with %d characters; want one titled with the first %d", len(rs), len([]rune(firstTitle(rs))), bot.MaxCommitTitle)
	}
	var rec bot.PushRecord
	if err := w.db.View(w.ctx, func(tx bot.ReadTx) error {
		var err error
		rec, _, err = tx.PushRecord("www", sha)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if rec.Push.Title != wantTitle || rec.Push.URL != "" || len([]rune(rec.Push.Pusher)) > 201 {
		t.Errorf("push record keeps title %d characters, URL %d bytes, pusher %d characters", len([]rune(rec.Push.Title)), len(rec.Push.URL), len([]rune(rec.Push.Pusher)))
	}
	for _, e := range w.events("") {
		if len(e.Raw) > 4<<10 {
			t.Errorf("%s record of %d bytes", e.Kind, len(e.Raw))
		}
	}
	w.stop()
	if grown := fileSize(t, w.path) - before; grown > 1<<20 {
		t.Errorf("the database grew by %d bytes for one push", grown)
	}
}

func firstTitle(rs []cs.Request) string {
	if len(rs) == 0 {
		return ""
	}
	return rs[0].CommitTitle
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestWebhook_LongNames: a repository or ref longer than GitHub allows
// is malformed, not cut into another name.
func TestWebhook_LongNames(t *testing.T) {
	const sha = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"
	for _, tc := range []struct{ name, repo, ref string }{
		{"repository", strings.Repeat("r", 300), "refs/heads/live"},
		{"ref", "mirage/mirage-www", "refs/heads/" + strings.Repeat("b", 2000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &hookIntake{services: []string{"www"}}
			body, _ := json.Marshal(map[string]any{"ref": tc.ref, "before": strings.Repeat("0", 40), "after": sha,
				"repository": map[string]any{"full_name": tc.repo}, "head_commit": map[string]any{"id": sha, "message": "x"}})
			code, _ := hookServe(hookNew(t, in, github.WebhookOptions{}), hookRequest("", "push", "d1", body))
			if code != http.StatusBadRequest || len(in.pushes) != 0 {
				t.Fatalf("status %d, pushes %d; want 400 and none", code, len(in.pushes))
			}
			if len(in.ignored) != 1 || in.ignored[0].Reason != "malformed payload" || len(in.ignored[0].D.Repo) > 256 {
				t.Errorf("audited %+v, want one malformed payload with a bounded repository", in.ignored)
			}
		})
	}
}

// TestWebhook_Replayed replays one signed ping under 100 new delivery IDs:
// the first receipt is audited, the repeats are counted and audited at
// 1, 2, 4, … 64 (7 records, not 100), their IDs are not stored, and a
// new delivery after is audited as usual.
func TestWebhook_Replayed(t *testing.T) {
	w := hookNewWorld(t)
	ping := hookFixture(t, "ping.json")
	send := func(id string, body []byte, want string) {
		t.Helper()
		code, text := w.deliver(hookRequest(w.srv.URL, "ping", id, body))
		if code != http.StatusOK || !strings.HasPrefix(text, want) {
			t.Fatalf("%s: %d %q, want 200 %q…", id, code, text, want)
		}
	}
	send("ping-1", ping, "ignored: ping")
	for i := 1; i <= 100; i++ {
		send(fmt.Sprintf("replay-%d", i), ping, "ignored: ping") // counted, as the records below show
	}
	send("ping-1", ping, "duplicate delivery") // a redelivery is still one
	recs := w.events(cs.EventWebhookReceived)
	var repeats []float64
	for _, r := range recs[1:] {
		if r.D["repeat_of"] != "ping-1" {
			t.Errorf("record %s, want a repeat of ping-1", r.Raw)
		}
		n, _ := r.D["repeats"].(float64)
		repeats = append(repeats, n)
	}
	if len(recs) != 8 || recs[0].D["delivery"] != "ping-1" || fmt.Sprint(repeats) != "[1 2 4 8 16 32 64]" {
		t.Fatalf("%d webhook.received records, repeats %v; want ping-1 then repeats [1 2 4 8 16 32 64]", len(recs), repeats)
	}
	digest := strings.TrimPrefix(hookSign(hookSecret, ping), "sha256=")
	if err := w.db.Update(w.ctx, func(tx bot.Tx) error {
		p, ok, err := tx.Payload(digest)
		if err != nil || !ok || p.First != "ping-1" || p.Repeats != 100 || p.Last != "replay-100" {
			t.Errorf("payload kept: %+v %v %v; want first ping-1, 100 repeats, last replay-100", p, ok, err)
		}
		if seen, err := tx.SeenDelivery("replay-50", time.Now()); seen || err != nil {
			t.Errorf("a replay's delivery ID was stored (%v, %v)", seen, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	other := []byte(strings.Replace(string(ping), `"zen"`, `"zen": "Keep it logically awesome.", "old_zen"`, 1))
	send("ping-2", other, "ignored: ping")
	if got := len(w.events(cs.EventWebhookReceived)); got != 9 {
		t.Errorf("a new delivery after the replays: %d records, want 9", got)
	}
}
