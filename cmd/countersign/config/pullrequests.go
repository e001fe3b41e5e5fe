package config

// servicePullRequests decodes which pull requests of the service's
// repository get a deployability check.
func (d *decoder) servicePullRequests(o *object, s *Service) {
	s.PullRequests = o.bool("pull_requests")
	s.PullRequestsFromForks = o.bool("pull_requests_from_forks")
	s.PullRequestsChannel = o.str("pull_requests_channel")
	if s.PullRequests && s.Repo == "" {
		d.addAt(o.sub("pull_requests"), "only with repo (and build): pull requests are checked by building or waiting for their image")
	}
	for _, k := range []string{"pull_requests_from_forks", "pull_requests_channel"} {
		if o.has(k) && !s.PullRequests {
			d.addAt(o.sub(k), "only with pull_requests: true")
		}
	}
	if c := s.PullRequestsChannel; c != "" && !channelPattern.MatchString(c) {
		d.addAt(o.sub("pull_requests_channel"), "want a Slack channel ID (C…, G…, D…) or #name, got %s", quote(c))
	}
}
