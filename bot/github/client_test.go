package github

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// SetAcceptedWait shortens the pause between tries of a deployment that
// answered 202, for the external tests.
func SetAcceptedWait(c *Client, d time.Duration) { c.acceptedWait = d }

func TestRepCut(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		wantLen  int
		wantTail string
	}{
		{"short", "deploying web", 13, "web"},
		{"exactly 140", strings.Repeat("a", 140), 140, "a"},
		{"141 ascii", strings.Repeat("a", 141), 140, "a…"},
		{"multibyte", strings.Repeat("é", 200), 140, "é…"},
		{"emoji", strings.Repeat("🚀", 141), 140, "🚀…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := repCut(tc.in)
			if n := utf8.RuneCountInString(got); n != tc.wantLen {
				t.Errorf("repCut: %d characters, want %d", n, tc.wantLen)
			}
			if !utf8.ValidString(got) {
				t.Errorf("repCut(%q) = %q, not valid UTF-8", tc.in, got)
			}
			if !strings.HasSuffix(got, tc.wantTail) {
				t.Errorf("repCut(…) = …%q, want it to end in %q", got[max(0, len(got)-8):], tc.wantTail)
			}
		})
	}
}

func TestRepResolveAPI(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", "https://api.github.com/"},
		{"https://api.github.com", "https://api.github.com/"},
		{"https://ghe.example/api/v3/", "https://ghe.example/api/v3/"},
		{"https://ghe.example/api/v3", "https://ghe.example/api/v3/"},
		{"https://ghe.example/", "https://ghe.example/api/v3/"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v3/"},
	} {
		base, _, err := repResolveAPI(tc.in)
		if err != nil {
			t.Errorf("repResolveAPI(%q): %v", tc.in, err)
			continue
		}
		if got := base.String(); got != tc.want {
			t.Errorf("repResolveAPI(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"ghe.example", "ftp://ghe.example/", "https://user:s3cret@ghe.example/", "https://ghe.example/?x=1", "https:///api/v3/"} {
		_, _, err := repResolveAPI(bad)
		if err == nil {
			t.Errorf("repResolveAPI(%q) = nil error, want one", bad)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("repResolveAPI(%q) = %q: shows the password", bad, err)
		}
	}
}

func TestRepHostKey(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"https://ghe.example/api/v3/", "https://GHE.example:443/_codeload/x", true},
		{"http://ghe.example/", "http://ghe.example:80/", true},
		{"https://ghe.example/", "http://ghe.example/", false},
		{"http://127.0.0.1:1000/", "http://127.0.0.1:1001/", false},
		{"https://api.github.com/", "https://codeload.github.com/", false},
	} {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if got := repHostKey(a) == repHostKey(b); got != tc.same {
			t.Errorf("repHostKey(%s) == repHostKey(%s) is %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}

func TestAppParseKey(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec8, err := x509.MarshalPKCS8PrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PrivateKey(rk)
	enc := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	for _, tc := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"pkcs1", enc("RSA PRIVATE KEY", pkcs1), true},
		{"pkcs8", enc("PRIVATE KEY", pkcs8), true},
		{"not pem", []byte("not a key"), false},
		{"public key", enc("PUBLIC KEY", pkcs1), false},
		{"ecdsa", enc("PRIVATE KEY", ec8), false},
		{"corrupt", enc("RSA PRIVATE KEY", pkcs1[:len(pkcs1)/2]), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := appParseKey(tc.in)
			if tc.ok {
				if err != nil || !k.Equal(rk) {
					t.Fatalf("appParseKey: %v, %v; want the key", k != nil, err)
				}
				return
			}
			if err == nil {
				t.Fatal("appParseKey: no error, want one")
			}
			if b, _ := pem.Decode(tc.in); b != nil && len(b.Bytes) > 8 && strings.Contains(err.Error(), string(b.Bytes[:8])) {
				t.Errorf("appParseKey error %q quotes the key", err)
			}
		})
	}
}

// A caller's HTTP client without a Timeout still gets one: no GitHub call
// may wait forever.
func TestNewClient_ZeroTimeout(t *testing.T) {
	c, err := NewClient(Auth{Token: "t"}, Options{HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != DefaultTimeout || c.gh.Client().Timeout != DefaultTimeout {
		t.Errorf("timeouts %v and %v, want %v", c.timeout, c.gh.Client().Timeout, DefaultTimeout)
	}
}
