package dns

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/dns/bindtest"
	"github.com/miekg/dns"
)

// TestExecutor_errors checks that what goes wrong with the primary comes
// back as a readable error around the right sentinel, for every operation,
// and that a failed update changes nothing.
func TestExecutor_errors(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{Records: []string{"limited 300 IN A 192.0.2.40"}})
	good := attach(t, srv, nil)
	change := good.prepare(t, set("www.example.test.", "A", "192.0.2.2", 0))
	otherSecret := make([]byte, 32)
	if _, err := rand.Read(otherSecret); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mod     func(*Zone, *Options)
		wantErr error
		wantMsg string
		reads   bool // the failure hits reads too, not only the update
	}{
		{"wrong secret", func(z *Zone, _ *Options) { z.Secret = cs.NewSecret(base64.StdEncoding.EncodeToString(otherSecret)) },
			ErrAuth, "the primary rejected the signature with key countersign. (BADSIG): the secret is not the one the primary has", true},
		{"unknown key", func(z *Zone, _ *Options) { z.Key = "nobody." },
			ErrAuth, "the primary does not know key nobody. with algorithm hmac-sha256 (BADKEY)", true},
		{"wrong algorithm", func(z *Zone, _ *Options) { z.Algorithm = "hmac-sha512" },
			ErrAuth, "(BADKEY)", true},
		{"clock an hour slow", func(_ *Zone, o *Options) { o.Now = func() time.Time { return time.Now().Add(-time.Hour) } },
			ErrAuth, "(BADTIME): the clocks of the bot and the primary differ by more than 300 seconds", true},
		{"key without the right to change the name", func(z *Zone, _ *Options) { z.Key, z.Secret = srv.LimitedKey, srv.LimitedSecret },
			ErrRefused, "the primary refused the update (REFUSED): its update-policy does not let key limited. change this name and type", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := attach(t, srv, tt.mod)
			ctx := context.Background()
			var errs []error
			if tt.reads {
				_, err := h.e.Show(ctx, "www.example.test.", "")
				errs = append(errs, err)
				_, err = h.e.Prepare(ctx, set("www.example.test.", "A", "192.0.2.3", 0))
				errs = append(errs, err)
			}
			_, _, err := h.execute(t, change)
			errs = append(errs, err)
			for _, err := range errs {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("got error %v, want %v", err, tt.wantErr)
					continue
				}
				if !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error %q does not say %q", err, tt.wantMsg)
				}
				noSecret(t, srv, "error", err.Error())
			}
			if got, want := good.query(t, "www.example.test.", "A"), []string{"www.example.test. 300 A 192.0.2.1"}; !slices.Equal(got, want) {
				t.Errorf("primary holds %q, want it unchanged %q", got, want)
			}
		})
	}

	t.Run("the limited key may change its own name", func(t *testing.T) {
		h := attach(t, srv, func(z *Zone, _ *Options) { z.Key, z.Secret = srv.LimitedKey, srv.LimitedSecret })
		if _, _, err := h.execute(t, h.prepare(t, set("limited.example.test.", "A", "192.0.2.41", 0))); err != nil {
			t.Fatalf("Execute: %v", err)
		}
	})
	t.Run("zone the server does not serve", func(t *testing.T) {
		h := attach(t, srv, func(z *Zone, _ *Options) { z.Name = "other.test" })
		_, err := h.e.Show(context.Background(), "www.other.test.", "A")
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("got %v, want ErrRefused", err)
		}
		if want := "it does not serve zone other.test."; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	})
}

// TestExecutor_unreachable checks timeouts and refused connections, with
// stand-ins for a primary that hangs and one that is down.
func TestExecutor_unreachable(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() { // accept and never answer
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := down.Addr().String()
	down.Close()

	tests := []struct {
		name, server string
		wantErr      error
		wantMsg      string
	}{
		{"no answer", silent.Addr().String(), ErrTimeout, "timed out: no answer from the primary " + silent.Addr().String() + " within 200ms"},
		{"nothing listening", downAddr, ErrUnreachable, "cannot reach the primary " + downAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(Zone{Name: "example.test", Server: tt.server, Key: "k.", Secret: cs.NewSecret("c2VjcmV0")},
				Options{Timeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.Show(context.Background(), "www.example.test.", "A")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}

	t.Run("cancelled", func(t *testing.T) {
		e, err := New(Zone{Name: "example.test", Server: silent.Addr().String(), Key: "k.", Secret: cs.NewSecret("c2VjcmV0")}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err = e.Show(ctx, "www.example.test.", "A")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %s: the exchange did not stop when the context was cancelled", took)
		}
	})
}

// TestExecutor_unsignedAnswer checks reads are authenticated: an answer
// without a TSIG signature (a stand-in server that does not sign, as an
// attacker on the path would answer) is refused, not believed.
func TestExecutor_unsignedAnswer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: l, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		r := new(dns.Msg)
		r.SetReply(q)
		r.Authoritative = true
		rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN A 192.0.2.66")
		r.Answer = append(r.Answer, rr)
		_ = w.WriteMsg(r)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	defer func() { _ = srv.Shutdown() }()

	e, err := New(Zone{Name: "example.test", Server: l.Addr().String(), Key: "k.", Secret: cs.NewSecret("c2VjcmV0")}, Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Show(context.Background(), "www.example.test.", "A")
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "is not signed") {
		t.Fatalf("got %v, %v; want ErrAuth saying the answer is not signed", got, err)
	}
}

// TestExecutor_answerError covers the error answers a test BIND does not
// easily give (SERVFAIL, NOTAUTH without a TSIG error, NOTZONE, others).
func TestExecutor_answerError(t *testing.T) {
	e, err := New(Zone{Name: "example.test", Server: "192.0.2.53:53", Key: "k.", Secret: cs.NewSecret("c2VjcmV0")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rcode    int
		tsigErr  uint16
		update   bool
		want     error
		wantText string
	}{
		{dns.RcodeServerFailure, 0, true, ErrServFail, "the primary failed to process it (SERVFAIL)"},
		{dns.RcodeNotAuth, 0, true, ErrNotAuthoritative, "192.0.2.53:53 is not authoritative for zone example.test."},
		{dns.RcodeNotAuth, dns.RcodeBadSig, true, ErrAuth, "(BADSIG)"},
		{dns.RcodeNotAuth, dns.RcodeBadKey, false, ErrAuth, "(BADKEY)"},
		{dns.RcodeNotAuth, dns.RcodeBadTime, false, ErrAuth, "(BADTIME)"},
		{dns.RcodeNotAuth, dns.RcodeBadTrunc, false, ErrAuth, "TSIG error BADTRUNC"},
		{dns.RcodeRefused, 0, true, ErrRefused, "refused the update (REFUSED)"},
		{dns.RcodeRefused, 0, false, ErrRefused, "refused the query (REFUSED)"},
		{dns.RcodeNotZone, 0, true, ErrOutsideZone, "(NOTZONE)"},
		{dns.RcodeNXRrset, 0, true, ErrChanged, "NXRRSET"},
		{dns.RcodeYXRrset, 0, true, ErrChanged, "YXRRSET"},
		{dns.RcodeFormatError, 0, true, ErrRcode, "the primary answered FORMERR"},
		{dns.RcodeNotImplemented, 0, false, ErrRcode, "the primary answered NOTIMP"},
	}
	for _, tt := range tests {
		t.Run(dns.RcodeToString[tt.rcode]+"/"+rcodeName(int(tt.tsigErr)), func(t *testing.T) {
			r := new(dns.Msg)
			r.Rcode = tt.rcode
			if tt.update {
				r.Opcode = dns.OpcodeUpdate
			}
			if tt.tsigErr != 0 {
				r.Extra = append(r.Extra, &dns.TSIG{Hdr: dns.RR_Header{Name: "k.", Rrtype: dns.TypeTSIG, Class: dns.ClassANY}, Algorithm: dns.HmacSHA256, Error: tt.tsigErr})
			}
			err := e.answerError("op", r)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("got %v, want %v saying %q", err, tt.want, tt.wantText)
			}
		})
	}
}
