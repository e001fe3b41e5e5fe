package config

import (
	"slices"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
)

// zoneWithTypes is a config with one zone whose types line is given.
func zoneWithTypes(types string) []byte {
	z := "{zone: m.org, server: ns.org, tsig_key: k, tsig_secret: c2VjcmV0"
	if types != "" {
		z += ", types: " + types
	}
	return []byte("db: a.db\ndns: [" + z + "}]\n")
}

// TestParse_ZoneTypes_OneList: a zone may allow every type of the one
// list, cs.DNSTypes(), in any case, and nothing else.
func TestParse_ZoneTypes_OneList(t *testing.T) {
	for _, typ := range cs.DNSTypes() {
		for _, given := range []string{typ, strings.ToLower(typ)} {
			t.Run(given, func(t *testing.T) {
				c, err := Parse(zoneWithTypes("["+given+"]"), "", env(nil))
				if err != nil {
					t.Fatalf("types: [%s]: %v", given, err)
				}
				if got, want := c.DNS[0].Types, []string{typ}; !slices.Equal(got, want) {
					t.Errorf("Types: got %q, want %q", got, want)
				}
			})
		}
	}
	t.Run("all of them", func(t *testing.T) {
		c, err := Parse(zoneWithTypes("["+strings.Join(cs.DNSTypes(), ", ")+"]"), "", env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.DNS[0].Types, cs.DNSTypes(); !slices.Equal(got, want) {
			t.Errorf("Types: got %q, want %q", got, want)
		}
	})
	known := strings.Join(slices.Sorted(slices.Values(cs.DNSTypes())), ", ")
	for _, typ := range []string{"SOA", "ANY", "HINFO", "DNAME", "DS", "A6", "NAPTR"} {
		t.Run("refused "+typ, func(t *testing.T) {
			_, err := Parse(zoneWithTypes("[A, "+typ+"]"), "", env(nil))
			checkProblems(t, err, []string{`dns[0].types[1]: unknown record type "` + typ + `" (known: ` + known + `)`})
		})
	}
}

// TestParse_ZoneTypes_Default: no types line allows cs.DefaultDNSTypes(),
// in a slice of the zone's own.
func TestParse_ZoneTypes_Default(t *testing.T) {
	c, err := Parse(zoneWithTypes(""), "", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.DNS[0].Types, cs.DefaultDNSTypes(); !slices.Equal(got, want) {
		t.Errorf("Types: got %q, want %q", got, want)
	}
	c.DNS[0].Types[0] = "SOA"
	again, err := Parse(zoneWithTypes(""), "", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := again.DNS[0].Types, cs.DefaultDNSTypes(); !slices.Equal(got, want) {
		t.Errorf("after changing one zone's types, another's are %q, want %q", got, want)
	}
}
