package config

import (
	"slices"
	"testing"

	cs "github.com/countersign/countersign"
)

func TestParse_ZoneProblems(t *testing.T) {
	const z = "db: a.db\ndns:\n  - "
	runCases(t, []problemCase{
		{"required", z + "{}\n", []string{
			`dns[0].zone: required`, `dns[0].server: required`, `dns[0].tsig_key: required`,
			`dns[0].tsig_secret: required (give tsig_secret, tsig_secret_file or tsig_secret_env)`,
		}},
		{"zone name", z + "{zone: \"mirage os.org\", server: ns.org, tsig_key: k, tsig_secret: c2VjcmV0}\n", []string{
			`dns[0].zone: not a valid DNS name: "mirage os.org"`,
		}},
		{"duplicate zone", z + "{zone: m.org, server: ns.org, tsig_key: k, tsig_secret: c2VjcmV0}\n  - {zone: M.ORG., server: ns.org, tsig_key: k, tsig_secret: c2VjcmV0}\n", []string{
			`dns[1].zone: duplicate zone "m.org" (also dns[0])`,
		}},
		{"server", z + "{zone: m.org, server: \"ns.org:dns\", tsig_key: k, tsig_secret: c2VjcmV0}\n", []string{
			`dns[0].server: want host[:port], got "ns.org:dns"`,
		}},
		{"tsig key name", z + "{zone: m.org, server: ns.org, tsig_key: \"deploy key\", tsig_secret: c2VjcmV0}\n", []string{
			`dns[0].tsig_key: not a valid TSIG key name (a DNS name): "deploy key"`,
		}},
		{"tsig algorithm", z + "{zone: m.org, server: ns.org, tsig_key: k, tsig_algorithm: hmac-md5, tsig_secret: c2VjcmV0}\n", []string{
			`dns[0].tsig_algorithm: want hmac-sha256 or hmac-sha512, got "hmac-md5"`,
		}},
		{"tsig secret not base64", z + "{zone: m.org, server: ns.org, tsig_key: k, tsig_secret: \"not-base64!\"}\n", []string{
			`dns[0].tsig_secret: the TSIG secret is not valid base64`,
		}},
		{"unknown type", z + "{zone: m.org, server: ns.org, tsig_key: k, tsig_secret: c2VjcmV0, types: [a, SOA]}\n", []string{
			`dns[0].types[1]: unknown record type "SOA" (known: A, AAAA, CAA, CNAME, MX, NS, PTR, SRV, SSHFP, TLSA, TXT)`,
		}},
		{"duplicate type", z + "{zone: m.org, server: ns.org, tsig_key: k, tsig_secret: c2VjcmV0, types: [A, a]}\n", []string{
			`dns[0].types[1]: duplicate type "A"`,
		}},
		{"unknown key", z + "{zone: m.org, server: ns.org, tsig_key: k, tsig_secret: c2VjcmV0, ttl: 60}\n", []string{
			`dns[0].ttl: unknown key`,
		}},
	})
}

// TestParse_ZoneNormalised: names come out lower case, the key fully
// qualified, the server with a port, and the defaults filled in.
func TestParse_ZoneNormalised(t *testing.T) {
	for _, tc := range []struct {
		name string
		zone string
		want Zone
	}{
		{"defaults", "{zone: MirageOS.org., server: NS0.mirageos.org, tsig_key: Deploy._Update, tsig_secret: c2VjcmV0}",
			Zone{Zone: "mirageos.org", Server: "NS0.mirageos.org:53", TSIGKey: "deploy._update.", TSIGAlgorithm: "hmac-sha256", Types: cs.DefaultDNSTypes()}},
		{"given", "{zone: m.org, server: \"[2001:db8::1]:5353\", tsig_key: k., tsig_algorithm: HMAC-SHA512., tsig_secret: c2VjcmV0, types: [aaaa]}",
			Zone{Zone: "m.org", Server: "[2001:db8::1]:5353", TSIGKey: "k.", TSIGAlgorithm: "hmac-sha512", Types: []string{"AAAA"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte("db: a.db\ndns: ["+tc.zone+"]\n"), "", env(nil))
			if err != nil {
				t.Fatal(err)
			}
			got := c.DNS[0]
			if got.Zone != tc.want.Zone || got.Server != tc.want.Server || got.TSIGKey != tc.want.TSIGKey ||
				got.TSIGAlgorithm != tc.want.TSIGAlgorithm || !slices.Equal(got.Types, tc.want.Types) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if got.TSIGSecret.Reveal() != "c2VjcmV0" {
				t.Errorf("got secret %q, want c2VjcmV0", got.TSIGSecret.Reveal())
			}
		})
	}
}
