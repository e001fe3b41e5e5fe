package bindtest

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Update sends an RFC 2136 UPDATE for the zone, signed with Key, that
// deletes the RRsets named in del ("name TYPE") and adds the records in add
// (zone-file lines with absolute names); it fails the test unless the
// primary answers NOERROR. Tests use it to play "someone else" changing
// the zone, independently of the code under test.
func (s *Server) Update(t testing.TB, del, add []string) {
	t.Helper()
	m := new(dns.Msg)
	m.SetUpdate(Zone + ".")
	for _, d := range del {
		name, typ, _ := strings.Cut(d, " ")
		m.RemoveRRset([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: dns.StringToType[typ], Class: dns.ClassANY}}})
	}
	for _, a := range add {
		rr, err := dns.NewRR(a)
		if err != nil {
			t.Fatalf("bindtest: update: %v", err)
		}
		m.Insert([]dns.RR{rr})
	}
	m.SetTsig(s.Key, dns.CanonicalName(s.Algorithm), 300, time.Now().Unix())
	c := dns.Client{Net: "tcp", Timeout: 5 * time.Second, TsigSecret: map[string]string{s.Key: s.Secret.Reveal()}}
	r, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		t.Fatalf("bindtest: update: %v", err)
	}
	if r.Rcode != dns.RcodeSuccess {
		t.Fatalf("bindtest: update: %s", dns.RcodeToString[r.Rcode])
	}
}

// Query returns the records of name and type on the primary, as
// "name TTL TYPE value" lines (tabs as in miekg/dns), unsigned, over TCP.
func (s *Server) Query(t testing.TB, name, typ string) []string {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.CanonicalName(name), dns.StringToType[typ])
	c := dns.Client{Net: "tcp", Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		t.Fatalf("bindtest: query %s %s: %v", name, typ, err)
	}
	var out []string
	for _, rr := range r.Answer {
		h := rr.Header()
		if strings.EqualFold(h.Name, dns.CanonicalName(name)) && dns.TypeToString[h.Rrtype] == typ {
			out = append(out, strings.Replace(rr.String(), "\tIN\t", "\t", 1))
		}
	}
	return out
}

// Serial returns the zone's SOA serial on the primary.
func (s *Server) Serial(t testing.TB) uint32 {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(Zone+".", dns.TypeSOA)
	c := dns.Client{Net: "tcp", Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		t.Fatalf("bindtest: query SOA: %v", err)
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial
		}
	}
	t.Fatalf("bindtest: no SOA in answer: %v", r)
	return 0
}
