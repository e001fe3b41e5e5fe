package dns

import (
	"slices"
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

func TestNew(t *testing.T) {
	secret := cs.NewSecret("c2VjcmV0IGZvciB0ZXN0TmV3")
	good := Zone{Name: "example.org", Server: "192.0.2.53:53", Key: "countersign", Secret: secret}
	tests := []struct {
		name    string
		mod     func(*Zone, *Options)
		wantErr string // "" = no error
	}{
		{"minimal", func(*Zone, *Options) {}, ""},
		{"trailing dot and upper case", func(z *Zone, _ *Options) { z.Name, z.Key = "Example.ORG.", "CounterSign." }, ""},
		{"sha512", func(z *Zone, _ *Options) { z.Algorithm = "HMAC-SHA512" }, ""},
		{"IPv6 server", func(z *Zone, _ *Options) { z.Server = "[2001:db8::53]:5353" }, ""},
		{"no zone", func(z *Zone, _ *Options) { z.Name = "" }, `dns zone "": not a valid zone name`},
		{"root zone", func(z *Zone, _ *Options) { z.Name = "." }, "not a valid zone name"},
		{"bad zone", func(z *Zone, _ *Options) { z.Name = "a..b" }, "not a valid zone name"},
		{"server without port", func(z *Zone, _ *Options) { z.Server = "ns1.example.org" }, `dns zone example.org: server: "ns1.example.org": want host:port`},
		{"server with a bad port", func(z *Zone, _ *Options) { z.Server = "ns1.example.org:dns" }, "port is not a number"},
		{"server without host", func(z *Zone, _ *Options) { z.Server = ":53" }, "no host"},
		{"no key", func(z *Zone, _ *Options) { z.Key = "" }, "TSIG key name"},
		{"bad algorithm", func(z *Zone, _ *Options) { z.Algorithm = "hmac-md5" }, `TSIG algorithm "hmac-md5": want hmac-sha256 or hmac-sha512`},
		{"no secret", func(z *Zone, _ *Options) { z.Secret = cs.Secret{} }, "no TSIG secret for key countersign."},
		{"secret not base64", func(z *Zone, _ *Options) { z.Secret = cs.NewSecret("not base64!") }, "the TSIG secret of key countersign. is not valid base64"},
		{"type that cannot be allowed", func(z *Zone, _ *Options) { z.Types = []string{"A", "SOA"} }, `record type "SOA" cannot be allowed`},
		{"negative timeout", func(_ *Zone, o *Options) { o.Timeout = -time.Second }, "negative timeout"},
		{"default TTL too long", func(_ *Zone, o *Options) { o.DefaultTTL = MaxTTL + 1 }, "default TTL 604801 is more than 604800"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, o := good, Options{}
			tt.mod(&z, &o)
			e, err := New(z, o)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("New succeeded, want an error saying %q", tt.wantErr)
			case err != nil && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("error %q does not say %q", err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), secret.Reveal()) || strings.Contains(err.Error(), "not base64!")) {
				t.Errorf("error %q holds the secret", err)
			}
			if err == nil && (e.Zone() != "example.org." || e.key != "countersign.") {
				t.Errorf("zone %q, key %q: want both fully qualified in lower case", e.Zone(), e.key)
			}
		})
	}
}

func TestNew_defaults(t *testing.T) {
	e, err := New(Zone{Name: "example.org", Server: "192.0.2.53:53", Key: "k.", Secret: cs.NewSecret("c2VjcmV0")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Types(), []string{"A", "AAAA", "CNAME", "TXT", "MX", "SRV", "CAA"}; !slices.Equal(got, want) {
		t.Errorf("Types: got %v, want %v", got, want)
	}
	if got, want := e.algorithm, "hmac-sha256"; got != want {
		t.Errorf("algorithm: got %q, want %q", got, want)
	}
	if e.opts.Timeout != 10*time.Second || e.opts.DefaultTTL != 3600 || e.opts.Now == nil || e.opts.Logger == nil {
		t.Errorf("options: got %+v, want timeout 10s, default TTL 3600, a clock and a logger", e.opts)
	}
	e, err = New(Zone{Name: "example.org", Server: "192.0.2.53:53", Key: "k.", Secret: cs.NewSecret("c2VjcmV0"), Types: []string{"txt", "A", "TXT"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Types(), []string{"TXT", "A"}; !slices.Equal(got, want) {
		t.Errorf("Types: got %v, want %v", got, want)
	}
}
