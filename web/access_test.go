package web_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/web"
)

func TestAccess_NobodySeesAPageWithoutSigningIn(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/", "/requests/R1", "/services/www", "/audit?kind=lock.set"} {
		res, body := s.get(path)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("GET %s without credentials = %d, want 303:\n%s", path, res.StatusCode, body)
		}
		if got, want := res.Header.Get("Location"), "/login?next="; !strings.HasPrefix(got, want) {
			t.Errorf("GET %s redirects to %q, want the login form", path, got)
		}
		if strings.Contains(body, "UOPS1") || strings.Contains(body, "mallory") {
			t.Errorf("GET %s without credentials shows something of the page:\n%s", path, body)
		}
	}
}

func TestAccess_BearerTokens(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"audit token", "Bearer " + auditToken, 200},
		{"read token", "Bearer " + oncallToken, 200},
		{"scheme in lower case", "bearer " + oncallToken, 200},
		{"wrong token", "Bearer " + oncallToken + "x", 401},
		{"empty token", "Bearer ", 401},
		{"another scheme", "Basic " + oncallToken, 401},
		{"a prefix of a token", "Bearer " + oncallToken[:10], 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.events(cs.EventWebRefused))
			res, body := s.get("/", "Authorization", tc.header)
			if res.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d:\n%s", res.StatusCode, tc.want, body)
			}
			refused := len(s.events(cs.EventWebRefused)) - before
			if tc.want == 401 {
				if refused != 1 {
					t.Errorf("%d web.refused records, want 1", refused)
				}
				if strings.Contains(body, "UOPS1") {
					t.Errorf("a refused request shows the page:\n%s", body)
				}
			} else if refused != 0 {
				t.Errorf("an accepted request was audited as refused")
			}
		})
	}
}

func TestLogin_SetsAStrictSignedCookie(t *testing.T) {
	s := newSite(t, func(c *web.Config) { c.SecureCookie = true })
	res, body := s.login(oncallToken, "/audit?kind=lock.set")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login = %d, want 303:\n%s", res.StatusCode, body)
	}
	if got := res.Header.Get("Location"); got != "/audit?kind=lock.set" {
		t.Errorf("login redirects to %q, want back to the page asked for", got)
	}
	c := sessionCookie(t, res)
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Errorf("cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/", c)
	}
	if want := s.clock.Now().Add(12 * time.Hour); !c.Expires.Equal(want) {
		t.Errorf("cookie expires %v, want %v (12h)", c.Expires, want)
	}
	// Max-Age counts from the browser's own clock, so the session lasts
	// 12 h whatever date the browser believes it is.
	if c.MaxAge != 12*60*60 {
		t.Errorf("cookie Max-Age %d, want %d (12h in seconds)", c.MaxAge, 12*60*60)
	}
	if strings.Contains(c.Value, oncallToken) {
		t.Errorf("the cookie holds the token")
	}
	signedIn := s.events(cs.EventWebSignedIn)
	if len(signedIn) != 1 || !strings.Contains(string(signedIn[0].Detail), `"token":"oncall"`) {
		t.Fatalf("web.signed_in records: %v, want one naming the token oncall", signedIn)
	}
	res, body = s.get("/", "Cookie", c.Name+"="+c.Value)
	if res.StatusCode != 200 || !strings.Contains(body, "token:oncall") {
		t.Fatalf("GET / with the cookie = %d, want 200 signed in as token:oncall:\n%s", res.StatusCode, body)
	}
	for _, e := range s.events("") {
		if strings.Contains(string(e.Detail), oncallToken) {
			t.Fatalf("the audit trail holds the token: %s", e.Detail)
		}
	}
}

func TestLogin_Refusals(t *testing.T) {
	s := newSite(t)
	res, body := s.login("not-a-token-at-all-xxxx", "/")
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "That is not a read token.") {
		t.Fatalf("wrong token: %d, want 401 with the reason:\n%s", res.StatusCode, body)
	}
	if res.Header.Get("Set-Cookie") != "" {
		t.Errorf("a failed login set a cookie: %s", res.Header.Get("Set-Cookie"))
	}
	refused := s.events(cs.EventWebRefused)
	if len(refused) != 1 || strings.Contains(string(refused[0].Detail), "not-a-token") {
		t.Fatalf("web.refused records %v: want one, without the token tried", refused)
	}
	// Five failures a minute from one address; then a wrong token waits,
	// the right one does not (behind a proxy it may be anyone's address).
	for i := 0; i < 4; i++ {
		s.login("wrong-wrong-wrong-wrong", "/")
	}
	res, body = s.login("wrong-wrong-wrong-wrong", "/")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many wrong tokens") {
		t.Fatalf("sixth wrong token in a minute = %d, want 429 with Retry-After:\n%s", res.StatusCode, body)
	}
	if res, body := s.login(oncallToken, "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the right token after six wrong ones = %d, want 303:\n%s", res.StatusCode, body)
	}
	s.clock.Advance(time.Minute)
	if res, _ := s.login("wrong-wrong-wrong-wrong", "/"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a minute later a wrong token = %d, want 401 again", res.StatusCode)
	}
}

func TestLogin_NextStaysOnThisSite(t *testing.T) {
	s := newSite(t)
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""} {
		res, _ := s.login(oncallToken, next)
		if got := res.Header.Get("Location"); got != "/" {
			t.Errorf("next=%q: redirected to %q, want /", next, got)
		}
	}
}

func TestSession_ExpiredTamperedOrRotated(t *testing.T) {
	s := newSite(t)
	res, _ := s.login(oncallToken, "/")
	c := sessionCookie(t, res)
	enc, mac, _ := strings.Cut(c.Value, ".")
	for _, tc := range []struct{ name, value string }{
		{"tampered signature", enc + "." + strings.Repeat("A", len(mac))},
		{"no signature", enc},
		{"garbage", "%%%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := s.get("/", "Cookie", c.Name+"="+tc.value)
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
				t.Fatalf("= %d to %q, want 303 to the login form", res.StatusCode, res.Header.Get("Location"))
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		s.clock.Advance(12*time.Hour + time.Second)
		res, _ := s.get("/", "Cookie", c.Name+"="+c.Value)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("an expired cookie = %d, want 303 to the login form", res.StatusCode)
		}
		if !strings.Contains(res.Header.Get("Set-Cookie"), "Max-Age=0") {
			t.Errorf("the expired cookie is not cleared: %q", res.Header.Get("Set-Cookie"))
		}
	})
	t.Run("token value changed", func(t *testing.T) {
		s2 := newSite(t, func(cfg *web.Config) {
			cfg.Tokens = []web.Token{{Name: "oncall", Value: "a-new-value-for-oncall-token"}}
		})
		res, _ := s2.login("a-new-value-for-oncall-token", "/")
		old := sessionCookie(t, res)
		s3 := newSite(t, func(cfg *web.Config) { cfg.Tokens = []web.Token{{Name: "oncall", Value: "rotated-again-oncall-token"}} })
		if res, _ := s3.get("/", "Cookie", old.Name+"="+old.Value); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("a session of the old token value = %d, want 303", res.StatusCode)
		}
	})
}

func TestProxy_UserHeaderOnlyFromTheProxy(t *testing.T) {
	trusted := func(prefix string) siteOpt {
		return func(c *web.Config) {
			c.Proxy = &web.Proxy{Header: "X-Forwarded-User", Trusted: []netip.Prefix{netip.MustParsePrefix(prefix)}}
		}
	}
	t.Run("from the proxy", func(t *testing.T) {
		s := newSite(t, trusted("127.0.0.0/8"))
		res, body := s.get("/", "X-Forwarded-User", "alice@example.org")
		if res.StatusCode != 200 || !strings.Contains(body, "proxy:alice@example.org") {
			t.Fatalf("= %d, want 200 signed in as proxy:alice@example.org:\n%s", res.StatusCode, body)
		}
	})
	t.Run("from another address", func(t *testing.T) {
		s := newSite(t, trusted("10.0.0.0/8"))
		res, body := s.get("/", "X-Forwarded-User", "alice@example.org")
		if res.StatusCode != http.StatusUnauthorized || strings.Contains(body, "UOPS1") {
			t.Fatalf("= %d, want 401 and nothing of the page:\n%s", res.StatusCode, body)
		}
		refused := s.events(cs.EventWebRefused)
		if len(refused) != 1 || !strings.Contains(string(refused[0].Detail), "not a trusted proxy") {
			t.Fatalf("web.refused records %v, want one saying the address is not a trusted proxy", refused)
		}
	})
	t.Run("no proxy configured: the header means nothing", func(t *testing.T) {
		s := newSite(t)
		res, _ := s.get("/", "X-Forwarded-User", "alice@example.org")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("= %d, want 303 to the login form", res.StatusCode)
		}
	})
}

func TestLogout_ClearsTheCookie(t *testing.T) {
	s := newSite(t)
	req, _ := http.NewRequest("POST", s.http.URL+"/logout", nil)
	res, _ := s.do(req)
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout = %d, Set-Cookie %q: want 303 clearing the cookie", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
}

func TestLoginLogout_OnlyFromThisSitesPage(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct {
		name   string
		header []string
		want   int
	}{
		{"another site", []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, http.StatusForbidden},
		{"a sibling site", []string{"Sec-Fetch-Site", "same-site", "Origin", "https://evil.countersign.example"}, http.StatusForbidden},
		{"another site, old browser", []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"this site", []string{"Sec-Fetch-Site", "same-origin", "Origin", s.http.URL}, http.StatusSeeOther},
		{"this site, old browser", []string{"Origin", s.http.URL}, http.StatusSeeOther},
		{"a script", nil, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refusedBefore, inBefore := len(s.events(cs.EventWebRefused)), len(s.events(cs.EventWebSignedIn))
			res, body := s.login(oncallToken, "/", tc.header...)
			if res.StatusCode != tc.want {
				t.Fatalf("POST /login = %d, want %d:\n%s", res.StatusCode, tc.want, body)
			}
			req, _ := http.NewRequest("POST", s.http.URL+"/logout", nil)
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			out, body := s.do(req)
			if out.StatusCode != tc.want {
				t.Fatalf("POST /logout = %d, want %d:\n%s", out.StatusCode, tc.want, body)
			}
			refused, in := len(s.events(cs.EventWebRefused))-refusedBefore, len(s.events(cs.EventWebSignedIn))-inBefore
			if tc.want == http.StatusForbidden {
				if res.Header.Get("Set-Cookie") != "" || out.Header.Get("Set-Cookie") != "" {
					t.Errorf("a refused POST set a cookie: %q %q", res.Header.Get("Set-Cookie"), out.Header.Get("Set-Cookie"))
				}
				if in != 0 || refused != 2 {
					t.Errorf("%d web.signed_in and %d web.refused records, want none and 2", in, refused)
				}
			} else if in != 1 || refused != 0 {
				t.Errorf("%d web.signed_in and %d web.refused records, want 1 and none", in, refused)
			}
		})
	}
}

func TestNew_RefusesConfigsNobodyCouldUse(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct {
		name string
		cfg  web.Config
		want string
	}{
		{"no way in", web.Config{Source: s.bot}, "nobody could sign in"},
		{"short token", web.Config{Source: s.bot, Tokens: []web.Token{{Name: "x", Value: "short"}}}, "16 characters"},
		{"short session key", web.Config{Source: s.bot, Tokens: []web.Token{{Name: "x", Value: oncallToken}}, SessionKey: []byte("k")}, "32 bytes"},
		{"proxy without addresses", web.Config{Source: s.bot, Proxy: &web.Proxy{Header: "X-User"}}, "at least one address"},
		{"no source", web.Config{Tokens: []web.Token{{Name: "x", Value: oncallToken}}}, "no source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := web.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func sessionCookie(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == "countersign_session" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", res.Header["Set-Cookie"])
	return nil
}
