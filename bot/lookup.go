package bot

import (
	"fmt"
	"sort"
	"strings"

	cs "github.com/countersign/countersign"
)

// The lookups read one snapshot of the rules in force: a reload between
// finding a name and listing the known ones cannot mix two configs.

// service returns the service named name.
func (b *Bot) service(name string) (Service, bool) { return b.rules().service(name) }

// lookupService returns the service named name, or an error wrapping
// cs.ErrUnknownService that lists the services there are.
func (b *Bot) lookupService(name string) (Service, error) {
	r := b.rules()
	if s, ok := r.service(name); ok {
		return s, nil
	}
	return Service{}, r.unknownService(name)
}

// zoneFor returns the longest configured zone that contains name.
func (b *Bot) zoneFor(name string) (Zone, bool) { return b.rules().zoneFor(name) }

// lookupZone returns the longest configured zone that contains name, or
// an error wrapping cs.ErrNotFound that lists the zones there are.
func (b *Bot) lookupZone(name string) (Zone, error) {
	r := b.rules()
	if z, ok := r.zoneFor(name); ok {
		return z, nil
	}
	return Zone{}, unknownZone{name: strings.TrimSuffix(name, "."), zones: r.zoneNames()}
}

// unknownZone is the error of a DNS name in no configured zone: a
// cs.ErrNotFound whose message is the name and the zones there are.
type unknownZone struct{ name, zones string }

func (e unknownZone) Error() string {
	return fmt.Sprintf("%s is not in any configured zone (zones: %s)", e.name, e.zones)
}

func (e unknownZone) Unwrap() error { return cs.ErrNotFound }

// gate returns the deployment gate named name.
func (b *Bot) gate(name string) (Gate, bool) {
	for _, g := range b.rules().Gates {
		if g.Name == name {
			return g, true
		}
	}
	return Gate{}, false
}

func (r *Rules) service(name string) (Service, bool) {
	for _, s := range r.Services {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// unknownService is the error of a service name r does not know.
func (r *Rules) unknownService(name string) error {
	names := make([]string, 0, len(r.Services))
	for _, s := range r.Services {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	return fmt.Errorf("%w %q (services: %s)", cs.ErrUnknownService, name, strings.Join(names, ", "))
}

func (r *Rules) zoneFor(name string) (Zone, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, ".")) + "."
	var best Zone
	for _, z := range r.Zones {
		zn := strings.ToLower(strings.TrimSuffix(z.Name, ".")) + "."
		if (name == zn || strings.HasSuffix(name, "."+zn)) && len(zn) > len(best.Name) {
			best = z
			best.Name = zn
		}
	}
	return best, best.Name != ""
}

func (r *Rules) zoneNames() string {
	names := make([]string, 0, len(r.Zones))
	for _, z := range r.Zones {
		names = append(names, strings.TrimSuffix(z.Name, "."))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// executorFor returns the executor of a request's target.
func (b *Bot) executorFor(a cs.Action) (Executor, error) {
	if a.Kind == cs.ActionDNS {
		z, err := b.lookupZone(a.Target)
		if err != nil {
			return nil, err
		}
		if z.Executor == nil {
			return nil, fmt.Errorf("%w: no executor for zone %s", cs.ErrNotFound, z.Name)
		}
		return z.Executor, nil
	}
	s, err := b.lookupService(a.Target)
	if err != nil {
		return nil, err
	}
	if s.Executor == nil {
		return nil, fmt.Errorf("no executor for service %s", s.Name)
	}
	return s.Executor, nil
}
