package dns

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/executors/dns/bindtest"
)

// harness is an executor for a real BIND primary, with everything it
// said (log, steps, errors, descriptions) collected for the secret check.
type harness struct {
	srv *bindtest.Server
	e   *Executor
	log *syncBuffer
}

// start starts named and an executor for its zone; mod may change the
// zone and options before New.
func start(t testing.TB, bopts bindtest.Options, mod func(*Zone, *Options)) *harness {
	t.Helper()
	srv := bindtest.Start(t, bopts)
	return attach(t, srv, mod)
}

// attach makes another executor for a running server.
func attach(t testing.TB, srv *bindtest.Server, mod func(*Zone, *Options)) *harness {
	t.Helper()
	h := &harness{srv: srv, log: &syncBuffer{}}
	z := Zone{Name: bindtest.Zone, Server: srv.Addr, Key: srv.Key, Algorithm: srv.Algorithm, Secret: srv.Secret}
	o := Options{Timeout: 5 * time.Second, Logger: slog.New(slog.NewJSONHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&z, &o)
	}
	e, err := New(z, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.e = e
	t.Cleanup(func() {
		// Whatever a test did, the log must not hold a secret.
		noSecret(t, srv, "log", h.log.String())
	})
	return h
}

func set(name, typ, value string, ttl uint32) cs.Action {
	return cs.Action{Kind: cs.ActionDNS, Target: name, DNS: &cs.DNSChange{Op: cs.DNSSet, Name: name, Type: typ, Value: value, TTL: ttl}}
}

func del(name, typ, value string) cs.Action {
	return cs.Action{Kind: cs.ActionDNS, Target: name, DNS: &cs.DNSChange{Op: cs.DNSDelete, Name: name, Type: typ, Value: value}}
}

// prepare runs Prepare and fails the test on error.
func (h *harness) prepare(t *testing.T, a cs.Action) cs.Action {
	t.Helper()
	p, err := h.e.Prepare(context.Background(), a)
	if err != nil {
		t.Fatalf("Prepare(%s): %v", a, err)
	}
	return p
}

// execute runs Execute and returns the result, the steps and the error,
// checking none of them holds the secret.
func (h *harness) execute(t *testing.T, a cs.Action) (bot.Result, []string, error) {
	t.Helper()
	var steps []string
	res, err := h.e.Execute(context.Background(), cs.Request{ID: "R1", Action: a}, func(s string) error {
		steps = append(steps, s)
		return nil
	})
	noSecret(t, h.srv, "steps", strings.Join(steps, "\n"))
	noSecret(t, h.srv, "summary", res.Summary)
	if err != nil {
		noSecret(t, h.srv, "error", err.Error())
	}
	return res, steps, err
}

// noSecret fails the test if text holds either of the server's secrets,
// in base64 or hex.
func noSecret(t testing.TB, srv *bindtest.Server, what, text string) {
	t.Helper()
	for _, s := range []cs.Secret{srv.Secret, srv.LimitedSecret} {
		raw, _ := base64.StdEncoding.DecodeString(s.Reveal())
		for _, form := range []string{s.Reveal(), hex.EncodeToString(raw), strings.TrimRight(s.Reveal(), "=")} {
			if strings.Contains(text, form) {
				t.Errorf("%s holds a TSIG secret: %s", what, text)
			}
		}
	}
}

// records builds cs.Records from "name ttl TYPE value" lines.
func records(t *testing.T, lines ...string) []cs.Record {
	t.Helper()
	out := []cs.Record{}
	for _, l := range lines {
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 {
			t.Fatalf("bad record line %q", l)
		}
		ttl, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil {
			t.Fatalf("bad record line %q: %v", l, err)
		}
		out = append(out, cs.Record{Name: f[0], TTL: uint32(ttl), Type: f[2], Value: f[3]})
	}
	return out
}

// query returns what the primary holds, read independently of the code
// under test, as "name ttl TYPE value" lines.
func (h *harness) query(t *testing.T, name, typ string) []string {
	t.Helper()
	var out []string
	for _, l := range h.srv.Query(t, name, typ) {
		out = append(out, strings.ReplaceAll(l, "\t", " "))
	}
	slices.Sort(out) // BIND rotates the order of an RRset
	return out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
