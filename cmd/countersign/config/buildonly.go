package config

// buildOnly checks a build-only service (kind build): it has a repository
// and a build, and nothing that names a deploy target.
func (d *decoder) buildOnly(o *object, s *Service) {
	if s.Repo == "" {
		d.Add(o.line, o.Sub("repo"), "required with kind build (its pushes and pull requests are what it builds)")
	}
	for _, k := range []string{"engine", "swarm_service", "host", "unikernel", "verify"} {
		if o.Has(k) {
			d.AddAt(o.Sub(k), "not for kind build: a build-only service is never deployed")
		}
	}
}
