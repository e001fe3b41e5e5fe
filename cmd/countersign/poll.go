package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/cmd/countersign/config"
	"github.com/prometheus/client_golang/prometheus"
)

// usePoll lets the bot read the followed branches' heads through gh every
// github.poll. A dry run talks to GitHub not at all, so it reads none.
func usePoll(bc *bot.Config, cfg *config.Config, mode execMode, gh *github.Client, log *slog.Logger) {
	switch {
	case mode != modeReal:
		log.Info("dry run: branch heads are not read from GitHub (github.poll)")
	case cfg.GitHub.Poll == 0:
		log.Info("github.poll is 0: branch heads are not read; a push whose webhook is lost is not taken")
	case gh == nil:
		log.Warn("branch heads are not read (github.poll) without github.token or a GitHub App: a push whose webhook is lost is not taken")
	default:
		bc.Branches, bc.Poll = gh, cfg.GitHub.Poll
	}
}

// pollSummary writes /healthz's line about the branch reads: no
// repository is named, since /healthz answers anyone.
func pollSummary(w io.Writer, every time.Duration, status []bot.RepoPoll) {
	if every == 0 || len(status) == 0 {
		fmt.Fprintln(w, "github poll: off")
		return
	}
	var last time.Time
	failing := 0
	for _, rp := range status {
		if rp.Last.After(last) {
			last = rp.Last
		}
		if rp.Errors > 0 {
			failing++
		}
	}
	when := "not yet"
	if !last.IsZero() {
		when = "last " + last.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "github poll: every %s, %s, %d repositories, %d failing (GET /healthz/github)\n", every, when, len(status), failing)
}

// healthzGitHub answers GET /healthz/github (read token): the last poll
// of each repository, one line each.
func (s *server) healthzGitHub(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	status := s.bot.PollStatus()
	pollSummary(w, s.poll, status)
	for _, rp := range status {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: ", rp.Repo)
		if rp.Last.IsZero() {
			b.WriteString("not read yet")
		} else {
			fmt.Fprintf(&b, "read %s, %d branches, %d unchanged (304), %d failed", rp.Last.UTC().Format(time.RFC3339), rp.Branches, rp.NotModified, rp.Errors)
			if !rp.OK.IsZero() {
				fmt.Fprintf(&b, ", all read at %s", rp.OK.UTC().Format(time.RFC3339))
			}
			if !rp.RateReset.IsZero() {
				fmt.Fprintf(&b, "; rate limit %d left until %s", rp.RateRemaining, rp.RateReset.UTC().Format(time.RFC3339))
			}
			if rp.Error != "" {
				fmt.Fprintf(&b, "; last error: %s", rp.Error)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

// pollCollector exports the last poll of each repository.
type pollCollector struct{ bot *bot.Bot }

var (
	pollLastDesc = prometheus.NewDesc("countersign_github_poll_last_timestamp_seconds",
		"When the bot last read the repository's followed branch heads (Unix time).", []string{"repo"}, nil)
	pollOKDesc = prometheus.NewDesc("countersign_github_poll_ok_timestamp_seconds",
		"When a read of all the repository's followed branches last went without an error (Unix time).", []string{"repo"}, nil)
	pollErrorsDesc = prometheus.NewDesc("countersign_github_poll_errors",
		"Branch reads of the repository that failed in the last poll.", []string{"repo"}, nil)
	pollNotModifiedDesc = prometheus.NewDesc("countersign_github_poll_not_modified",
		"Branch reads of the repository answered 304 Not Modified (no rate limit spent) in the last poll.", []string{"repo"}, nil)
)

func (c *pollCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{pollLastDesc, pollOKDesc, pollErrorsDesc, pollNotModifiedDesc} {
		ch <- d
	}
}

func (c *pollCollector) Collect(ch chan<- prometheus.Metric) {
	unix := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixNano()) / 1e9
	}
	for _, rp := range c.bot.PollStatus() {
		if rp.Last.IsZero() {
			continue
		}
		ch <- prometheus.MustNewConstMetric(pollLastDesc, prometheus.GaugeValue, unix(rp.Last), rp.Repo)
		ch <- prometheus.MustNewConstMetric(pollOKDesc, prometheus.GaugeValue, unix(rp.OK), rp.Repo)
		ch <- prometheus.MustNewConstMetric(pollErrorsDesc, prometheus.GaugeValue, float64(rp.Errors), rp.Repo)
		ch <- prometheus.MustNewConstMetric(pollNotModifiedDesc, prometheus.GaugeValue, float64(rp.NotModified), rp.Repo)
	}
}
