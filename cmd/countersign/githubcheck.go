package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/cmd/countersign/config"
)

// githubNeeds is what the config needs of GitHub in mode, one Need per
// repository: in a real run every followed repository gets commit
// statuses and deployments, and a service with build: docker has its
// commits' tarballs fetched. A dry run and the demo report nothing and
// build nothing, so they need nothing.
func githubNeeds(cfg *config.Config, mode execMode) []github.Need {
	if mode != modeReal {
		return nil
	}
	var needs []github.Need
	index := map[string]int{}
	for _, s := range cfg.Services {
		if s.Repo == "" {
			continue
		}
		key := strings.ToLower(s.Repo) // GitHub ignores case
		i, ok := index[key]
		if !ok {
			i = len(needs)
			index[key] = i
			needs = append(needs, github.Need{Repo: s.Repo, Statuses: "commit statuses", Deployments: "deployments"})
		}
		if s.Build.Mode == config.BuildDocker {
			needs[i].Contents = "tarball for build: docker"
		} else if cfg.GitHub.Poll > 0 && s.Branch != "" && needs[i].Contents == "" {
			needs[i].Contents = "branch heads for github.poll"
		}
	}
	for _, g := range cfg.Gates {
		needs = append(needs, github.Need{Repo: g.Repo, Deployments: "answers to the deployment protection rule of gate " + g.Name})
	}
	return needs
}

// checkGitHub runs GitHub's start-up check: a missing permission stops
// start-up; what could not be checked (GitHub unreachable) is logged.
func checkGitHub(ctx context.Context, c *github.Client, needs []github.Need, log *slog.Logger) error {
	if c == nil || len(needs) == 0 {
		return nil
	}
	warnings, err := c.Check(ctx, needs)
	for _, w := range warnings {
		log.Warn("github permissions not checked; reports and builds may fail", "err", w)
	}
	return err
}
