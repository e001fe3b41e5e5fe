package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/store"
)

const auditUsage = `usage: countersign audit verify|list|export (--db FILE | --server URL [--token-file FILE])
  list filters: --target NAME --actor ID --kind KIND --request RN --since 24h|RFC3339 --until RFC3339 --limit N
  verify: --anchor SEQ:HASH, --anchors FILE (every SEQ:HASH in the file, e.g. the audit channel's history)
  with --server the token comes from --token-file or $COUNTERSIGN_AUDIT_TOKEN`

// auditSource is where audit commands read from: the file, or a running bot.
type auditSource struct {
	db     string
	server string
	token  string
	// tokenFile holds the token for server (--token-file).
	tokenFile string
}

// flags declares --db, --server and --token-file, which say where the
// source is.
func (src *auditSource) flags(fs *flag.FlagSet) {
	fs.StringVar(&src.db, "db", "", "database file")
	fs.StringVar(&src.server, "server", "", "URL of a running countersign serve")
	fs.StringVar(&src.tokenFile, "token-file", "", "file holding the audit token (for --server)")
}

// audit runs `countersign audit verify|list|export`.
func (m *Main) audit(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(m.Stderr, auditUsage)
		return exitUsage
	}
	verb := args[0]
	fs := flag.NewFlagSet("audit "+verb, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	var src auditSource
	src.flags(fs)
	var q bot.EventQuery
	var since, until, kind, actor, request string
	fs.StringVar(&q.Target, "target", "", "only records about this target")
	fs.StringVar(&actor, "actor", "", "only records by this actor")
	fs.StringVar(&kind, "kind", "", "only records of this kind")
	fs.StringVar(&request, "request", "", "only records about this request")
	fs.StringVar(&since, "since", "", "only records since (a duration back from now, e.g. 24h, or RFC 3339)")
	fs.StringVar(&until, "until", "", "only records before (RFC 3339)")
	fs.IntVar(&q.Limit, "limit", 0, "keep the newest N")
	anchor := fs.String("anchor", "", "verify: SEQ:HASH written down from an earlier verify; fails unless record SEQ still has that hash")
	anchorsFile := fs.String("anchors", "", "verify: a file holding anchors (SEQ:HASH), e.g. the audit channel's exported or pasted history; every one must hold")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 || (src.db == "") == (src.server == "") {
		fmt.Fprintln(m.Stderr, auditUsage)
		return exitUsage
	}
	q.Kind, q.Actor, q.Request = cs.EventKind(kind), cs.Actor(actor), cs.RequestID(request)
	var err error
	if q.Since, err = parseWhen(since, time.Now()); err != nil {
		return m.usageErr("--since: %v", err)
	}
	if q.Until, err = parseWhen(until, time.Now()); err != nil {
		return m.usageErr("--until: %v", err)
	}
	if src.server != "" {
		if src.token, err = m.auditToken(src.tokenFile); err != nil {
			return m.failf("%v", err)
		}
	}
	switch verb {
	case "verify":
		anchors, err := readAnchors(*anchor, *anchorsFile)
		if err != nil {
			return m.usageErr("%v", err)
		}
		return m.auditVerify(ctx, src, anchors)
	case "export":
		return m.auditExport(ctx, src)
	case "list":
		return m.auditList(ctx, src, q)
	}
	fmt.Fprintf(m.Stderr, "countersign: unknown audit command %q\n%s\n", verb, auditUsage)
	return exitUsage
}

func (m *Main) usageErr(format string, args ...any) int {
	fmt.Fprintf(m.Stderr, "countersign: "+format+"\n", args...)
	return exitUsage
}

// parseWhen reads "24h", "7d" (back from now) or an RFC 3339 time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d >= 0 {
			return now.Add(-time.Duration(d) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (24h, 7d) nor an RFC 3339 time", s)
}

func (m *Main) auditToken(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read audit token: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if v, ok := m.Getenv("COUNTERSIGN_AUDIT_TOKEN"); ok && v != "" {
		return v, nil
	}
	return "", errors.New("--server needs the audit token: --token-file FILE or $COUNTERSIGN_AUDIT_TOKEN")
}

// openAudit opens the database read-only; a file held by a running bot
// is reported at once, naming --server. A damaged file is refused with an
// error wrapping store.ErrDamaged that names the damage: bbolt trusts its
// pages, and reading a damaged one would panic or fault.
func openAudit(path string) (*store.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open audit database: %w", err)
	}
	return store.Open(path, store.Options{ReadOnly: true, CheckOnOpen: true})
}

// fetch GETs path on the running bot with the audit token.
func (src auditSource) fetch(ctx context.Context, path string, query url.Values) (io.ReadCloser, error) {
	u, err := url.Parse(strings.TrimSuffix(src.server, "/") + path)
	if err != nil {
		return nil, fmt.Errorf("bad --server URL: %w", err)
	}
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+src.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %s", u.Redacted(), resp.Status, strings.TrimSpace(string(body)))
	}
	return resp.Body, nil
}

// anchorPattern finds anchors in free text: a Slack export, a paste.
var anchorPattern = regexp.MustCompile(`\b([1-9][0-9]{0,18}):([0-9a-f]{64})\b`)

// readAnchors collects the anchor given with --anchor and those in the
// --anchors file, by record number. Two different hashes for one record
// are themselves proof of tampering with one of the copies.
func readAnchors(one, file string) (map[uint64]string, error) {
	anchors := map[uint64]string{}
	if one != "" {
		m := anchorPattern.FindStringSubmatch(one)
		if m == nil || m[0] != one {
			return nil, fmt.Errorf("--anchor: want SEQ:HASH as printed by audit verify, got %q", short(one))
		}
		n, _ := strconv.ParseUint(m[1], 10, 64)
		anchors[n] = m[2]
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--anchors: %w", err)
		}
		found := anchorPattern.FindAllStringSubmatch(string(b), -1)
		if len(found) == 0 {
			return nil, fmt.Errorf("--anchors: %s holds no SEQ:HASH anchor", file)
		}
		for _, m := range found {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			if h, ok := anchors[n]; ok && h != m[2] {
				return nil, fmt.Errorf("--anchors: record %d is anchored with two different hashes (%s… and %s…)", n, h[:12], m[2][:12])
			}
			anchors[n] = m[2]
		}
	}
	return anchors, nil
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// auditVerify checks the chain. The chain alone cannot show a rewritten
// tail (whoever rewrites it can recompute the hashes after the change), so
// `verify` prints the head as SEQ:HASH for the auditor to keep elsewhere,
// and anchors (--anchor, --anchors) check kept ones: an intact chain whose
// record SEQ still has HASH proves records 1..SEQ unchanged.
func (m *Main) auditVerify(ctx context.Context, src auditSource, anchors map[uint64]string) int {
	var count uint64
	var head string
	var err error
	if src.server != "" {
		var body io.ReadCloser
		if body, err = src.fetch(ctx, "/audit/export", nil); err != nil {
			return m.failf("%v", err)
		}
		defer body.Close()
		count, head, err = store.VerifyLines(body)
	} else {
		var db *store.DB
		if db, err = openAudit(src.db); errors.Is(err, store.ErrDamaged) {
			return m.failf("audit verify FAILED: %v", err)
		} else if err != nil {
			return m.failf("%v", err)
		}
		count, head, err = db.VerifyAudit(ctx)
		db.Close() // recordHashes opens it again
	}
	if err != nil {
		return m.failf("audit verify FAILED after %d good records: %v", count, err)
	}
	if len(anchors) > 0 {
		got, err := m.recordHashes(ctx, src, anchors)
		if err != nil {
			return m.failf("audit verify FAILED: %v", err)
		}
		seqs := make([]uint64, 0, len(anchors))
		for seq := range anchors {
			seqs = append(seqs, seq)
		}
		slices.Sort(seqs)
		for _, seq := range seqs {
			h, ok := got[seq]
			if !ok {
				return m.failf("audit verify FAILED: anchor %d: the trail has fewer than %d records: it was truncated", seq, seq)
			}
			if h != anchors[seq] {
				return m.failf("audit verify FAILED: record %d has hash %s, not the anchored %s: the trail was rewritten up to or before it", seq, h, anchors[seq])
			}
		}
		fmt.Fprintf(m.Stdout, "OK: %d records, head %s (anchor: %d:%s); %d anchor(s) hold\n", count, head, count, head, len(anchors))
		return exitOK
	}
	fmt.Fprintf(m.Stdout, "OK: %d records, head %s (anchor: %d:%s)\n", count, head, count, head)
	return exitOK
}

// recordHashes returns the hashes of the records numbered in want, read
// from the export in one pass.
func (m *Main) recordHashes(ctx context.Context, src auditSource, want map[uint64]string) (map[uint64]string, error) {
	var r io.Reader
	if src.server != "" {
		body, err := src.fetch(ctx, "/audit/export", nil)
		if err != nil {
			return nil, err
		}
		defer body.Close()
		r = body
	} else {
		db, err := openAudit(src.db)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		pr, pw := io.Pipe()
		go func() {
			_, err := db.ExportAudit(ctx, pw)
			pw.CloseWithError(err)
		}()
		defer pr.Close()
		r = pr
	}
	got := map[uint64]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := uint64(1); sc.Scan() && len(got) < len(want); n++ {
		if _, ok := want[n]; ok {
			e, err := cs.ParseEvent(sc.Bytes())
			if err != nil {
				return nil, fmt.Errorf("record %d: %w", n, err)
			}
			got[n] = e.Hash
		}
	}
	return got, sc.Err()
}

func (m *Main) auditExport(ctx context.Context, src auditSource) int {
	w := bufio.NewWriterSize(m.Stdout, 1<<16)
	defer w.Flush()
	if src.server != "" {
		body, err := src.fetch(ctx, "/audit/export", nil)
		if err != nil {
			return m.failf("%v", err)
		}
		defer body.Close()
		if _, err := io.Copy(w, body); err != nil {
			return m.failf("export: %v", err)
		}
		return exitOK
	}
	db, err := openAudit(src.db)
	if err != nil {
		return m.failf("%v", err)
	}
	defer db.Close()
	if _, err := db.ExportAudit(ctx, w); err != nil {
		return m.failf("export: %v", err)
	}
	return exitOK
}

func (m *Main) auditList(ctx context.Context, src auditSource, q bot.EventQuery) int {
	var evs []cs.Event
	if src.server != "" {
		body, err := src.fetch(ctx, "/audit/export", queryValues(q))
		if err != nil {
			return m.failf("%v", err)
		}
		defer body.Close()
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			e, err := cs.ParseEvent(sc.Bytes())
			if err != nil {
				return m.failf("%v", err)
			}
			evs = append(evs, e)
		}
		if err := sc.Err(); err != nil {
			return m.failf("read export: %v", err)
		}
	} else {
		db, err := openAudit(src.db)
		if err != nil {
			return m.failf("%v", err)
		}
		defer db.Close()
		if evs, err = db.ListAudit(ctx, q); err != nil {
			return m.failf("%v", err)
		}
	}
	w := bufio.NewWriter(m.Stdout)
	defer w.Flush()
	for _, e := range evs {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s %s\t%s\n", e.Seq, e.Time.UTC().Format(cs.TimeLayout), e.Kind, e.Actor, e.Request, e.Action, e.Target, e.Detail)
	}
	return exitOK
}

// queryValues is the HTTP form of an audit query (GET /audit/export).
func queryValues(q bot.EventQuery) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("target", q.Target)
	set("actor", string(q.Actor))
	set("kind", string(q.Kind))
	set("request", string(q.Request))
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// backup runs `countersign backup --server URL --out FILE`.
func (m *Main) backup(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	var src auditSource
	var tokenFile, out string
	fs.StringVar(&src.server, "server", "", "URL of a running countersign serve (required)")
	fs.StringVar(&tokenFile, "token-file", "", "file holding the audit token")
	fs.StringVar(&out, "out", "", "file to write the copy to (required; must not exist)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || src.server == "" || out == "" {
		fmt.Fprintln(m.Stderr, "usage: countersign backup --server URL --out FILE [--token-file FILE]")
		return exitUsage
	}
	var err error
	if src.token, err = m.auditToken(tokenFile); err != nil {
		return m.failf("%v", err)
	}
	body, err := src.fetch(ctx, "/backup", nil)
	if err != nil {
		return m.failf("%v", err)
	}
	defer body.Close()
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return m.failf("backup: %v", err)
	}
	n, err := io.Copy(f, body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return m.failf("backup: %v", err)
	}
	fmt.Fprintf(m.Stdout, "wrote %s (%d bytes)\n", out, n)
	return exitOK
}
