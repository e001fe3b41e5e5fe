package dns

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/executors/dns/bindtest"
)

// TestExecutor_secretNeverShown drives every path that produces text —
// chat answers, approval descriptions, progress steps, results, errors
// (including auth failures with a wrong secret) and debug logs — and
// checks none holds a TSIG secret. (The harness also checks each test's
// log when the test ends.)
func TestExecutor_secretNeverShown(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{Records: seed})
	ctx := context.Background()
	var texts []string
	add := func(s string, err error) {
		texts = append(texts, s)
		if err != nil {
			texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
		}
	}
	progress := func(s string) error { texts = append(texts, s); return nil }

	wrong := base64.StdEncoding.EncodeToString([]byte("a distinctive wrong secret, 32 b"))
	for i, h := range []*harness{
		attach(t, srv, nil),
		attach(t, srv, func(_ *Zone, o *Options) { o.DryRun = true }),
		attach(t, srv, func(z *Zone, _ *Options) { z.Secret = cs.NewSecret(wrong) }),
		attach(t, srv, func(z *Zone, _ *Options) { z.Key, z.Secret = srv.LimitedKey, srv.LimitedSecret }),
	} {
		recs, err := h.e.Show(ctx, "multi.example.test.", "")
		add(fmt.Sprint(recs), err)
		change := set("www.example.test.", "A", fmt.Sprintf("192.0.2.%d", 100+i), 0)
		a, err := h.e.Prepare(ctx, change)
		add(fmt.Sprintf("%+v", a.DNS), err)
		if err != nil {
			// Let the failing executors try an update anyway.
			a = attach(t, srv, nil).prepare(t, change)
		}
		b, _ := json.Marshal(a)
		texts = append(texts, string(b))
		req := cs.Request{ID: "R1", Action: a}
		add(h.e.Describe(ctx, req))
		res, err := h.e.Execute(ctx, req, progress)
		add(res.Summary, err)
		texts = append(texts, fmt.Sprintf("%+v %#v", h.e, h.e), h.log.String())
	}
	// An executor that cannot start says why without the secret.
	_, err := New(Zone{Name: "example.test", Server: srv.Addr, Key: "k.", Algorithm: "hmac-md5", Secret: srv.Secret}, Options{})
	add("", err)
	_, err = New(Zone{Name: "example.test", Server: srv.Addr, Key: "k.", Secret: cs.NewSecret("not base64 " + srv.Secret.Reveal())}, Options{})
	add("", err)

	all := strings.Join(texts, "\n")
	noSecret(t, srv, "output", all)
	raw, _ := base64.StdEncoding.DecodeString(wrong)
	if strings.Contains(all, wrong) || strings.Contains(all, string(raw)) {
		t.Errorf("output holds the wrong secret:\n%s", all)
	}
	if !strings.Contains(all, "BADSIG") || !strings.Contains(all, "REFUSED") || !strings.Contains(all, "DRY RUN") {
		t.Errorf("the test did not reach the paths it means to check:\n%s", all)
	}
}

// recorder notes a failure instead of failing, to test a test helper.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

// TestNoSecret checks the check: every form of the secret is caught.
func TestNoSecret(t *testing.T) {
	srv := &bindtest.Server{Secret: cs.NewSecret("c2VjcmV0IGtleSBtYXRlcmlhbCAxMjM0NTY3OA=="), LimitedSecret: cs.NewSecret("b3RoZXI=")}
	raw, _ := base64.StdEncoding.DecodeString(srv.Secret.Reveal())
	tests := []struct {
		text string
		want bool
	}{
		{"nothing here", false},
		{"key " + srv.Secret.Reveal(), true},
		{"hex " + fmt.Sprintf("%x", raw), true},
		{"unpadded " + strings.TrimRight(srv.Secret.Reveal(), "="), true},
		{"the other key b3RoZXI=", true},
	}
	for _, tt := range tests {
		r := &recorder{TB: t}
		noSecret(r, srv, "text", tt.text)
		if r.failed != tt.want {
			t.Errorf("noSecret(%q) failed = %v, want %v", tt.text, r.failed, tt.want)
		}
	}
}
