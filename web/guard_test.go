package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/web"
)

// refusals is how many refusals the web.refused records account for:
// one each, plus those each says were not audited before it.
func refusals(t *testing.T, evs []cs.Event) (records, counted int) {
	t.Helper()
	for _, e := range evs {
		var d struct {
			NotAudited int `json:"not_audited_before"`
		}
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatal(err)
		}
		counted += 1 + d.NotAudited
	}
	return len(evs), counted
}

func TestGuard_WrongBearerTokensAreLimitedNotTheRightOne(t *testing.T) {
	s := newSite(t)
	statuses := map[int]int{}
	for i := range 300 {
		res, body := s.get("/", "Authorization", "Bearer wrong-token-guess-"+string(rune('a'+i%26)))
		statuses[res.StatusCode]++
		if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") != web.RetryAfter {
			t.Fatalf("429 with Retry-After %q, want %s", res.Header.Get("Retry-After"), web.RetryAfter)
		}
		if strings.Contains(body, "UOPS1") {
			t.Fatalf("a wrong token sees the page:\n%s", body)
		}
	}
	if want := map[int]int{401: web.FailuresPerMinute, 429: 300 - web.FailuresPerMinute}; statuses[401] != want[401] || statuses[429] != want[429] {
		t.Fatalf("300 wrong tokens answered %v, want %v", statuses, want)
	}
	// The right token is not locked out, by bearer or by the form.
	s.page("/", http.StatusOK)
	if res, body := s.login(oncallToken, "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in with the right token during the lockout = %d, want 303:\n%s", res.StatusCode, body)
	}
	// Every refusal is in the trail: one by one up to the trail's own
	// limit, then counted in the next record written.
	s.clock.Advance(time.Minute)
	if res, _ := s.get("/", "Authorization", "Bearer wrong-token-after-a-minute"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a minute later a wrong token = %d, want 401", res.StatusCode)
	}
	evs := s.events(cs.EventWebRefused)
	records, counted := refusals(t, evs)
	if counted != 301 {
		t.Fatalf("%d web.refused records account for %d refusals, want 301", records, counted)
	}
	limited := 0
	for _, e := range evs {
		if d := string(e.Detail); strings.Contains(d, "over the limit") && strings.Contains(d, `"remote":"127.0.0.1"`) {
			limited++
		}
	}
	if want := records - 1 - web.FailuresPerMinute; limited != want {
		t.Errorf("%d records say the refusal was over the limit and from where, want %d", limited, want)
	}
}

func TestGuard_ForwardedClientsAreCountedApart(t *testing.T) {
	// The bot behind a TLS proxy on 127.0.0.1: every request comes from it.
	s := newSite(t, func(c *web.Config) {
		c.Proxy = &web.Proxy{Header: "X-Forwarded-User", Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	})
	for range web.FailuresPerMinute + 1 {
		s.login("wrong-wrong-wrong-wrong", "/", "X-Forwarded-For", "203.0.113.7")
	}
	if res, _ := s.login("wrong-wrong-wrong-wrong", "/", "X-Forwarded-For", "203.0.113.7"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("203.0.113.7 after %d wrong tokens = %d, want 429", web.FailuresPerMinute+1, res.StatusCode)
	}
	// What a client puts left of the proxy's entry does not change who it is.
	if res, _ := s.login("wrong-wrong-wrong-wrong", "/", "X-Forwarded-For", "198.51.100.9, 203.0.113.7"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("203.0.113.7 claiming to forward for another = %d, want 429", res.StatusCode)
	}
	if res, _ := s.login("wrong-wrong-wrong-wrong", "/", "X-Forwarded-For", "203.0.113.8"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("another client behind the proxy = %d, want 401: the first one's failures are its own", res.StatusCode)
	}
	evs := s.events(cs.EventWebRefused)
	if got := string(evs[0].Detail); !strings.Contains(got, `"remote":"203.0.113.7"`) {
		t.Errorf("refusal audited as %s, want the client's address 203.0.113.7", got)
	}
	res, _ := s.login(oncallToken, "/", "X-Forwarded-For", "203.0.113.7")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the right token from the locked-out client = %d, want 303", res.StatusCode)
	}
	if in := s.events(cs.EventWebSignedIn); len(in) != 1 || !strings.Contains(string(in[0].Detail), `"remote":"203.0.113.7"`) {
		t.Errorf("web.signed_in records %v, want one from 203.0.113.7", in)
	}
}

func TestGuard_Client(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy", "192.0.2.1:5000", nil, "192.0.2.1"},
		{"an untrusted peer's header is ignored", "192.0.2.1:5000", []string{"203.0.113.7"}, "192.0.2.1"},
		{"the proxy's entry", "10.0.0.2:5000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"the client's own entries are ignored", "10.0.0.2:5000", []string{"198.51.100.1, 203.0.113.7"}, "203.0.113.7"},
		{"through two proxies", "10.0.0.2:5000", []string{"203.0.113.7, 10.0.0.3"}, "203.0.113.7"},
		{"over several header lines", "10.0.0.2:5000", []string{"198.51.100.1", "203.0.113.7,10.0.0.3"}, "203.0.113.7"},
		{"a proxy without the header", "10.0.0.2:5000", nil, "10.0.0.2"},
		{"only proxies", "10.0.0.2:5000", []string{"10.0.0.9"}, "10.0.0.9"},
		{"garbage stops at the last address known", "10.0.0.2:5000", []string{"203.0.113.7, unknown, 10.0.0.3"}, "10.0.0.3"},
		{"IPv4 in IPv6", "10.0.0.2:5000", []string{"::ffff:203.0.113.7"}, "203.0.113.7"},
		{"IPv6 peer", "[::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := web.NewGuard(web.GuardConfig{Trusted: trusted, Refuse: func(context.Context, string, string) error { return nil }})
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := g.Client(r); got != tc.want {
				t.Errorf("Client = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLogin_AuditedWhenTheClientHangsUp(t *testing.T) {
	s := newSite(t)
	// net/http cancels a request's context when its client hangs up.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := s.loginRequest("wrong-wrong-wrong-wrong", "/").WithContext(ctx)
	req.RemoteAddr = "192.0.2.1:5000"
	s.srv.Handler().ServeHTTP(httptest.NewRecorder(), req)
	refused := s.events(cs.EventWebRefused)
	if len(refused) != 1 || !strings.Contains(string(refused[0].Detail), "192.0.2.1") {
		t.Fatalf("web.refused records %v, want one from 192.0.2.1", refused)
	}
}

func TestGuard_AuditFailureIsLogged(t *testing.T) {
	var logged strings.Builder
	s := newSite(t, func(c *web.Config) {
		c.Guard = web.NewGuard(web.GuardConfig{
			Refuse: func(context.Context, string, string) error { return context.DeadlineExceeded },
			Logger: slogTo(&logged),
		})
	})
	if res, _ := s.get("/", "Authorization", "Bearer wrong-token-0123456789"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("= %d, want 401 though the audit failed", res.StatusCode)
	}
	if !strings.Contains(logged.String(), "audit a refused web request") {
		t.Errorf("a refusal that could not be audited is not logged: %q", logged.String())
	}
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func TestGuard_AMinuteOfFailures(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	var audited []string
	g := web.NewGuard(web.GuardConfig{
		Now: func() time.Time { return now },
		Refuse: func(_ context.Context, reason, remote string) error {
			audited = append(audited, remote+": "+reason)
			return nil
		},
	})
	from := func(addr string) *http.Request {
		r := httptest.NewRequest("GET", "/backup", nil)
		r.RemoteAddr = addr + ":5000"
		return r
	}
	calls := 0
	fail := func(addr string, want bool) {
		t.Helper()
		calls++
		if got := g.Refused(from(addr), "a wrong token"); got != want {
			t.Fatalf("%s at %s: limited = %v, want %v", addr, now.Format(time.TimeOnly), got, want)
		}
	}
	for range web.FailuresPerMinute {
		fail("192.0.2.1", false)
	}
	fail("192.0.2.1", true)
	fail("192.0.2.2", false) // another client's minute is its own
	now = now.Add(59 * time.Second)
	fail("192.0.2.1", true)
	now = now.Add(time.Second) // the minute is over
	fail("192.0.2.1", false)
	for range web.FailuresPerMinute - 1 {
		fail("192.0.2.1", false)
	}
	fail("192.0.2.1", true)
	now = now.Add(30 * time.Second)
	for range web.FailuresPerMinute {
		fail("192.0.2.3", false)
	}
	fail("192.0.2.3", true)
	now = now.Add(-10 * time.Second) // a clock that went back starts a new minute
	fail("192.0.2.3", false)
	now = now.Add(-time.Hour)
	fail("192.0.2.1", false)
	if len(audited) != calls || !strings.HasPrefix(audited[0], "192.0.2.1: a wrong token") {
		t.Errorf("audited %q: want every refusal, with the client's address", audited)
	}
}
