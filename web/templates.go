package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
)

// pages are the parsed templates, one set per page, each with base.html.
type pages struct {
	byName map[string]*template.Template
	titles map[string]string
}

var pageTitles = map[string]string{
	"overview": "Overview", "request": "Request", "service": "Service",
	"audit": "Audit trail", "login": "Sign in", "problem": "Problem", "policies": "Policies",
}

func parsePages(commitURL func(service, sha string) string) (*pages, error) {
	funcs := template.FuncMap{
		"when":      when,
		"digest":    shortDigest,
		"digests":   shortDigests,
		"short":     cs.ShortSHA,
		"duration":  duration,
		"commitURL": commitURL,
		"summary":   summary,
		"detail":    detailJSON,
		"filter":    filterURL,
		"plural": func(n uint64, one, many string) string {
			if n == 1 {
				return "1 " + one
			}
			return strconv.FormatUint(n, 10) + " " + many
		},
		"stateClass": func(s cs.State) string {
			switch s {
			case cs.StateSucceeded:
				return "ok"
			case cs.StateFailed, cs.StateDenied, cs.StateRefused, cs.StateInterrupted:
				return "bad"
			}
			return "wait"
		},
	}
	p := &pages{byName: map[string]*template.Template{}, titles: pageTitles}
	for name := range pageTitles {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/base.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse page %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// when shows a time in UTC; the page's script adds the reader's local
// time on hover.
func when(t time.Time) template.HTML {
	if t.IsZero() {
		return "—"
	}
	u := t.UTC()
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="UTC">%s</time>`,
		u.Format(time.RFC3339), u.Format("2006-01-02 15:04:05 UTC")))
}

// shortDigest shortens "repo@sha256:<64 hex>" to "repo@sha256:<12 hex>…".
func shortDigest(image string) string {
	repo, dgst, ok := strings.Cut(image, "@sha256:")
	if !ok || len(dgst) <= 12 {
		return image
	}
	return repo + "@sha256:" + dgst[:12] + "…"
}

var digestRE = regexp.MustCompile(`sha256:([0-9a-f]{12})[0-9a-f]{52}`)

// shortDigests shortens every sha256 digest in a line of text (a live
// status, a change), which would otherwise take a table's width.
func shortDigests(s string) string { return digestRE.ReplaceAllString(s, "sha256:$1…") }

// duration is how long from start to end took, to the second.
func duration(start, end time.Time) string {
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return "—"
	}
	d := end.Sub(start)
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return d.Round(time.Second).String()
}

// summaryKeys are the detail fields worth a line in the timeline, in the
// order they are looked for.
var summaryKeys = []string{"step", "summary", "reason", "outcome", "error", "text", "note", "progress", "plan"}

// summary picks the most telling field of a record's detail.
func summary(e cs.Event) string {
	var d map[string]any
	if json.Unmarshal(e.Detail, &d) != nil {
		return ""
	}
	for _, k := range summaryKeys {
		if v, ok := d[k].(string); ok && v != "" {
			return v
		}
	}
	if l, ok := d["lock"].(map[string]any); ok {
		if r, ok := l["reason"].(string); ok {
			return "locked: " + r
		}
	}
	if p, ok := d["policy"].(string); ok && p != "" {
		return "policy " + p
	}
	return ""
}

// detailJSON is a record's detail, indented.
func detailJSON(e cs.Event) string {
	var buf bytes.Buffer
	if json.Indent(&buf, e.Detail, "", "  ") != nil {
		return string(e.Detail)
	}
	return buf.String()
}

// filterURL links /audit filtered by one field.
func filterURL(key, value string) string {
	return "/audit?" + url.Values{key: {value}}.Encode()
}
