package config

import "github.com/countersign/countersign/cmd/countersign/config/strictyaml"

// crossCheck checks what one section says about another: services name
// engines and hosts that exist, and no two services share a name, a Swarm
// service or an Albatross VM.
func (d *decoder) crossCheck(c *Config) {
	names := map[string]string{}
	swarm := map[[2]string]string{}
	vms := map[[2]string]string{}
	for i, s := range c.Services {
		p := strictyaml.Item("services", i)
		if s.Name != "" {
			if first, dup := names[s.Name]; dup {
				d.AddAt(p+".name", "duplicate service %s (also %s)", strictyaml.Quote(s.Name), first)
			} else {
				names[s.Name] = p
			}
		}
		if s.Engine != "" {
			reference(d, p+".engine", "engine", s.Engine, c.Engines)
		}
		if s.Host != "" {
			reference(d, p+".host", "host", s.Host, c.Hosts)
		}
		if s.Build.Engine != "" {
			reference(d, p+".build.engine", "engine", s.Build.Engine, c.Engines)
		}
		if s.Kind == KindSwarm && s.Engine != "" && s.SwarmService != "" {
			k := [2]string{s.Engine, s.SwarmService}
			if first, dup := swarm[k]; dup {
				d.AddAt(p+".swarm_service", "Swarm service %s on engine %s is also deployed by %s", strictyaml.Quote(s.SwarmService), strictyaml.Quote(s.Engine), first)
			} else {
				swarm[k] = p
			}
		}
		if s.Kind == KindAlbatross && s.Host != "" && s.Unikernel.Name != "" {
			k := [2]string{s.Host, s.Unikernel.Name}
			if first, dup := vms[k]; dup {
				d.AddAt(p+".unikernel.name", "unikernel %s on host %s is also deployed by %s", strictyaml.Quote(s.Unikernel.Name), strictyaml.Quote(s.Host), first)
			} else {
				vms[k] = p
			}
		}
	}
}

// reference reports name if it is not a key of m.
func reference[T any](d *decoder, path, what, name string, m map[string]T) {
	if _, ok := m[name]; !ok {
		d.AddAt(path, "unknown %s %s", what, strictyaml.Quote(name))
	}
}
