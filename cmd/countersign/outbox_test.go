package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/store"
)

// asideDB writes a database holding two entries set aside: a Slack post
// refused for its size, a GitHub status given up on.
func asideDB(t *testing.T, at time.Time) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "aside.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, a := range []bot.Aside{
		{Entry: bot.Outgoing{Op: bot.OpPost, Message: bot.Message{Channel: "C0DEPLOYS", Text: "R1 · deploy api"}},
			Reason: bot.AsideRefused, Error: "slack chat.postMessage: the chat refused the message: msg_blocks_too_long", At: at},
		{Entry: bot.Outgoing{Lane: bot.LaneGitHub, Op: bot.OpReport, Report: &bot.Report{Repo: "org/api", SHA: strings.Repeat("a", 40),
			Status: &bot.CommitStatus{Context: "countersign/api", State: "success"}}, Failing: at.Add(-25 * time.Hour)},
			Reason: bot.AsideGaveUp, Error: "report status: 502 Bad Gateway", At: at},
	} {
		if err := db.Update(context.Background(), func(tx bot.Tx) error {
			o, err := tx.QueueOutgoing(a.Entry)
			if err != nil {
				return err
			}
			a.Entry = o
			return tx.SetAside(a)
		}); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestOutboxList_DB(t *testing.T) {
	path := asideDB(t, time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	code, out, errOut := run(t, "", nil, "outbox", "list", "--db", path)
	if code != exitOK {
		t.Fatalf("outbox list: %d %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "SEQ") ||
		!strings.Contains(lines[1], "chat") || !strings.Contains(lines[1], "C0DEPLOYS") || !strings.Contains(lines[1], "refused") || !strings.Contains(lines[1], "msg_blocks_too_long") ||
		!strings.Contains(lines[2], "github") || !strings.Contains(lines[2], "org/api@aaaaaaaaaaaa") || !strings.Contains(lines[2], "gave_up") {
		t.Errorf("outbox list:\n%s", out)
	}

	code, out, errOut = run(t, "", nil, "outbox", "list", "--db", path, "--json")
	if code != exitOK {
		t.Fatalf("outbox list --json: %d %q", code, errOut)
	}
	var got []bot.Aside
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var a bot.Aside
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		got = append(got, a)
	}
	if len(got) != 2 || got[0].Entry.Message.Text != "R1 · deploy api" || got[1].Entry.Report == nil || got[1].Entry.Failing.IsZero() {
		t.Errorf("outbox list --json: %+v", got)
	}
}

func TestOutboxList_Empty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, out, errOut := run(t, "", nil, "outbox", "list", "--db", path); code != exitOK || !strings.Contains(out, "nothing set aside") {
		t.Errorf("outbox list of an empty database: %d %q %q", code, out, errOut)
	}
}

func TestOutboxList_Errors(t *testing.T) {
	held := asideDB(t, time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	db, err := store.Open(held, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no verb", []string{"outbox"}, exitUsage, "usage: countersign outbox list"},
		{"unknown verb", []string{"outbox", "drop", "--db", "x"}, exitUsage, "usage: countersign outbox list"},
		{"no source", []string{"outbox", "list"}, exitUsage, "usage: countersign outbox list"},
		{"both sources", []string{"outbox", "list", "--db", "x", "--server", "http://y"}, exitUsage, "usage: countersign outbox list"},
		{"missing file", []string{"outbox", "list", "--db", filepath.Join(t.TempDir(), "nope.db")}, exitFail, "no such file"},
		{"held by a running bot", []string{"outbox", "list", "--db", held}, exitFail, "use --server URL"},
		{"server without a token", []string{"outbox", "list", "--server", "http://127.0.0.1:1"}, exitFail, "--token-file FILE or $COUNTERSIGN_AUDIT_TOKEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := run(t, "", nil, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("%v: %d %q, want %d and %q", tc.args, code, errOut, tc.code, tc.want)
			}
		})
	}
}

// startServerOn is startServer on the database at path.
func startServerOn(t *testing.T, path string) (url string, stop func()) {
	t.Helper()
	url, _, stop = startServerWith(t, "", func(cfg string) string {
		i := strings.Index(cfg, "db: ")
		j := strings.Index(cfg[i:], "\n")
		return cfg[:i] + "db: " + path + cfg[i+j:]
	})
	return url, stop
}

// TestServe_SetAsideShows: a running bot whose outbox set entries aside
// says so on /healthz (degraded, still 200, for a day after the last)
// and /metrics, and lists them to `outbox list --server`.
func TestServe_SetAsideShows(t *testing.T) {
	// /healthz follows the real clock: so do these times.
	old := time.Now().Add(-asideAlarm - time.Hour)
	url, stop := startServerOn(t, asideDB(t, old))
	code, body := get(t, url+"/healthz", "")
	stop()
	if code != 200 || !strings.HasPrefix(body, "ok\nslack: connected\n") ||
		!strings.Contains(body, "outbox: 2 Slack messages or GitHub reports never got through and were set aside, the last at "+old.UTC().Format(time.RFC3339)) {
		t.Errorf("healthz a day after the last entry was set aside = %d %q", code, body)
	}

	url, stop = startServerOn(t, asideDB(t, time.Now().Add(-time.Hour)))
	defer stop()
	if code, body := get(t, url+"/healthz", ""); code != 200 || !strings.HasPrefix(body, "degraded\nslack: connected\noutbox: 2 Slack messages") {
		t.Errorf("healthz = %d %q", code, body)
	}
	if code, body := get(t, url+"/metrics", ""); code != 200 || !strings.Contains(body, "countersign_outbox_set_aside 2") {
		t.Errorf("metrics = %d, want countersign_outbox_set_aside 2", code)
	}
	if code, _ := get(t, url+"/outbox/aside", ""); code != 401 {
		t.Errorf("GET /outbox/aside without a token = %d, want 401", code)
	}
	code, out, errOut := run(t, "", map[string]string{"COUNTERSIGN_AUDIT_TOKEN": serveToken}, "outbox", "list", "--server", url)
	if code != exitOK || !strings.Contains(out, "msg_blocks_too_long") || !strings.Contains(out, "org/api@") {
		t.Errorf("outbox list --server: %d %q %q", code, out, errOut)
	}
}
