package main

import (
	"fmt"
	"log/slog"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/cmd/countersign/config"
	"github.com/countersign/countersign/executors/dryrun"
	"github.com/countersign/countersign/executors/registry"
	"github.com/countersign/countersign/policies"
)

// errNoRealExecutor is returned when a config needs an executor this
// version does not have: the bot refuses to start rather than pretend.
var errNoRealExecutor = fmt.Errorf("this version of countersign has only dry-run executors (the Swarm, Albatross and DNS executors are not built yet): run with --dry-run")

// botConfig turns the loaded config into the workflow's config, with
// executors for every service and zone.
func botConfig(cfg *config.Config, dryRun bool) (bot.Config, error) {
	engine, err := policies.New(policies.Set{Policies: cfg.Policies, Windows: cfg.Windows, Groups: cfg.Groups})
	if err != nil {
		return bot.Config{}, err
	}
	if !dryRun && (len(cfg.Services) > 0 || len(cfg.DNS) > 0) {
		return bot.Config{}, errNoRealExecutor
	}
	bc := bot.Config{
		Policy: engine, DryRun: dryRun, ConfigHash: cfg.Hash, ConfigPath: cfg.Path,
		Identities: map[string]cs.Actor{},
	}
	for login, user := range cfg.Identities.GitHub {
		bc.Identities[strings.ToLower(login)] = cs.Actor(user)
	}
	for _, s := range cfg.Services {
		bs := bot.Service{
			Name: s.Name, Kind: s.Kind, Repo: s.Repo, Branch: s.Branch, Channel: s.Channel, Image: s.Image,
			Build: bot.Build{Mode: s.Build.Mode, Timeout: s.Build.Timeout},
		}
		if tmpl := s.Build.Tag; tmpl != "" {
			bs.Build.Tag = func(sha, branch string) (string, error) {
				return registry.Tag(tmpl, registry.TagData{SHA: sha, Branch: branch})
			}
		}
		switch s.Kind {
		case config.KindSwarm:
			e := cfg.Engines[s.Engine]
			bs.Executor = &dryrun.Swarm{Service: s.SwarmService, Engine: s.Engine, EngineHost: e.Host}
		case config.KindAlbatross:
			h, u := cfg.Hosts[s.Host], s.Unikernel
			bs.Executor = &dryrun.Albatross{
				Unikernel: u.Name, Binary: u.Binary, Host: s.Host, Address: h.Address, User: h.User,
				Dir: strings.TrimSuffix(h.Dir, "/"), Client: h.AlbatrossClient, Socket: h.Socket,
				Memory: u.Memory, CPUs: u.CPUs, Net: u.Net, Block: u.Block, Args: u.Args, RestartOnFail: u.RestartOnFail,
			}
		default:
			return bot.Config{}, fmt.Errorf("service %s: unknown kind %q", s.Name, s.Kind)
		}
		bc.Services = append(bc.Services, bs)
	}
	for _, z := range cfg.DNS {
		bc.Zones = append(bc.Zones, bot.Zone{Name: z.FQDN(), Executor: &dryrun.DNS{
			Zone: z.Zone, Server: z.Server, Key: z.TSIGKey, Algorithm: z.TSIGAlgorithm,
		}})
	}
	return bc, nil
}

// resolver is the registry client for the configured registries.
func resolver(cfg *config.Config, log *slog.Logger) *registry.Resolver {
	r := &registry.Resolver{Logger: log}
	for _, c := range cfg.Registries {
		r.Credentials = append(r.Credentials, registry.Credential{Host: c.Host, Username: c.Username, Password: c.Password})
	}
	return r
}
