package dns

import (
	"context"
	"fmt"
	"slices"

	cs "github.com/countersign/countersign"
	"github.com/miekg/dns"
)

// session is one TCP connection to the primary, over which the executor
// sends its queries and its update one after the other. Every message is
// signed, and every answer must be signed by the same key: reads are as
// authenticated as the update, so nobody on the path can forge the
// "current" records an approver sees.
type session struct {
	e      *Executor
	client *dns.Client
	conn   *dns.Conn
	stop   func() bool
}

// dial connects to the primary. The connection closes when ctx is done,
// which ends any exchange in progress.
func (e *Executor) dial(ctx context.Context) (*session, error) {
	c := &dns.Client{Net: "tcp", Timeout: e.opts.Timeout, TsigProvider: e.tsig}
	conn, err := c.DialContext(ctx, e.server)
	if err != nil {
		return nil, e.transportError(ctx, "connect", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	return &session{e: e, client: c, conn: conn, stop: stop}, nil
}

func (s *session) close() {
	s.stop()
	s.conn.Close()
}

// exchange signs m, sends it and returns the verified answer, or an error
// explaining an error answer, a bad signature or a timeout. With the
// error of an error answer it also returns the (unverified) answer, for
// its rcode.
func (s *session) exchange(ctx context.Context, what string, m *dns.Msg) (*dns.Msg, error) {
	e := s.e
	m.SetTsig(e.key, e.tsig.algorithm, fudge, e.opts.Now().Unix())
	// A fresh dns.Conn per message over the same TCP connection: a
	// dns.Conn remembers the last request's MAC and would sign the next
	// message as a continuation of it (as in a zone transfer).
	r, _, err := s.client.ExchangeWithConnContext(ctx, m, &dns.Conn{Conn: s.conn.Conn})
	// An error answer (a TSIG failure above all) is usually unsigned, so
	// its verification fails too: the answer explains more than that.
	if r != nil && r.Id == m.Id && (r.Rcode != dns.RcodeSuccess || (r.IsTsig() != nil && r.IsTsig().Error != 0)) {
		if r.Rcode == dns.RcodeNameError && err == nil && r.Opcode == dns.OpcodeQuery {
			return r, nil // NXDOMAIN: the name has no records
		}
		e.log.Info("dns error answer", "op", what, "rcode", rcodeName(r.Rcode), "key", e.key)
		return r, e.answerError(what, r)
	}
	if err != nil {
		e.log.Info("dns exchange failed", "op", what, "key", e.key, "err", err)
		return nil, e.transportError(ctx, what, err)
	}
	if r.IsTsig() == nil {
		return nil, fmt.Errorf("%s: %w: the answer from %s is not signed", what, ErrAuth, e.server)
	}
	e.log.Debug("dns exchange", "op", what, "rcode", rcodeName(r.Rcode), "key", e.key)
	return r, nil
}

// rrset reads the records of name and type, sorted by value. A missing
// name or RRset is an empty result, not an error. The answer must be
// authoritative, but for NS (and CNAME) at a delegation point.
func (s *session) rrset(ctx context.Context, name, typ string) ([]cs.Record, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.StringToType[typ])
	what := "query " + name + " " + typ
	r, err := s.exchange(ctx, what, m)
	if err != nil {
		return nil, err
	}
	if !r.Authoritative {
		if recs, ok := delegation(r, name, typ); ok {
			return recs, nil
		}
		return nil, fmt.Errorf("%s: %w: %s answered without authority: it is not the primary of %s, or %s is delegated to another zone", what, ErrNotAuthoritative, s.e.server, s.e.zone, name)
	}
	out := []cs.Record{}
	for _, rr := range r.Answer {
		h := rr.Header()
		if h.Class == dns.ClassINET && dns.CanonicalName(h.Name) == name && dns.TypeToString[h.Rrtype] == typ {
			out = append(out, toRecord(rr))
		}
	}
	sortRecords(out)
	return out, nil
}

// delegation reads a referral for name itself, which the primary sends
// instead of an authoritative answer when name is a delegation point in
// the zone (RFC 1034 4.3.2): its NS records are zone data, the ones the
// bot changes to delegate, and they are in the authority section. No
// CNAME can be beside them. For other types, or a referral from higher
// up (name is below a delegation, in another zone), ok is false.
func delegation(r *dns.Msg, name, typ string) (recs []cs.Record, ok bool) {
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || (typ != "NS" && typ != "CNAME") {
		return nil, false
	}
	ns := []cs.Record{}
	for _, rr := range r.Ns {
		h := rr.Header()
		if h.Class == dns.ClassINET && h.Rrtype == dns.TypeNS && dns.CanonicalName(h.Name) == name {
			ns = append(ns, toRecord(rr))
		}
	}
	switch {
	case len(ns) == 0:
		return nil, false
	case typ == "CNAME":
		return []cs.Record{}, true
	}
	sortRecords(ns)
	return ns, true
}

// serial reads the zone's SOA serial.
func (s *session) serial(ctx context.Context) (uint32, error) {
	m := new(dns.Msg)
	m.SetQuestion(s.e.zone, dns.TypeSOA)
	what := "query " + s.e.zone + " SOA"
	r, err := s.exchange(ctx, what, m)
	if err != nil {
		return 0, err
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok && r.Authoritative && dns.CanonicalName(soa.Hdr.Name) == s.e.zone {
			return soa.Serial, nil
		}
	}
	return 0, fmt.Errorf("%s: %w: %s has no SOA for %s; is it the zone's primary?", what, ErrNotAuthoritative, s.e.server, s.e.zone)
}

// others reads the records at name of the given types.
func (s *session) others(ctx context.Context, name string, types []string) ([]cs.Record, error) {
	var out []cs.Record
	for _, t := range types {
		recs, err := s.rrset(ctx, name, t)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

// conflictTypes returns the types queried to find data beside a CNAME:
// every type the bot changes but CNAME, and two others a zone may hold.
// DNSSEC records (RRSIG, NSEC) may sit beside one and are not listed.
func conflictTypes() []string {
	var out []string
	for _, t := range cs.DNSTypes() {
		if t != "CNAME" {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return append(out, "HINFO", "DNAME")
}

// cnameConflicts returns the records that forbid setting (or adding to)
// an RRset of typ at name: for a CNAME, data of any other type; for any
// other type, a CNAME.
func (s *session) cnameConflicts(ctx context.Context, name, typ string) ([]cs.Record, error) {
	return s.others(ctx, name, conflictsOf(typ))
}

// conflictsOf returns the types whose presence forbids an RRset of typ.
func conflictsOf(typ string) []string {
	if typ == "CNAME" {
		return conflictTypes()
	}
	return []string{"CNAME"}
}

func describeConflict(name, typ string, recs []cs.Record) string {
	if typ == "CNAME" {
		return fmt.Sprintf("%s already has other records (%s): a CNAME cannot be beside other data; delete them first", name, listRecords(recs, ""))
	}
	return fmt.Sprintf("%s is a CNAME (%s): no other record can be beside it; delete the CNAME first", name, listRecords(recs, ""))
}
