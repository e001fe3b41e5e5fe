package config

import "github.com/countersign/countersign/cmd/countersign/config/strictyaml"

// servicePullRequests decodes which pull requests of the service's
// repository get a deployability check.
func (d *decoder) servicePullRequests(o *object, s *Service) {
	s.PullRequests = o.Bool("pull_requests")
	s.PullRequestsFromForks = o.Bool("pull_requests_from_forks")
	s.PullRequestsChannel = o.Str("pull_requests_channel")
	if s.PullRequests && s.Repo == "" {
		d.AddAt(o.Sub("pull_requests"), "only with repo (and build): pull requests are checked by building or waiting for their image")
	}
	for _, k := range []string{"pull_requests_from_forks", "pull_requests_channel"} {
		if o.Has(k) && !s.PullRequests {
			d.AddAt(o.Sub(k), "only with pull_requests: true")
		}
	}
	if c := s.PullRequestsChannel; c != "" && !channelPattern.MatchString(c) {
		d.AddAt(o.Sub("pull_requests_channel"), "want a Slack channel ID (C…, G…, D…) or #name, got %s", strictyaml.Quote(c))
	}
}
