package github_test

import (
	"fmt"
	"testing"

	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github/githubtest"
)

// benchBranches is how many followed branches the poll benchmarks read:
// 50 repositories of 10 branches each.
const benchBranches = 500

// benchPollWorld is a bot following benchBranches branches, each at a
// head of its own on the fake.
func benchPollWorld(b *testing.B) *pollWorld {
	b.Helper()
	var services []bot.Service
	for i := range benchBranches {
		services = append(services, hookService(fmt.Sprintf("svc%d", i), fmt.Sprintf("acme/repo%d", i/10), fmt.Sprintf("branch%d", i%10)))
	}
	w := newPollWorld(b, githubtest.Options{RateLimit: 1 << 20}, 0, services...)
	for i, s := range services {
		w.gh.SetBranch(s.Repo, s.Branch, githubtest.Commit{SHA: fmt.Sprintf("%040x", i+1), Message: "head"})
	}
	return w
}

// reportRound reports a round's reads per op: all of them, the 304s, and
// those GitHub counts against the rate limit.
func reportRound(b *testing.B, r bot.PollRound, counted int) {
	b.ReportMetric(float64(r.Requests), "requests/op")
	b.ReportMetric(float64(r.NotModified), "304/op")
	b.ReportMetric(float64(counted), "counted/op")
}

// BenchmarkPoll_500Branches: one round over 500 followed branches against
// the fake — "unchanged" when no head moved (all 304: nothing counts
// against the rate limit), "first" when the bot has no record yet (all
// 200, each head recorded as a baseline). Target: under 5 s a round.
func BenchmarkPoll_500Branches(b *testing.B) {
	b.Run("unchanged", func(b *testing.B) {
		w := benchPollWorld(b)
		w.start()
		w.round()
		var last bot.PollRound
		used := w.gh.Rate().Used
		b.ResetTimer()
		for range b.N {
			last = w.round()
		}
		b.StopTimer()
		if last.NotModified != benchBranches || last.Errors != 0 {
			b.Fatalf("round %+v, want every read answered 304", last)
		}
		reportRound(b, last, (w.gh.Rate().Used-used)/b.N)
	})
	b.Run("first", func(b *testing.B) {
		var last bot.PollRound
		counted := 0
		for range b.N {
			b.StopTimer()
			w := benchPollWorld(b)
			w.start()
			used := w.gh.Rate().Used
			b.StartTimer()
			last = w.round()
			b.StopTimer()
			counted += w.gh.Rate().Used - used
			w.stop()
		}
		if last.Requests != benchBranches || last.Errors != 0 || len(last.Reconciled) != 0 {
			b.Fatalf("round %+v, want every branch read once, nothing taken", last)
		}
		reportRound(b, last, counted/b.N)
	})
}
