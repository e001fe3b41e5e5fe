package dns

import (
	"context"
	"fmt"
	"slices"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/miekg/dns"
)

// Prepare makes a DNS change exact before policy and approvers see it: it
// reads the current RRset of the change's name and type from the primary
// and fills in DNS.Current and DNS.Proposed, in canonical form, sorted.
// Actions of other kinds are returned unchanged.
//
//   - set replaces the whole RRset with the one value. Its TTL is the one
//     given; without one, the TTL of the RRset being replaced (changing a
//     value does not silently change how long it is cached), or
//     Options.DefaultTTL for a new RRset. Setting exactly what is there
//     already is ErrNoChange.
//   - add adds the one value and keeps the records there. The RRset has
//     one TTL (RFC 2181 5.2), so the new record gets the RRset's; a TTL
//     given that differs from it is ErrInvalid. A new RRset gets the TTL
//     given, or Options.DefaultTTL. A value that is already there is
//     ErrNoChange ("already there"), and CNAME, which holds one record,
//     is ErrInvalid.
//   - delete with a value removes that record and keeps the others (with
//     their TTL); the value must be there (ErrNothingToDelete). Without a
//     value the whole RRset goes; an absent RRset is ErrNothingToDelete.
//
// NS records are read at a delegation point too (from the primary's
// referral), so delegations can be changed; the apex's NS records are
// changed by adding before deleting, and a change that would leave the
// apex without any is ErrInvalid.
//
// It refuses (ErrTypeNotAllowed) types the zone does not allow, listing
// those it does; names outside the zone (ErrOutsideZone); invalid values
// and TTLs (ErrInvalid); and a CNAME beside other data, either way round
// (ErrCNAMEConflict). With Options.DryRun, a primary that cannot be read
// is not an error: Current is left empty and Describe says so.
func (e *Executor) Prepare(ctx context.Context, a cs.Action) (cs.Action, error) {
	if a.Kind != cs.ActionDNS {
		return a, nil
	}
	c, want, err := e.checkRequest(a)
	if err != nil {
		return a, err
	}
	s, err := e.dial(ctx)
	var cur, conflicts []cs.Record
	if err == nil {
		defer s.close()
		cur, err = s.rrset(ctx, c.Name, c.Type)
		if err == nil && (c.Op == cs.DNSSet || c.Op == cs.DNSAdd) {
			conflicts, err = s.cnameConflicts(ctx, c.Name, c.Type)
		}
	}
	unread := err != nil
	if unread {
		if !e.opts.DryRun {
			return a, err
		}
		e.log.Warn("dns dry run: cannot read the current records", "name", c.Name, "type", c.Type, "err", err)
		cur, conflicts = []cs.Record{}, nil
	}
	if len(conflicts) > 0 {
		return a, fmt.Errorf("%w: %s", ErrCNAMEConflict, describeConflict(c.Name, c.Type, conflicts))
	}
	proposed, err := e.propose(c, want, cur, unread)
	if err == nil {
		err = e.checkApexNS(c, proposed, unread)
	}
	if err != nil {
		return a, err
	}
	c.Current, c.Proposed = cur, proposed
	a.DNS = &c
	return a, nil
}

// checkRequest checks the parts of a DNS action a person chose (name,
// type, value, TTL) and returns a copy of its change with the name and
// value in canonical form, and the value as a record (with TTL 0).
func (e *Executor) checkRequest(a cs.Action) (cs.DNSChange, cs.Record, error) {
	if a.DNS == nil {
		return cs.DNSChange{}, cs.Record{}, fmt.Errorf("%w: a dns action without the change", ErrInvalid)
	}
	c := *a.DNS
	c.Current, c.Proposed = nil, nil
	name, err := e.checkName(c.Name)
	if err != nil {
		return c, cs.Record{}, err
	}
	c.Name = name
	if c.Type, err = e.checkType(c.Type); err != nil {
		return c, cs.Record{}, err
	}
	if c.TTL != 0 {
		if err := checkTTL(c.TTL); err != nil {
			return c, cs.Record{}, err
		}
	}
	switch c.Op {
	case cs.DNSSet:
		if c.Type == "CNAME" && c.Name == e.zone {
			return c, cs.Record{}, fmt.Errorf("%w: %s is the zone's apex, which has SOA and NS records", ErrCNAMEConflict, c.Name)
		}
		if c.Value == "" {
			return c, cs.Record{}, fmt.Errorf("%w: dns set without a value", ErrInvalid)
		}
	case cs.DNSAdd:
		if c.Type == "CNAME" {
			return c, cs.Record{}, fmt.Errorf("%w: dns add of a CNAME: a name has at most one, so replace it with dns set", ErrInvalid)
		}
		if c.Value == "" {
			return c, cs.Record{}, fmt.Errorf("%w: dns add without a value", ErrInvalid)
		}
	case cs.DNSDelete:
		if c.TTL != 0 {
			return c, cs.Record{}, fmt.Errorf("%w: dns delete takes no TTL", ErrInvalid)
		}
		if c.Value == "" {
			return c, cs.Record{}, nil
		}
	default:
		return c, cs.Record{}, fmt.Errorf("%w dns operation %q: want set, add or delete", ErrInvalid, c.Op)
	}
	want, err := parseRecord(c.Name, c.Type, 0, c.Value)
	if err != nil {
		return c, cs.Record{}, err
	}
	c.Value = want.Value
	return c, want, nil
}

// propose computes the RRset after the change from the current one.
// unread says the current RRset could not be read (dry run only): then
// nothing is refused for what the primary holds.
func (e *Executor) propose(c cs.DNSChange, want cs.Record, cur []cs.Record, unread bool) ([]cs.Record, error) {
	what := c.Name + " " + c.Type
	switch {
	case c.Op == cs.DNSSet:
		want.TTL = c.TTL
		if want.TTL == 0 {
			want.TTL = e.opts.DefaultTTL
			if len(cur) > 0 {
				want.TTL = cur[0].TTL
			}
		}
		proposed := []cs.Record{want}
		if sameRecords(cur, proposed) {
			return nil, fmt.Errorf("%w: %s is already %s", ErrNoChange, what, listRecords(cur, ""))
		}
		return proposed, nil
	case c.Op == cs.DNSAdd:
		return e.proposeAdd(c, want, cur)
	case unread:
		return []cs.Record{}, nil
	case len(cur) == 0:
		return nil, fmt.Errorf("%w: %s has no records", ErrNothingToDelete, what)
	case c.Value == "":
		return []cs.Record{}, nil
	}
	i := slices.IndexFunc(cur, func(r cs.Record) bool { return r.Value == want.Value })
	if i < 0 {
		return nil, fmt.Errorf("%w: %s has no record %s (it has %s)", ErrNothingToDelete, what, want.Value, listRecords(cur, ""))
	}
	return slices.Delete(slices.Clone(cur), i, i+1), nil
}

// checkApexNS refuses a change that would leave the zone's apex without
// NS records, which the primary would silently not carry out.
func (e *Executor) checkApexNS(c cs.DNSChange, proposed []cs.Record, unread bool) error {
	if c.Type == "NS" && c.Name == e.zone && len(proposed) == 0 && !unread {
		return fmt.Errorf("%w: %s", ErrInvalid, apexNS(e.zone))
	}
	return nil
}

// proposeAdd is propose for add: cur and the new record, with the TTL of
// cur (or the one given, or the default, for a new RRset).
func (e *Executor) proposeAdd(c cs.DNSChange, want cs.Record, cur []cs.Record) ([]cs.Record, error) {
	what := c.Name + " " + c.Type
	if slices.ContainsFunc(cur, func(r cs.Record) bool { return r.Value == want.Value }) {
		return nil, fmt.Errorf("%w: %s %s is already there (%s)", ErrNoChange, what, want.Value, listRecords(cur, ""))
	}
	want.TTL = c.TTL
	switch {
	case len(cur) > 0 && c.TTL != 0 && c.TTL != cur[0].TTL:
		return nil, fmt.Errorf("%w TTL %d for %s: its records have TTL %d, and all records of a set share one TTL (RFC 2181 5.2); leave the TTL out, or give %d",
			ErrInvalid, c.TTL, what, cur[0].TTL, cur[0].TTL)
	case len(cur) > 0:
		want.TTL = cur[0].TTL
	case want.TTL == 0:
		want.TTL = e.opts.DefaultTTL
	}
	proposed := append(slices.Clone(cur), want)
	sortRecords(proposed)
	return proposed, nil
}

// checkName returns name fully qualified in lower case, or an error if it
// is not a valid name in the zone.
func (e *Executor) checkName(name string) (string, error) {
	n := dns.CanonicalName(strings.TrimSpace(name))
	if name == "" || !validName(n) {
		return "", fmt.Errorf("%w DNS name %q", ErrInvalid, name)
	}
	if !e.inZone(n) {
		return "", fmt.Errorf("%s: %w %s", n, ErrOutsideZone, strings.TrimSuffix(e.zone, "."))
	}
	return n, nil
}

// checkType returns typ in upper case if the zone allows changing it.
func (e *Executor) checkType(typ string) (string, error) {
	t := strings.ToUpper(strings.TrimSpace(typ))
	if !slices.Contains(e.types, t) {
		return "", fmt.Errorf("%w: %q records cannot be changed in zone %s (allowed: %s)",
			ErrTypeNotAllowed, typ, strings.TrimSuffix(e.zone, "."), strings.Join(e.types, ", "))
	}
	return t, nil
}
