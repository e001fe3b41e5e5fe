package countersign

import (
	"slices"
	"strings"
	"testing"
)

func TestDNSTypes(t *testing.T) {
	all := DNSTypes()
	if len(all) == 0 {
		t.Fatal("DNSTypes() is empty")
	}
	seen := map[string]bool{}
	for _, typ := range all {
		if typ == "" || strings.ToUpper(typ) != typ {
			t.Errorf("DNSTypes() holds %q: want upper case", typ)
		}
		if seen[typ] {
			t.Errorf("DNSTypes() holds %q twice", typ)
		}
		seen[typ] = true
		if !ValidDNSType(typ) {
			t.Errorf("ValidDNSType(%q) = false", typ)
		}
	}
	for _, typ := range DefaultDNSTypes() {
		if !seen[typ] {
			t.Errorf("DefaultDNSTypes() holds %q, which is not in DNSTypes()", typ)
		}
	}
	for _, typ := range []string{"", "a", "SOA", "ANY", "AXFR", "DS", "HINFO", "DNAME", " A"} {
		if ValidDNSType(typ) {
			t.Errorf("ValidDNSType(%q) = true", typ)
		}
	}
	// The caller's slices: changing one changes nothing else.
	all[0] = "SOA"
	if DNSTypes()[0] == "SOA" || ValidDNSType("SOA") {
		t.Error("DNSTypes() shares its slice")
	}
	def := DefaultDNSTypes()
	def[0] = "SOA"
	if slices.Contains(DefaultDNSTypes(), "SOA") {
		t.Error("DefaultDNSTypes() shares its slice")
	}
}
