package dns

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRecord(t *testing.T) {
	tests := []struct {
		typ, value string
		want       string // canonical value; "" = refused
		wantMsg    string // part of the error
	}{
		{"A", "192.0.2.1", "192.0.2.1", ""},
		{"A", "192.0.2.256", "", "not an IPv4 address"},
		{"A", "0192.0.2.1", "", "not an IPv4 address"},
		{"A", "2001:db8::1", "", "not an IPv4 address"},
		{"AAAA", "2001:DB8:0:0::1", "2001:db8::1", ""},
		{"AAAA", "fe80::1%eth0", "", "not an IPv6 address"},
		{"AAAA", "192.0.2.1", "", "not an IPv6 address"},
		{"CNAME", "WWW.Example.ORG.", "www.example.org.", ""},
		{"CNAME", "www.example.org", "", "fully qualified"},
		{"CNAME", ".", "", "fully qualified"},
		{"CNAME", "x.example.test.", "", "its own name"},
		{"NS", "ns1.example.org.", "ns1.example.org.", ""},
		{"MX", "10 Mail.Example.Org.", "10 mail.example.org.", ""},
		{"MX", "0 .", "0 .", ""},
		{"MX", "70000 mail.example.org.", "", "MX"},
		{"SRV", "10 5 5060 sip.example.org.", "10 5 5060 sip.example.org.", ""},
		{"SRV", "10 5 sip.example.org.", "", "SRV"},
		{"CAA", `0 issue "letsencrypt.org"`, `0 issue "letsencrypt.org"`, ""},
		{"CAA", `0 issue letsencrypt.org`, `0 issue "letsencrypt.org"`, ""},
		{"TXT", `"v=spf1 -all"`, `"v=spf1 -all"`, ""},
		{"TXT", `"a" "b c"`, `"a" "b c"`, ""},
		{"TXT", `"semi;colon (and parens)"`, `"semi;colon (and parens)"`, ""},
		{"TXT", `"quote \" and \\ backslash"`, `"quote \" and \\ backslash"`, ""},
		{"TXT", `"caf\195\169"`, `"caf\195\169"`, ""},
		{"TXT", `""`, `""`, ""},
		{"TXT", `"` + strings.Repeat("x", 255) + `"`, `"` + strings.Repeat("x", 255) + `"`, ""},
		{"TXT", `"` + strings.Repeat(`\255`, 256) + `"`, "", "at most 255"},
		{"TXT", `"` + strings.Repeat("x", 256) + `"`, "", "at most 255"},
		{"TXT", "bare", "", "double quotes"},
		{"TXT", `"open`, "", "not closed"},
		{"TXT", `"a"b`, "", "separated by spaces"},
		{"TXT", "  ", "", "no value"},
		{"A", "192.0.2.1 ; x", "", `';' outside quotes`},
		{"A", "( 192.0.2.1 )", "", `'(' outside quotes`},
		{"CNAME", "@", "", `'@' outside quotes`},
		{"A", "192.0.2.1\r", "", "control character"},
		{"TXT", "\"a\tb\"", "", "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.value, func(t *testing.T) {
			got, err := parseRecord("x.example.test.", tt.typ, 60, tt.value)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("got %+v, %v; want ErrInvalid saying %q", got, err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRecord: %v", err)
			}
			if got.Value != tt.want || got.Name != "x.example.test." || got.Type != tt.typ || got.TTL != 60 {
				t.Errorf("got %+v, want value %q", got, tt.want)
			}
			// Canonical values are fixed points: reading back what was set compares equal.
			again, err := parseRecord("x.example.test.", tt.typ, 60, got.Value)
			if err != nil || again != got {
				t.Errorf("reparse: got %+v, %v; want %+v", again, err, got)
			}
		})
	}
}

func TestSameRecords(t *testing.T) {
	a := records(t, "x.example.test. 60 A 192.0.2.1", "x.example.test. 60 A 192.0.2.2")
	tests := []struct {
		name string
		b    []string
		want bool
	}{
		{"same order", []string{"x.example.test. 60 A 192.0.2.1", "x.example.test. 60 A 192.0.2.2"}, true},
		{"other order", []string{"x.example.test. 60 A 192.0.2.2", "x.example.test. 60 A 192.0.2.1"}, true},
		{"other TTL", []string{"x.example.test. 61 A 192.0.2.1", "x.example.test. 61 A 192.0.2.2"}, false},
		{"one missing", []string{"x.example.test. 60 A 192.0.2.1"}, false},
		{"one more", []string{"x.example.test. 60 A 192.0.2.1", "x.example.test. 60 A 192.0.2.2", "x.example.test. 60 A 192.0.2.3"}, false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameRecords(a, records(t, tt.b...)); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
