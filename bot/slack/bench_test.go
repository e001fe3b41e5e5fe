package slack_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/countersign/countersign/bot/slack/slacktest"
)

// BenchmarkAck measures how long Slack waits for the acknowledgement of a
// slash command and of a click while 100 requests execute slowly, in both
// modes: the HTTP round trip of a signed request, and in Socket Mode the
// time from sending an envelope to reading its ack. Slack's limit is 3 s;
// the target is p99 < 50 ms.
//
// http/bare and socket/bare are the baselines, measured the same way in
// the same kind of world (the bot busy with its 100 executions): a bare
// net/http handler that reads the body, checks the signature and answers
// 200, and a bare Socket Mode client (a gorilla/websocket loop that acks
// each envelope as it reads it) on a second fake Slack.
//
//	go test ./bot/slack -run '^$' -bench Ack -benchtime 2000x
func BenchmarkAck(b *testing.B) {
	for _, mode := range []string{"http", "socket"} {
		for _, kind := range []string{"command", "click", "bare"} {
			b.Run(mode+"/"+kind, func(b *testing.B) { benchAck(b, mode == "socket", kind) })
		}
	}
}

func benchAck(b *testing.B, socket bool, kind string) {
	w := newWorldWith(b, socket, 100)
	w.exec.delay = time.Hour // cancelled when the world closes
	for i := range 100 {
		w.bot.HandleCommand(w.ctx, callerDev, fmt.Sprintf("deploy slow%d %s", i, digest('f')))
	}
	w.eventually("100 executions", func() bool { return w.exec.total() == 100 })
	var bare *slacktest.Server // the bare Socket Mode client's fake Slack
	var bareURL string         // the bare HTTP handler
	switch {
	case kind == "bare" && socket:
		bare = bareSocketClient(b)
	case kind == "bare":
		srv := httptest.NewServer(bareHandler(signingSecret))
		b.Cleanup(srv.Close)
		bareURL = srv.URL
	}
	// A click on a button of a request that no longer exists still gets
	// the whole path: verify, parse, hand over, ack.
	value := "R999:" + digest('0')[7:]
	command := func(i int) slacktest.SlashCommandPayload {
		return slacktest.SlashCommandPayload{Command: "/cs", Text: "help", UserID: "U0DEV1", ChannelID: devChannel, TriggerID: fmt.Sprintf("b%d", i)}
	}
	click := func(i int) slacktest.BlockActionPayload {
		return slacktest.BlockActionPayload{UserID: "U0OPS1", ChannelID: deployChannel, TriggerID: fmt.Sprintf("b%d", i),
			Actions: []slacktest.Action{{ActionID: "approve", Value: value, ActionTS: fmt.Sprint(i)}}}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		var d time.Duration
		switch {
		case socket && kind == "bare":
			d = sendAck(b, bare, slacktest.SlashCommand(command(i)))
		case socket && kind == "command":
			d = sendAck(b, w.slack, slacktest.SlashCommand(command(i)))
		case socket:
			d = sendAck(b, w.slack, slacktest.BlockAction(click(i)))
		case kind == "bare":
			d = postTo(b, bareURL+"/slack/commands", command(i).Form(), w.now)
		case kind == "command":
			_, _, d = w.post("/slack/commands", command(i).Form(), w.signed)
		default:
			_, _, d = w.post("/slack/interactions", click(i).Form(), w.signed)
		}
		lat = append(lat, d)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	w.adapter.Idle(w.ctx) // the bot itself stays busy with the slow executions
}

// sendAck sends env to the Socket Mode client of s and returns how long
// its ack took.
func sendAck(b *testing.B, s *slacktest.Server, env slacktest.Envelope) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Send(ctx, env); err != nil {
		b.Fatal(err)
	}
	ack, err := s.WaitAck(ctx, env.EnvelopeID)
	if err != nil {
		b.Fatalf("no ack for %s: %v", env.Type, err)
	}
	return ack.Elapsed
}

// bareHandler is the least an HTTP-mode endpoint must do: read the body,
// check Slack's signature over it, answer 200.
func bareHandler(secret string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte("v0:" + r.Header.Get("X-Slack-Request-Timestamp") + ":"))
		mac.Write(body)
		want := "v0=" + hex.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(r.Header.Get("X-Slack-Signature")), []byte(want)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
	})
}

// postTo sends a signed form to target as world.post does and returns
// how long the answer took; anything but 200 fails the benchmark.
func postTo(b *testing.B, target string, form url.Values, now time.Time) time.Duration {
	b.Helper()
	body := []byte(form.Encode())
	req, _ := http.NewRequest("POST", target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range slacktest.Sign(signingSecret, now, body) {
		req.Header[k] = v
	}
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	d := time.Since(start)
	if res.StatusCode != http.StatusOK {
		b.Fatalf("bare handler answered %d", res.StatusCode)
	}
	return d
}

// bareSocketClient starts a second fake Slack and connects to it a bare
// Socket Mode client: apps.connections.open, the WebSocket dial, then a
// loop that acks every envelope as soon as it has read it.
func bareSocketClient(b *testing.B) *slacktest.Server {
	b.Helper()
	s := slacktest.New(slacktest.Options{BotToken: botToken, AppToken: appToken, PingInterval: 200 * time.Millisecond})
	b.Cleanup(s.Close)
	req, _ := http.NewRequest("POST", s.APIURL()+"apps.connections.open", nil)
	req.Header.Set("Authorization", "Bearer "+appToken)
	res, err := s.HTTPClient().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var open struct {
		OK    bool   `json:"ok"`
		URL   string `json:"url"`
		Error string `json:"error"`
	}
	err = json.NewDecoder(res.Body).Decode(&open)
	res.Body.Close()
	if err != nil || !open.OK {
		b.Fatalf("apps.connections.open: %v %s", err, open.Error)
	}
	ws, _, err := s.Dialer().Dial(open.URL, nil)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var env struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if json.Unmarshal(data, &env) != nil || env.EnvelopeID == "" {
				continue // hello
			}
			ack, _ := json.Marshal(env)
			if ws.WriteMessage(websocket.TextMessage, ack) != nil {
				return
			}
		}
	})
	b.Cleanup(func() { ws.Close(); wg.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	return s
}
