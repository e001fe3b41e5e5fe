package dns

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/countersign/countersign/executors/dns/bindtest"
)

func TestExecutor_Show(t *testing.T) {
	h := start(t, bindtest.Options{Records: append(slices.Clone(seed),
		`multi 600 IN TXT "spf"`, "srv 60 IN SRV 0 5 443 www", "mx 60 IN MX 10 mail", "mx 60 IN MX 20 www")}, nil)
	tests := []struct {
		name, qname, typ string
		want             []string
	}{
		{"one type", "multi.example.test.", "A", []string{
			"multi.example.test. 600 A 192.0.2.10", "multi.example.test. 600 A 192.0.2.11", "multi.example.test. 600 A 192.0.2.12"}},
		{"one type in lower case", "multi.example.test.", "txt", []string{`multi.example.test. 600 TXT "spf"`}},
		{"all types", "multi.example.test.", "", []string{
			"multi.example.test. 600 A 192.0.2.10", "multi.example.test. 600 A 192.0.2.11", "multi.example.test. 600 A 192.0.2.12",
			`multi.example.test. 600 TXT "spf"`}},
		{"all types of two", "both.example.test.", "", []string{"both.example.test. 300 A 192.0.2.30", `both.example.test. 300 TXT "x"`}},
		{"a CNAME", "alias.example.test.", "", []string{"alias.example.test. 300 CNAME www.example.test."}},
		{"asking for A at a CNAME shows no A", "alias.example.test.", "A", nil},
		{"MX", "mx.example.test.", "MX", []string{"mx.example.test. 60 MX 10 mail.example.test.", "mx.example.test. 60 MX 20 www.example.test."}},
		{"SRV", "srv.example.test.", "", []string{"srv.example.test. 60 SRV 0 5 443 www.example.test."}},
		{"name in mixed case, no trailing dot", "MULTI.Example.TEST", "TXT", []string{`multi.example.test. 600 TXT "spf"`}},
		{"a type that cannot be changed, by name", "example.test.", "NS", []string{"example.test. 3600 NS ns1.example.test."}},
		{"all types leaves out what cannot be changed", "example.test.", "", nil},
		{"no such name", "nothing.example.test.", "", nil},
		{"no such type", "www.example.test.", "AAAA", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.e.Show(context.Background(), tt.qname, tt.typ)
			if err != nil {
				t.Fatalf("Show: %v", err)
			}
			if want := records(t, tt.want...); !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestExecutor_Show_refuses(t *testing.T) {
	h := start(t, bindtest.Options{}, nil)
	tests := []struct {
		name, qname, typ string
		want             error
	}{
		{"name outside the zone", "www.example.org.", "", ErrOutsideZone},
		{"the parent of the zone", "test.", "", ErrOutsideZone},
		{"unknown type", "www.example.test.", "FOO", ErrInvalid},
		{"ANY", "www.example.test.", "ANY", ErrInvalid},
		{"AXFR", "example.test.", "AXFR", ErrInvalid},
		{"bad name", "www..example.test.", "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.e.Show(context.Background(), tt.qname, tt.typ)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, %v; want error %v", got, err, tt.want)
			}
		})
	}
}
