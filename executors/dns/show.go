package dns

import (
	"context"
	"fmt"
	"slices"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/miekg/dns"
)

// Show returns the records of name on the zone's primary, queried
// directly over TCP (never a resolver, so never a cached answer), sorted
// by type and value, with their TTLs; no records is an empty result.
//
// With typ "" it shows every type the zone allows changing, plus CNAME
// (which decides what every other type resolves to). It asks for each
// type in turn rather than for ANY: answers to ANY may be minimal (RFC
// 8482) and are not what the bot manages. A type that cannot be changed
// may still be shown by naming it (NS, SOA, …).
func (e *Executor) Show(ctx context.Context, name, typ string) ([]cs.Record, error) {
	n, err := e.checkName(name)
	if err != nil {
		return nil, err
	}
	types := slices.Clone(e.types)
	if !slices.Contains(types, "CNAME") {
		types = append(types, "CNAME")
	}
	if typ != "" {
		t := strings.ToUpper(strings.TrimSpace(typ))
		code, ok := dns.StringToType[t]
		if !ok || code == dns.TypeANY || code == dns.TypeAXFR || code == dns.TypeIXFR || code == dns.TypeOPT || code == dns.TypeTSIG {
			return nil, fmt.Errorf("%w record type %q", ErrInvalid, typ)
		}
		types = []string{t}
	}
	s, err := e.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	out, err := s.others(ctx, n, types)
	if err != nil {
		return nil, err
	}
	sortRecords(out)
	return out, nil
}
