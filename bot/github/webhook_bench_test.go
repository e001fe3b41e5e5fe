package github_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countersign/countersign/bot"
)

// hookClients is how many deliveries are in flight at once: GitHub
// delivers concurrently when a busy organisation pushes.
const hookClients = 16

// BenchmarkWebhook measures deliveries through loopback HTTP from
// hookClients concurrent clients. verified is the figure to report:
// signed push deliveries, each a new push under a new ID, for a branch no service
// follows, through the real handler, bot and store with fsync on (one
// store update per delivery, its commit shared with the deliveries
// waiting: deliveries/commit says how many). bare is the baseline:
// a net/http handler that reads the body and checks X-Hub-Signature-256,
// nothing else, for the cost of HTTP and the HMAC themselves.
func BenchmarkWebhook(b *testing.B) {
	body := hookFixture(b, "push-branch-created.json") // master, unfollowed below
	b.Run("verified", func(b *testing.B) {
		w := hookNewWorldSync(b, true, hookService("www", hookRepo, "live"), hookService("next", hookRepo, "live"))
		want := "ignored: no service follows master of " + hookRepo + "\n"
		commits := w.db.Commits()
		hookLoad(b, w.srv.URL, body, want)
		b.StopTimer()
		b.ReportMetric(float64(b.N)/float64(max(w.db.Commits()-commits, 1)), "deliveries/commit")
		w.idle()
		if got := len(w.chat.threads()); got != 0 {
			b.Fatalf("%d threads for an unfollowed branch", got)
		}
	})
	// intake is the verified case's two bot calls without HTTP, parsing
	// or verification: the floor the store sets.
	b.Run("intake", func(b *testing.B) {
		w := hookNewWorldSync(b, true, hookService("www", hookRepo, "live"))
		p := bot.Push{Repo: hookRepo, Branch: "master", SHA: hookSHA, Pusher: "Codertocat", Author: "Codertocat", Title: "Initial commit"}
		hookRun(b, func(n int64) error {
			p := p
			p.Delivery = fmt.Sprintf("intake-%d-%d", b.N, n)
			res, err := w.bot.HandlePush(w.ctx, p)
			if err != nil || len(res.Services) != 0 || res.Duplicate {
				return fmt.Errorf("HandlePush: %+v, %v", res, err)
			}
			_, err = w.bot.WebhookIgnored(w.ctx, bot.Delivery{Event: "push", Repo: hookRepo, Sender: "Codertocat"}, "no service follows master of "+hookRepo)
			return err
		})
	})
	b.Run("bare", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
			mac := hmac.New(sha256.New, []byte(hookSecret))
			mac.Write(body)
			want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
			if !hmac.Equal([]byte(r.Header.Get("X-Hub-Signature-256")), []byte(want)) {
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
			io.WriteString(w, "ok\n")
		}))
		defer srv.Close()
		hookLoad(b, srv.URL, body, "ok\n")
	})
}

// hookLoad sends b.N signed push deliveries with unique IDs to target
// and checks each answer is 200 want. Each is a new push (its "before"
// differs), not the same payload again, which would only be counted.
func hookLoad(b *testing.B, target string, body []byte, want string) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: hookClients}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	zeros := []byte(`"before": "` + strings.Repeat("0", 40) + `"`)
	if !bytes.Contains(body, zeros) {
		b.Fatal("the push has no all-zero before to vary")
	}
	hookRun(b, func(n int64) error {
		body := bytes.Replace(body, zeros, fmt.Appendf(nil, `"before": "%040x"`, n), 1)
		res, err := client.Do(hookRequest(target, "push", fmt.Sprintf("bench-%d-%d", b.N, n), body))
		if err != nil {
			return err
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !bytes.Equal(got, []byte(want)) {
			return fmt.Errorf("%d %q, want 200 %q", res.StatusCode, got, strings.TrimSpace(want))
		}
		return nil
	})
}

// hookRun runs deliver(1…b.N) from hookClients goroutines and reports
// deliveries/s and the 99th percentile latency.
func hookRun(b *testing.B, deliver func(n int64) error) {
	b.Helper()
	var (
		next    atomic.Int64
		mu      sync.Mutex
		lats    []time.Duration
		failure atomic.Value // error
		wg      sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for range hookClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for {
				n := next.Add(1)
				if n > int64(b.N) || failure.Load() != nil {
					break
				}
				t0 := time.Now()
				err := deliver(n)
				mine = append(mine, time.Since(t0))
				if err != nil {
					failure.CompareAndSwap(nil, err)
					break
				}
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := failure.Load(); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lats)
	p99 := lats[(len(lats)*99+99)/100-1]
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(p99)/float64(time.Millisecond), "p99-ms")
}
