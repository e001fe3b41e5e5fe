package config

import (
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
	"gopkg.in/yaml.v3"
)

// Bounds of the web section.
const (
	DefaultSessionTTL = 12 * time.Hour
	MaxSessionTTL     = 30 * 24 * time.Hour
	// MinReadToken is the shortest read token taken: the pages face
	// whoever can reach listen, so a token must not be guessable.
	MinReadToken = 16
	// MinSessionKey is the shortest session key, in bytes.
	MinSessionKey = 32
	// AuditTokenName is the name audit.token signs in as.
	AuditTokenName = "audit"
)

// Web configures the read-only web pages (/, /requests/…, /services/…,
// /audit). audit.token is always a read token too, named "audit"; serve
// builds the pages only when there is a read token or a trusted proxy.
type Web struct {
	// ReadTokens are the read tokens besides audit.token, in file order.
	ReadTokens []ReadToken
	// SessionKey signs session cookies (32 bytes or more). Zero: serve
	// makes a random key, so that sessions end when the bot restarts.
	SessionKey cs.Secret
	// SessionTTL is how long a sign-in lasts (default 12h, at most 30 days).
	SessionTTL time.Duration
	// Proxy is a trusted authenticating proxy; nil when there is none.
	Proxy *Proxy
	// TrustedProxies are the proxies in front of the bot (a TLS proxy)
	// whose X-Forwarded-For names the client: the address the limit on
	// wrong tokens counts and the audit trail records. Proxy's addresses
	// are trusted for it too.
	TrustedProxies []netip.Prefix
}

// ReadToken is a named read token. The name is what the audit trail and
// the pages show; the token never is.
type ReadToken struct {
	Name  string
	Token cs.Secret
}

// Proxy is an authenticating proxy in front of the bot (oauth2-proxy and
// the like): a request from one of Trusted that carries UserHeader is
// signed in as the user the header names.
type Proxy struct {
	UserHeader string // canonical form, e.g. X-Forwarded-User
	Trusted    []netip.Prefix
}

var (
	readTokenName = regexp.MustCompile(`^[a-z0-9_-]{1,63}$`)
	// headerName is an HTTP field name (RFC 9110 token).
	headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
)

// proxyRefusedHeaders are headers that carry something else: a proxy
// naming its user in one of them would be taken for what they mean.
var proxyRefusedHeaders = map[string]bool{
	"Authorization": true, "Cookie": true, "Host": true, "Content-Type": true, "Content-Length": true,
}

// web decodes the web section. auditToken is audit.token, which no read
// token may repeat.
func (d *decoder) web(o *object, auditToken cs.Secret) Web {
	w := Web{SessionTTL: DefaultSessionTTL}
	w.ReadTokens = d.readTokens(o, "read_tokens", auditToken)
	w.SessionKey = d.sessionKey(o, "session_key")
	if ttl, ok := o.Duration("session_ttl"); ok {
		if ttl > MaxSessionTTL {
			d.AddAt(o.Sub("session_ttl"), "%s is longer than 30 days (720h)", strictyaml.Quote(ttl.String()))
		} else {
			w.SessionTTL = ttl
		}
	}
	if o.Has("proxy") {
		w.Proxy = d.proxy(o.obj("proxy"))
	}
	w.TrustedProxies = d.prefixes(o, "trusted_proxies", "anyone could send a wrong token under any address by sending X-Forwarded-For")
	o.Done()
	return w
}

// readTokens decodes web.read_tokens: unique names, tokens of 16
// characters or more, each its own.
func (d *decoder) readTokens(parent *object, key string, auditToken cs.Secret) []ReadToken {
	var out []ReadToken
	names := map[string]string{}
	values := map[string]string{}
	if !auditToken.IsZero() && !d.unread(auditToken) {
		values[auditToken.Reveal()] = "audit.token"
	}
	for i, n := range parent.List(key) {
		p := strictyaml.Item(parent.Sub(key), i)
		o := d.object(n, p)
		o.Require("name")
		t := ReadToken{Name: o.Str("name"), Token: o.token("token", readTokenShape)}
		switch {
		case t.Name == "":
		case t.Name == AuditTokenName:
			d.AddAt(o.Sub("name"), "%s is the name of audit.token, which is always a read token; choose another", strictyaml.Quote(t.Name))
		case !readTokenName.MatchString(t.Name):
			d.AddAt(o.Sub("name"), "%s is not a valid token name (lower-case letters, digits, - and _, at most 63)", strictyaml.Quote(t.Name))
		default:
			if first, dup := names[t.Name]; dup {
				d.AddAt(o.Sub("name"), "duplicate token name %s (also %s)", strictyaml.Quote(t.Name), first)
			} else {
				names[t.Name] = p
			}
		}
		form := o.givenForm("token")
		switch {
		case form == "":
			d.Add(o.line, o.Sub("token"), "required (give token, token_file or token_env)")
		case t.Token.IsZero(): // refused, and said why
		case d.unread(t.Token): // not read: nothing to compare
		default:
			if first, dup := values[t.Token.Reveal()]; dup {
				d.AddAt(form, "the same token as %s: give each reader a token of its own", first)
			} else {
				values[t.Token.Reveal()] = p
			}
		}
		o.Done()
		out = append(out, t)
	}
	return out
}

// readTokenShape refuses a read token too short to be hard to guess.
func readTokenShape(s string) string {
	if len(s) < MinReadToken {
		return fmt.Sprintf("is shorter than %d characters (make one with `openssl rand -base64 24`)", MinReadToken)
	}
	return ""
}

// sessionKey reads the key that signs session cookies. It is bytes, not
// a token: whitespace is allowed, length is what counts.
func (d *decoder) sessionKey(o *object, key string) cs.Secret {
	v := o.secretValue(key)
	if !v.IsZero() && !d.unread(v.Secret) && len(v.Reveal()) < MinSessionKey {
		d.AddAt(v.path, "%s is shorter than %d bytes (make one with `openssl rand -base64 32`)", v.from, MinSessionKey)
		return cs.Secret{}
	}
	return v.Secret
}

// proxy decodes web.proxy: a header and the addresses it is believed from.
func (d *decoder) proxy(o *object) *Proxy {
	o.Require("user_header")
	p := &Proxy{UserHeader: o.Str("user_header")}
	if p.UserHeader != "" {
		canon := http.CanonicalHeaderKey(p.UserHeader)
		switch {
		case !headerName.MatchString(p.UserHeader):
			d.AddAt(o.Sub("user_header"), "want an HTTP header name (e.g. X-Forwarded-User), got %s", strictyaml.Quote(p.UserHeader))
		case proxyRefusedHeaders[canon]:
			d.AddAt(o.Sub("user_header"), "%s carries something else; want the header the proxy names its user in (e.g. X-Forwarded-User)", strictyaml.Quote(p.UserHeader))
		default:
			p.UserHeader = canon
		}
	}
	if n := o.Get("trusted"); strictyaml.IsNull(n) || n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.Add(o.line, o.Sub("trusted"), "required: the proxy's addresses (CIDR prefixes or single addresses); the header is refused from any other")
	}
	p.Trusted = d.prefixes(o, "trusted", "anyone could sign in as anyone by sending the header")
	o.Done()
	return p
}

// prefixes decodes a list of trusted addresses; everyone says what
// trusting every address would allow.
func (d *decoder) prefixes(o *object, key, everyone string) []netip.Prefix {
	var out []netip.Prefix
	for i, n := range o.List(key) {
		path := strictyaml.Item(o.Sub(key), i)
		if n.Kind != yaml.ScalarNode {
			d.Add(n.Line, path, "want a CIDR prefix or an address, got %s", strictyaml.Describe(n))
			continue
		}
		pr, msg := trustedPrefix(n.Value, everyone)
		if msg != "" {
			d.Add(n.Line, path, "%s", msg)
			continue
		}
		out = append(out, pr)
	}
	return out
}

// trustedPrefix parses a CIDR prefix (10.0.0.0/8) or a single address
// (127.0.0.1, ::1), or says what is wrong with it.
func trustedPrefix(s, everyone string) (netip.Prefix, string) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, "want a CIDR prefix (10.0.0.0/8) or an address (127.0.0.1), got " + strictyaml.Quote(s)
		}
		return netip.PrefixFrom(a, a.BitLen()), ""
	}
	pr, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		return netip.Prefix{}, "want a CIDR prefix (10.0.0.0/8) or an address (127.0.0.1), got " + strictyaml.Quote(s)
	case pr.Bits() == 0:
		return netip.Prefix{}, strictyaml.Quote(s) + " trusts every address: " + everyone
	case pr.Masked() != pr:
		return netip.Prefix{}, fmt.Sprintf("%s has bits set beyond the prefix length: did you mean %s?", strictyaml.Quote(s), pr.Masked())
	}
	return pr, ""
}

// givenForm returns the path of the form (x, x_file or x_env) secret key
// was given by, or "" when none was.
func (o *object) givenForm(key string) string {
	for _, f := range []string{key, key + "_file", key + "_env"} {
		if o.Has(f) {
			return o.Sub(f)
		}
	}
	return ""
}
