package config

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	webAudit = "audit-token-0123456789"
	webTokA  = "read-token-a-0123456789"
	webTokB  = "read-token-b-0123456789"
	webKey   = "a-session-key-of-32-bytes-or-more"
)

// TestParse_Web: a full web section, and what a file without one gets.
func TestParse_Web(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"oncall": webTokB + "\n", "key": webKey + "\n"})
	src := `db: a.db
audit: {token: ` + webAudit + `}
web:
  read_tokens:
    - {name: dashboard, token: ` + webTokA + `}
    - {name: on_call-2, token_file: oncall}
  session_key_file: key
  session_ttl: 36h
  proxy:
    user_header: x-forwarded-user
    trusted: [127.0.0.1, "::1", 10.0.0.0/8, "fd00::/8"]
  trusted_proxies: [192.168.1.10, "2001:db8::/32"]
`
	c, err := Parse([]byte(src), dir, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Web
	var names, tokens []string
	for _, rt := range w.ReadTokens {
		names, tokens = append(names, rt.Name), append(tokens, rt.Token.Reveal())
	}
	if want := []string{"dashboard", "on_call-2"}; !slices.Equal(names, want) {
		t.Errorf("names: got %q, want %q", names, want)
	}
	if want := []string{webTokA, webTokB}; !slices.Equal(tokens, want) {
		t.Errorf("tokens: got %q, want %q", tokens, want)
	}
	if got := w.SessionKey.Reveal(); got != webKey {
		t.Errorf("session key: got %q, want %q", got, webKey)
	}
	if w.SessionTTL != 36*time.Hour {
		t.Errorf("session_ttl: got %v, want 36h", w.SessionTTL)
	}
	if w.Proxy == nil {
		t.Fatal("no proxy")
	}
	if w.Proxy.UserHeader != "X-Forwarded-User" {
		t.Errorf("user_header: got %q, want the canonical X-Forwarded-User", w.Proxy.UserHeader)
	}
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	if !slices.Equal(w.Proxy.Trusted, want) {
		t.Errorf("trusted: got %v, want %v", w.Proxy.Trusted, want)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("192.168.1.10/32"), netip.MustParsePrefix("2001:db8::/32")}; !slices.Equal(w.TrustedProxies, want) {
		t.Errorf("trusted_proxies: got %v, want %v", w.TrustedProxies, want)
	}
	for _, out := range []string{fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c.Web)} {
		for _, s := range []string{webTokA, webTokB, webKey} {
			if strings.Contains(out, s) {
				t.Errorf("a secret shows: %s", out)
			}
		}
	}
	js, err := json.Marshal(c.Web)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{webTokA, webTokB, webKey} {
		if strings.Contains(string(js), s) {
			t.Errorf("a secret shows in JSON: %s", js)
		}
	}

	t.Run("absent", func(t *testing.T) {
		c, err := Parse([]byte("db: a.db\n"), "", env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if w := c.Web; len(w.ReadTokens) != 0 || !w.SessionKey.IsZero() || w.Proxy != nil || w.TrustedProxies != nil || w.SessionTTL != DefaultSessionTTL {
			t.Errorf("got %+v, want no tokens, no key, no proxy, session_ttl %v", w, DefaultSessionTTL)
		}
	})
	t.Run("null proxy", func(t *testing.T) {
		c, err := Parse([]byte("db: a.db\nweb: {proxy: ~}\n"), "", env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.Web.Proxy != nil {
			t.Errorf("proxy: got %+v, want none", c.Web.Proxy)
		}
	})
}

func TestParse_WebProblems(t *testing.T) {
	head := "db: a.db\naudit: {token: " + webAudit + "}\n"
	tok := func(name, token string) string { return "{name: " + name + ", token: " + token + "}" }
	runCases(t, []problemCase{
		{"not a mapping", head + "web: [a]\n", []string{`web: want a mapping, got a list`}},
		{"unknown key", head + "web: {read_token: []}\n", []string{`web.read_token: unknown key (did you mean "read_tokens"?)`}},

		// read_tokens
		{"read_tokens not a list", head + "web: {read_tokens: {a: b}}\n", []string{`web.read_tokens: want a list, got a mapping`}},
		{"read token not a mapping", head + "web: {read_tokens: [" + webTokA + "]}\n", []string{
			`web.read_tokens[0]: want a mapping, got a string`,
			`web.read_tokens[0].name: required`,
			`web.read_tokens[0].token: required (give token, token_file or token_env)`,
		}},
		{"name required", head + "web: {read_tokens: [{token: " + webTokA + "}]}\n", []string{`web.read_tokens[0].name: required`}},
		{"token required", head + "web: {read_tokens: [{name: a}]}\n", []string{
			`web.read_tokens[0].token: required (give token, token_file or token_env)`,
		}},
		{"bad name", head + "web: {read_tokens: [" + tok("On-Call", webTokA) + "]}\n", []string{
			`web.read_tokens[0].name: "On-Call" is not a valid token name (lower-case letters, digits, - and _, at most 63)`,
		}},
		{"name too long", head + "web: {read_tokens: [" + tok(strings.Repeat("a", 64), webTokA) + "]}\n", []string{
			`web.read_tokens[0].name: "` + strings.Repeat("a", 60) + `"… (64 bytes) is not a valid token name (lower-case letters, digits, - and _, at most 63)`,
		}},
		{"name audit", head + "web: {read_tokens: [" + tok("audit", webTokA) + "]}\n", []string{
			`web.read_tokens[0].name: "audit" is the name of audit.token, which is always a read token; choose another`,
		}},
		{"duplicate name", head + "web: {read_tokens: [" + tok("a", webTokA) + ", " + tok("a", webTokB) + "]}\n", []string{
			`web.read_tokens[1].name: duplicate token name "a" (also web.read_tokens[0])`,
		}},
		{"token short", head + "web: {read_tokens: [" + tok("a", "short-token") + "]}\n", []string{
			"web.read_tokens[0].token: the value is shorter than 16 characters (make one with `openssl rand -base64 24`)",
		}},
		{"token with whitespace", head + "web: {read_tokens: [" + tok("a", `"read token a 0123456789"`) + "]}\n", []string{
			`web.read_tokens[0].token: the value contains whitespace (a token is one word)`,
		}},
		{"token two forms", head + "web: {read_tokens: [{name: a, token: " + webTokA + ", token_env: T}]}\n", []string{
			`web.read_tokens[0].token_env: token is also given: give only one of token, token_file or token_env`,
		}},
		{"tokens the same", head + "web: {read_tokens: [" + tok("a", webTokA) + ", " + tok("b", webTokA) + "]}\n", []string{
			`web.read_tokens[1].token: the same token as web.read_tokens[0]: give each reader a token of its own`,
		}},
		{"token is audit.token", head + "web: {read_tokens: [" + tok("a", webAudit) + "]}\n", []string{
			`web.read_tokens[0].token: the same token as audit.token: give each reader a token of its own`,
		}},
		{"read token unknown key", head + "web: {read_tokens: [{name: a, token: " + webTokA + ", expires: 1h}]}\n", []string{
			`web.read_tokens[0].expires: unknown key`,
		}},

		// session_key, session_ttl
		{"session key short", head + "web: {session_key: " + webKey[:31] + "}\n", []string{
			"web.session_key: the value is shorter than 32 bytes (make one with `openssl rand -base64 32`)",
		}},
		{"session key empty", head + "web: {session_key: \"\"}\n", []string{`web.session_key: empty`}},
		{"session key two forms", head + "web: {session_key: " + webKey + ", session_key_file: k}\n", []string{
			`web.session_key_file: session_key is also given: give only one of session_key, session_key_file or session_key_env`,
		}},
		{"session_ttl not a duration", head + "web: {session_ttl: 1d}\n", []string{`web.session_ttl: invalid duration "1d" (want e.g. 30m, 2h)`}},
		{"session_ttl zero", head + "web: {session_ttl: 0s}\n", []string{`web.session_ttl: duration "0s" must be positive`}},
		{"session_ttl negative", head + "web: {session_ttl: -1h}\n", []string{`web.session_ttl: duration "-1h" must be positive`}},
		{"session_ttl too long", head + "web: {session_ttl: 721h}\n", []string{`web.session_ttl: "721h0m0s" is longer than 30 days (720h)`}},

		// proxy
		{"proxy empty", head + "web: {proxy: {}}\n", []string{
			`web.proxy.user_header: required`,
			`web.proxy.trusted: required: the proxy's addresses (CIDR prefixes or single addresses); the header is refused from any other`,
		}},
		{"proxy not a mapping", head + "web: {proxy: X-Forwarded-User}\n", []string{
			`web.proxy: want a mapping, got a string`,
			`web.proxy.user_header: required`,
			`web.proxy.trusted: required: the proxy's addresses (CIDR prefixes or single addresses); the header is refused from any other`,
		}},
		{"proxy header not a header", head + "web: {proxy: {user_header: \"X User\", trusted: [127.0.0.1]}}\n", []string{
			`web.proxy.user_header: want an HTTP header name (e.g. X-Forwarded-User), got "X User"`,
		}},
		{"proxy header carries something else", head + "web: {proxy: {user_header: authorization, trusted: [127.0.0.1]}}\n", []string{
			`web.proxy.user_header: "authorization" carries something else; want the header the proxy names its user in (e.g. X-Forwarded-User)`,
		}},
		{"proxy trusted empty", head + "web: {proxy: {user_header: X-User, trusted: []}}\n", []string{
			`web.proxy.trusted: required: the proxy's addresses (CIDR prefixes or single addresses); the header is refused from any other`,
		}},
		{"proxy trusted not a list", head + "web: {proxy: {user_header: X-User, trusted: 10.0.0.0/8}}\n", []string{
			`web.proxy.trusted: want a list, got a string`,
		}},
		{"proxy trusted bad", head + `web: {proxy: {user_header: X-User, trusted: [proxy.example.org, 10.0.0.0/33, "fe80::1%eth0", "", 10.1.2.3/8, 0.0.0.0/0, "::/0", [a]]}}` + "\n", []string{
			`web.proxy.trusted[0]: want a CIDR prefix (10.0.0.0/8) or an address (127.0.0.1), got "proxy.example.org"`,
			`web.proxy.trusted[1]: want a CIDR prefix (10.0.0.0/8) or an address (127.0.0.1), got "10.0.0.0/33"`,
			`web.proxy.trusted[2]: want a CIDR prefix (10.0.0.0/8) or an address (127.0.0.1), got "fe80::1%eth0"`,
			`web.proxy.trusted[3]: want a CIDR prefix (10.0.0.0/8) or an address (127.0.0.1), got ""`,
			`web.proxy.trusted[4]: "10.1.2.3/8" has bits set beyond the prefix length: did you mean 10.0.0.0/8?`,
			`web.proxy.trusted[5]: "0.0.0.0/0" trusts every address: anyone could sign in as anyone by sending the header`,
			`web.proxy.trusted[6]: "::/0" trusts every address: anyone could sign in as anyone by sending the header`,
			`web.proxy.trusted[7]: want a CIDR prefix or an address, got a list`,
		}},
		{"proxy unknown key", head + "web: {proxy: {user_header: X-User, trusted: [127.0.0.1], trust: [10.0.0.0/8]}}\n", []string{
			`web.proxy.trust: unknown key (did you mean "trusted"?)`,
		}},
		{"trusted_proxies bad", head + `web: {trusted_proxies: [proxy.example.org, 0.0.0.0/0, 10.1.2.3/8, {a: b}]}` + "\n", []string{
			`web.trusted_proxies[0]: want a CIDR prefix (10.0.0.0/8) or an address (127.0.0.1), got "proxy.example.org"`,
			`web.trusted_proxies[1]: "0.0.0.0/0" trusts every address: anyone could send a wrong token under any address by sending X-Forwarded-For`,
			`web.trusted_proxies[2]: "10.1.2.3/8" has bits set beyond the prefix length: did you mean 10.0.0.0/8?`,
			`web.trusted_proxies[3]: want a CIDR prefix or an address, got a mapping`,
		}},
		{"trusted_proxies not a list", head + "web: {trusted_proxies: 10.0.0.1}\n", []string{
			`web.trusted_proxies: want a list, got a string`,
		}},
	})
}

// TestParse_WebSecretForms: read tokens and the session key by file and
// environment, refused at the key they were given by without showing them.
func TestParse_WebSecretForms(t *testing.T) {
	files := map[string]string{
		"short":    "short-token\n",
		"blank":    webTokA + "\n\n",
		"tok":      webTokA + "\n",
		"spacekey": "a session key with spaces, 32 bytes or more\n",
		"shortkey": "0123456789\n",
	}
	environ := map[string]string{"SHORT": "short-token", "TOK": webTokA, "AUDIT": webTokA, "KEY": "0123456789"}
	for _, tc := range []struct {
		name string
		yaml string
		want []string // nil: loads
	}{
		{"short token file", "web: {read_tokens: [{name: a, token_file: short}]}", []string{
			"web.read_tokens[0].token_file: \"DIR/short\" is shorter than 16 characters (make one with `openssl rand -base64 24`)",
		}},
		{"short token env", "web: {read_tokens: [{name: a, token_env: SHORT}]}", []string{
			"web.read_tokens[0].token_env: environment variable SHORT is shorter than 16 characters (make one with `openssl rand -base64 24`)",
		}},
		{"blank line in the token file", "web: {read_tokens: [{name: a, token_file: blank}]}", []string{
			`web.read_tokens[0].token_file: "DIR/blank" contains whitespace (a blank line at the end of the file?)`,
		}},
		{"missing token file", "web: {read_tokens: [{name: a, token_file: nope}]}", []string{
			`web.read_tokens[0].token_file: cannot read "DIR/nope": no such file or directory`,
		}},
		{"unset token env", "web: {read_tokens: [{name: a, token_env: NOPE}]}", []string{
			`web.read_tokens[0].token_env: environment variable NOPE is not set`,
		}},
		{"same as audit.token, both from the environment", "audit: {token_env: AUDIT}\nweb: {read_tokens: [{name: a, token_env: TOK}]}", []string{
			`web.read_tokens[0].token_env: the same token as audit.token: give each reader a token of its own`,
		}},
		{"same token, inline and from a file", "web: {read_tokens: [{name: a, token: " + webTokA + "}, {name: b, token_file: tok}]}", []string{
			`web.read_tokens[1].token_file: the same token as web.read_tokens[0]: give each reader a token of its own`,
		}},
		{"session key with spaces is bytes, not a token", "web: {session_key_file: spacekey}", nil},
		{"short session key file", "web: {session_key_file: shortkey}", []string{
			"web.session_key_file: \"DIR/shortkey\" is shorter than 32 bytes (make one with `openssl rand -base64 32`)",
		}},
		{"short session key env", "web: {session_key_env: KEY}", []string{
			"web.session_key_env: environment variable KEY is shorter than 32 bytes (make one with `openssl rand -base64 32`)",
		}},
		{"missing session key file", "web: {session_key_file: nope}", []string{
			`web.session_key_file: cannot read "DIR/nope": no such file or directory`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, files)
			_, err := Parse([]byte("db: a.db\n"+tc.yaml+"\n"), dir, env(environ))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no problems", err)
				}
				return
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = replaceDir(w, dir)
			}
			checkProblems(t, err, want)
			for _, v := range []string{"short-token", webTokA, "0123456789", "session key"} {
				if strings.Contains(err.Error(), v) {
					t.Errorf("a problem shows a secret (%q): %v", v, err)
				}
			}
		})
	}
}
