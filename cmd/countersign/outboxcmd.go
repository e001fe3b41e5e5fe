package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/countersign/countersign/bot"
)

const outboxUsage = `usage: countersign outbox list (--db FILE | --server URL [--token-file FILE]) [--json]
  what never reached Slack or GitHub: entries the outbox set aside, oldest first
  --json prints each whole entry (the message or report too) as a JSON line
  with --server the token comes from --token-file or $COUNTERSIGN_AUDIT_TOKEN`

// outbox runs `countersign outbox list`.
func (m *Main) outbox(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "list" {
		fmt.Fprintln(m.Stderr, outboxUsage)
		return exitUsage
	}
	fs := flag.NewFlagSet("outbox list", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	var src auditSource
	src.flags(fs)
	asJSON := fs.Bool("json", false, "print each whole entry as a JSON line")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 || (src.db == "") == (src.server == "") {
		fmt.Fprintln(m.Stderr, outboxUsage)
		return exitUsage
	}
	var aside []bot.Aside
	var err error
	if src.server != "" {
		if src.token, err = m.auditToken(src.tokenFile); err != nil {
			return m.failf("%v", err)
		}
		aside, err = fetchAside(ctx, src)
	} else {
		aside, err = readAside(ctx, src.db)
	}
	if err != nil {
		return m.failf("%v", err)
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		for _, a := range aside {
			if err := enc.Encode(a); err != nil {
				return m.failf("%v", err)
			}
		}
		return exitOK
	}
	if len(aside) == 0 {
		fmt.Fprintln(m.Stdout, "nothing set aside: everything the outbox was given reached Slack and GitHub")
		return exitOK
	}
	w := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "SEQ\tSET ASIDE\tLANE\tOP\tTO\tREASON\tERROR")
	for _, a := range aside {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Entry.Seq, a.At.UTC().Format(time.RFC3339), bot.LaneName(a.Entry.Lane),
			a.Entry.Op, asideTo(a.Entry), a.Reason, oneLine(a.Error))
	}
	if err := w.Flush(); err != nil {
		return m.failf("%v", err)
	}
	return exitOK
}

// asideTo says where an entry was going: a channel, a user, a commit.
func asideTo(o bot.Outgoing) string {
	switch {
	case o.Report != nil:
		return o.Report.Repo + "@" + o.Report.SHA[:min(len(o.Report.SHA), 12)]
	case o.Op == bot.OpEphemeral:
		return string(o.To.User) + " in " + o.To.Channel
	case o.Op == bot.OpUpdate:
		return "message " + o.ID
	}
	return o.Message.Channel
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// readAside reads the list from the file, read-only; a file held by a
// running bot is refused at once, naming --server.
func readAside(ctx context.Context, path string) ([]bot.Aside, error) {
	db, err := openAudit(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var out []bot.Aside
	err = db.View(ctx, func(tx bot.ReadTx) error {
		var err error
		out, err = tx.Aside()
		return err
	})
	return out, err
}

// fetchAside reads the list from a running bot (GET /outbox/aside).
func fetchAside(ctx context.Context, src auditSource) ([]bot.Aside, error) {
	body, err := src.fetch(ctx, "/outbox/aside", nil)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var out []bot.Aside
	dec := json.NewDecoder(bufio.NewReader(body))
	for {
		var a bot.Aside
		if err := dec.Decode(&a); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("read /outbox/aside: %w", err)
		}
		out = append(out, a)
	}
}

// outboxAside serves GET /outbox/aside: the entries set aside, as JSON
// lines, oldest first.
func (s *server) outboxAside(w http.ResponseWriter, r *http.Request) {
	var aside []bot.Aside
	if err := s.db.View(r.Context(), func(tx bot.ReadTx) error {
		var err error
		aside, err = tx.Aside()
		return err
	}); err != nil {
		s.log.Error("outbox aside", "err", err)
		http.Error(w, "reading the outbox failed (see the log)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, a := range aside {
		if err := enc.Encode(a); err != nil {
			return
		}
	}
}
