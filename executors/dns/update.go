package dns

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/miekg/dns"
)

// update is the RFC 2136 UPDATE that carries out a prepared change.
type update struct {
	name, typ string
	current   []cs.Record // the RRset the approver saw: a prerequisite
	proposed  []cs.Record // the RRset afterwards
	// absent are types that must have no RRset at name for the result to
	// be legal (a CNAME cannot be beside other data): prerequisites too.
	absent []string
	// removeRRset says the UPDATE deletes the RRset first (set and
	// delete rewrite it; add leaves the records there alone); add are
	// the records it then adds (proposed, or for add the new one), and
	// remove the records it then deletes one by one (apex NS only).
	removeRRset bool
	add, remove []cs.Record
}

// checkChange checks a request's prepared change before Execute or
// Describe uses it: a stored request is data, so every record in it must
// be a valid record of the change's name and type, in this zone, of a
// type the zone allows.
func (e *Executor) checkChange(req cs.Request) (update, error) {
	a := req.Action
	if a.Kind != cs.ActionDNS {
		return update{}, fmt.Errorf("%w: the dns executor cannot %s", ErrInvalid, a.Kind)
	}
	c, want, err := e.checkRequest(a)
	if err != nil {
		return update{}, err
	}
	u := update{name: c.Name, typ: c.Type}
	if err := u.readPrepared(a.DNS.Current, a.DNS.Proposed); err != nil {
		return update{}, err
	}
	switch {
	case c.Op == cs.DNSSet && len(u.proposed) == 0:
		return update{}, fmt.Errorf("%w: dns set of %s %s was not prepared (no proposed records)", ErrInvalid, u.name, u.typ)
	case c.Op == cs.DNSSet, c.Op == cs.DNSAdd:
		u.absent = conflictsOf(u.typ)
	case c.Op == cs.DNSDelete && len(u.current) == 0 && !e.dryRun(req):
		// (A dry run may have found the primary unreadable when preparing.)
		return update{}, fmt.Errorf("%w: %s %s had no records when the request was made", ErrNothingToDelete, u.name, u.typ)
	}
	sortRecords(u.current)
	sortRecords(u.proposed)
	switch {
	case c.Op != cs.DNSAdd && u.typ == "NS" && u.name == e.zone:
		// A primary ignores deleting the apex's NS RRset or its last NS
		// record (RFC 2136 3.4.2.3, 3.4.2.4).
		if err := u.replaceApexNS(); err != nil {
			return update{}, err
		}
		return u, nil
	case c.Op != cs.DNSAdd:
		u.removeRRset, u.add = len(u.current) > 0, u.proposed
		return u, nil
	}
	added, err := addedRecord(u.current, u.proposed, want)
	if err != nil {
		return update{}, fmt.Errorf("%w: dns add of %s %s %s was not prepared: %v", ErrInvalid, u.name, u.typ, want.Value, err)
	}
	u.add = []cs.Record{added}
	return u, nil
}

// readPrepared parses the records the request was prepared with into
// u.current and u.proposed, refusing any that is not of u's name and
// type, not canonical, or whose TTL could not be set.
func (u *update) readPrepared(current, proposed []cs.Record) error {
	for _, set := range []struct {
		recs []cs.Record
		dst  *[]cs.Record
	}{{current, &u.current}, {proposed, &u.proposed}} {
		for _, r := range set.recs {
			got, err := parseRecord(u.name, u.typ, r.TTL, r.Value)
			if err != nil {
				return fmt.Errorf("prepared record %s: %w", formatRecord(r), err)
			}
			if dns.CanonicalName(r.Name) != u.name || strings.ToUpper(r.Type) != u.typ || got.Value != r.Value {
				return fmt.Errorf("%w: prepared record %s does not belong to %s %s or is not canonical", ErrInvalid, formatRecord(r), u.name, u.typ)
			}
			*set.dst = append(*set.dst, got)
		}
	}
	for _, r := range u.proposed {
		if err := checkTTL(r.TTL); err != nil {
			return fmt.Errorf("prepared record %s: %w", formatRecord(r), err)
		}
	}
	return nil
}

// replaceApexNS changes the apex's NS records without ever deleting the
// last one, which a primary ignores: add the new records first, then
// delete the old ones one by one.
func (u *update) replaceApexNS() error {
	if len(u.proposed) == 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, apexNS(u.name))
	}
	for _, p := range u.proposed {
		if !slices.Contains(u.current, p) { // new, or a new TTL
			u.add = append(u.add, p)
		}
	}
	for _, r := range u.current {
		if !slices.ContainsFunc(u.proposed, func(p cs.Record) bool { return p.Value == r.Value }) {
			u.remove = append(u.remove, r)
		}
	}
	return nil
}

// addedRecord checks that proposed is current and one more record, of
// value want.Value and with current's TTL, as Prepare makes it for add,
// and returns that record.
func addedRecord(current, proposed []cs.Record, want cs.Record) (cs.Record, error) {
	if len(proposed) != len(current)+1 {
		return cs.Record{}, fmt.Errorf("%d proposed records for %d current ones", len(proposed), len(current))
	}
	if slices.ContainsFunc(current, func(r cs.Record) bool { return r.Value == want.Value }) {
		return cs.Record{}, errors.New("the value was already there")
	}
	i := slices.IndexFunc(proposed, func(r cs.Record) bool { return r.Value == want.Value })
	if i < 0 {
		return cs.Record{}, errors.New("the value is not among the proposed records")
	}
	added := proposed[i]
	if rest := slices.Delete(slices.Clone(proposed), i, i+1); !slices.Equal(rest, current) {
		return cs.Record{}, errors.New("the proposed records are not the current ones and the new one")
	}
	if len(current) > 0 && added.TTL != current[0].TTL {
		return cs.Record{}, fmt.Errorf("TTL %d for a record set with TTL %d", added.TTL, current[0].TTL)
	}
	return added, nil
}

// message builds the UPDATE: prerequisites that the RRset is exactly
// current (RFC 2136 2.4.2, value dependent: every record there and no
// other) or does not exist (2.4.3), that no conflicting RRset exists,
// then, for set and delete, the deletion of the RRset and the addition
// of the proposed one, or, for add, the addition of the one new record
// (and for the apex's NS records: additions, then single deletions).
// The primary applies all of it or nothing.
func (e *Executor) message(u update) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetUpdate(e.zone)
	t := dns.StringToType[u.typ]
	cur, err := rrs(u.current)
	if err != nil {
		return nil, err
	}
	if len(cur) == 0 {
		m.RRsetNotUsed([]dns.RR{anyRR(u.name, t)})
	} else {
		m.Used(cur)
	}
	for _, a := range u.absent {
		if a != u.typ {
			m.RRsetNotUsed([]dns.RR{anyRR(u.name, dns.StringToType[a])})
		}
	}
	if u.removeRRset {
		m.RemoveRRset([]dns.RR{anyRR(u.name, t)})
	}
	add, err := rrs(u.add)
	if err != nil {
		return nil, err
	}
	if len(add) > 0 {
		m.Insert(add)
	}
	remove, err := rrs(u.remove)
	if err != nil {
		return nil, err
	}
	if len(remove) > 0 {
		m.Remove(remove)
	}
	return m, nil
}

// apexNS says why the zone's apex cannot lose all its NS records.
func apexNS(zone string) string {
	return zone + " is the zone's apex, which must keep at least one NS record"
}

func anyRR(name string, t uint16) dns.RR {
	return &dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassANY}}
}

// rrs converts records to fresh RRs (message builders modify them).
func rrs(recs []cs.Record) ([]dns.RR, error) {
	out := make([]dns.RR, 0, len(recs))
	for _, r := range recs {
		rr, err := parseRR(r.Name, r.Type, r.TTL, r.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, rr)
	}
	return out, nil
}

// describe says exactly what the UPDATE holds, one line per part, and
// what Execute does around it. It names the key, never its secret.
func (e *Executor) describe(u update) []string {
	what := u.name + " " + u.typ
	return append(e.describeUpdate(u),
		"Current: "+listRecords(u.current, "no "+what+" records"),
		"Proposed: "+listRecords(u.proposed, "no "+what+" records"),
		fmt.Sprintf("Before sending: read %s and the SOA serial; stop if the records (or their TTL) differ from Current. After: query the primary to check %s is exactly Proposed, and report the SOA serial before and after.", what, what),
	)
}

// describeUpdate says what the UPDATE message holds.
func (e *Executor) describeUpdate(u update) []string {
	what := u.name + " " + u.typ
	lines := []string{fmt.Sprintf("UPDATE for zone %s to the primary %s over TCP, signed with TSIG key %s (%s), applied all or nothing:",
		e.zone, e.server, e.key, e.algorithm)}
	if len(u.current) == 0 {
		lines = append(lines, fmt.Sprintf("  prerequisite: %s has no records (RRset does not exist)", what))
	} else {
		lines = append(lines, fmt.Sprintf("  prerequisite: %s is exactly {%s} (RRset exists, value dependent)", what, values(u.current)))
	}
	var absent []string
	for _, a := range u.absent {
		if a != u.typ {
			absent = append(absent, a)
		}
	}
	if len(absent) > 0 {
		lines = append(lines, fmt.Sprintf("  prerequisite: %s has no %s records (a CNAME cannot be beside other data)", u.name, strings.Join(absent, ", ")))
	}
	if u.removeRRset {
		lines = append(lines, fmt.Sprintf("  delete: the whole %s RRset", what))
	}
	for _, r := range u.add {
		lines = append(lines, "  add: "+formatRecord(r))
	}
	for _, r := range u.remove {
		lines = append(lines, "  delete: "+formatRecord(r))
	}
	return lines
}

// values lists the values of records, for a prerequisite (which ignores TTLs).
func values(recs []cs.Record) string {
	v := make([]string, len(recs))
	for i, r := range recs {
		v[i] = r.Value
	}
	return strings.Join(slices.Compact(v), ", ")
}
