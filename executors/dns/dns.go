// Package dns is the DNS executor: it shows, sets, adds and deletes
// records of one zone, of the types of cs.DNSTypes(), by talking to the
// zone's primary name server directly, over TCP, with every message
// signed with TSIG.
//
// A change is a compare-and-swap. Prepare reads the RRset the change is
// about and fills in the exact current and proposed records, which the
// approver sees and the approval is bound to. Execute sends an RFC 2136
// UPDATE whose prerequisites say the RRset is still exactly what was read
// (or still absent), so a change someone else made in between makes the
// primary refuse the update (YXRRSET/NXRRSET) instead of it being
// overwritten; Execute then fails with ErrChanged and the records as they
// are now. After an update Execute queries the primary to verify the
// result and reports the zone's SOA serial before and after.
//
// The TSIG secret is only ever used to sign: it appears in no error, log
// line, description or result.
package dns

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/miekg/dns"
)

// Zone is a DNS zone the executor changes, as config.Zone holds it.
type Zone struct {
	Name      string    // zone name, e.g. "example.org" (a trailing dot is optional)
	Server    string    // the primary, host:port
	Key       string    // TSIG key name, e.g. "countersign."
	Algorithm string    // "hmac-sha256" (the default when empty) or "hmac-sha512"
	Secret    cs.Secret // the key's secret, base64 as in BIND's key clause
	// Types are the record types that may be changed: some of
	// cs.DNSTypes(), in any case; empty means cs.DefaultDNSTypes().
	Types []string
}

// Options tune an Executor; the zero value is ready to use.
type Options struct {
	// Timeout bounds each exchange with the primary (connect, send,
	// answer); default 10s.
	Timeout time.Duration
	// DefaultTTL is the TTL of a record set without a TTL where none
	// exists yet; default 3600.
	DefaultTTL uint32
	// DryRun makes Execute read and report but never send an UPDATE.
	DryRun bool
	// Logger gets one line per exchange; default: discard.
	Logger *slog.Logger
	// Now is the clock for TSIG signing times; default time.Now.
	Now func() time.Time
}

// MaxTTL is the longest TTL the executor sets: one week, as `dns set` accepts.
const MaxTTL = 604800

// fudge is the TSIG time window, in seconds, BIND's and nsupdate's default.
const fudge = 300

// Executor changes one zone. It is safe for concurrent use; each call
// opens its own TCP connection to the primary.
type Executor struct {
	zone      string // fully qualified, lower case
	server    string
	key       string // fully qualified, lower case
	algorithm string // "hmac-sha256" or "hmac-sha512", for messages
	tsig      *tsigKey
	types     []string
	opts      Options
	log       *slog.Logger

	// beforeUpdate, when set (by tests), runs after Execute has checked
	// the records and before it sends the UPDATE: the window in which only
	// the prerequisites protect the change.
	beforeUpdate func()
}

var (
	_ bot.Executor = (*Executor)(nil)
	_ bot.Preparer = (*Executor)(nil)
	_ bot.Shower   = (*Executor)(nil)
)

// New returns the executor of zone z. It checks z and opts and returns an
// error naming the first problem (never the secret).
func New(z Zone, opts Options) (*Executor, error) {
	zone := dns.CanonicalName(strings.TrimSpace(z.Name))
	if zone == "." || !validName(zone) {
		return nil, fmt.Errorf("dns zone %q: not a valid zone name", z.Name)
	}
	where := "dns zone " + strings.TrimSuffix(zone, ".")
	if err := checkServer(z.Server); err != nil {
		return nil, fmt.Errorf("%s: server: %w", where, err)
	}
	key := dns.CanonicalName(strings.TrimSpace(z.Key))
	if z.Key == "" || key == "." || !validName(key) {
		return nil, fmt.Errorf("%s: TSIG key name %q is not a valid DNS name", where, z.Key)
	}
	alg := strings.ToLower(strings.TrimSuffix(z.Algorithm, "."))
	if alg == "" {
		alg = "hmac-sha256"
	}
	if alg != "hmac-sha256" && alg != "hmac-sha512" {
		return nil, fmt.Errorf("%s: TSIG algorithm %q: want hmac-sha256 or hmac-sha512", where, z.Algorithm)
	}
	if z.Secret.IsZero() {
		return nil, fmt.Errorf("%s: no TSIG secret for key %s", where, key)
	}
	raw, err := base64.StdEncoding.DecodeString(z.Secret.Reveal())
	if err != nil || len(raw) == 0 {
		return nil, fmt.Errorf("%s: the TSIG secret of key %s is not valid base64", where, key)
	}
	types, err := checkTypes(z.Types)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	switch {
	case opts.Timeout < 0:
		return nil, fmt.Errorf("%s: negative timeout %s", where, opts.Timeout)
	case opts.Timeout == 0:
		opts.Timeout = 10 * time.Second
	}
	switch {
	case opts.DefaultTTL > MaxTTL:
		return nil, fmt.Errorf("%s: default TTL %d is more than %d", where, opts.DefaultTTL, MaxTTL)
	case opts.DefaultTTL == 0:
		opts.DefaultTTL = 3600
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Executor{
		zone: zone, server: z.Server, key: key, algorithm: alg,
		tsig:  &tsigKey{name: key, algorithm: alg + ".", secret: raw},
		types: types, opts: opts,
		log: opts.Logger.With("executor", "dns", "zone", strings.TrimSuffix(zone, "."), "server", z.Server),
	}, nil
}

// Zone returns the zone's name, fully qualified.
func (e *Executor) Zone() string { return e.zone }

// Types returns the record types that may be changed in the zone.
func (e *Executor) Types() []string { return slices.Clone(e.types) }

func checkServer(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q: want host:port", s)
	}
	if host == "" {
		return fmt.Errorf("%q: no host", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port is not a number from 1 to 65535", s)
	}
	return nil
}

func checkTypes(in []string) ([]string, error) {
	if len(in) == 0 {
		return cs.DefaultDNSTypes(), nil
	}
	var out []string
	for _, t := range in {
		u := strings.ToUpper(strings.TrimSpace(t))
		if !cs.ValidDNSType(u) {
			return nil, fmt.Errorf("record type %q cannot be allowed (want some of %s)", t, strings.Join(cs.DNSTypes(), ", "))
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out, nil
}

// validName reports whether s is a fully qualified DNS name of at most 255
// octets whose labels are at most 63.
func validName(s string) bool {
	_, ok := dns.IsDomainName(s)
	return ok && dns.IsFqdn(s) && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' })
}

// inZone reports whether the fully qualified name is the zone or below it.
func (e *Executor) inZone(name string) bool { return dns.IsSubDomain(e.zone, name) }
