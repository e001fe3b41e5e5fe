package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/github"
	"github.com/countersign/countersign/cmd/countersign/config"
	"github.com/countersign/countersign/executors/albatross"
	"github.com/countersign/countersign/executors/build"
	dnsexec "github.com/countersign/countersign/executors/dns"
	"github.com/countersign/countersign/executors/dryrun"
	"github.com/countersign/countersign/executors/registry"
	"github.com/countersign/countersign/executors/swarm"
	"github.com/countersign/countersign/policies"
)

// execMode says what the executors may do.
type execMode int

const (
	// modeReal: the real executors change production.
	modeReal execMode = iota
	// modeDryRun (--dry-run): the real executors read what they can reach
	// and describe exactly what they would do, changing nothing.
	modeDryRun
	// modeSimulated (demo): the dryrun package's stand-ins, which touch
	// nothing outside the process, so the demo runs on a bare machine.
	modeSimulated
)

// executors holds what the executors opened, to close at shutdown, and
// the GitHub client (nil without credentials) that builds fetch commits
// with and serve reports statuses with.
type executors struct {
	closers []func() error
	github  *github.Client
}

// Close closes every engine connection; it reports the first error.
func (x *executors) Close() error {
	var errs []error
	for _, c := range x.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// botConfig turns the loaded config into the workflow's config, with an
// executor for every service and zone.
func botConfig(ctx context.Context, cfg *config.Config, mode execMode, log *slog.Logger) (bot.Config, *executors, error) {
	engine, err := policies.New(policies.Set{Policies: cfg.Policies, Windows: cfg.Windows, Groups: cfg.Groups})
	if err != nil {
		return bot.Config{}, nil, err
	}
	w := &wiring{ctx: ctx, cfg: cfg, mode: mode, log: log, x: &executors{},
		engines: map[string]*swarm.Client{}, creds: resolver(cfg, log).Credentials}
	bc, err := w.botConfig(engine)
	if err != nil {
		w.x.Close()
		return bot.Config{}, nil, err
	}
	return bc, w.x, nil
}

// wiring builds the workflow's config and its executors; what it opens is
// kept in x, which botConfig closes if a later step fails.
type wiring struct {
	ctx     context.Context
	cfg     *config.Config
	mode    execMode
	log     *slog.Logger
	x       *executors
	engines map[string]*swarm.Client // one connection per engine
	creds   []registry.Credential
}

func (w *wiring) dryRun() bool { return w.mode != modeReal }

func (w *wiring) botConfig(engine *policies.Engine) (bot.Config, error) {
	cfg := w.cfg
	bc := bot.Config{
		Policy: engine, DryRun: w.dryRun(), ConfigHash: cfg.Hash, ConfigPath: cfg.Path,
		Identities: map[string]cs.Actor{}, GiveUpAfter: cfg.OutboxGiveUp, DriftInterval: cfg.Drift.Interval,
		Prober: httpProber{},
	}
	for login, user := range cfg.Identities.GitHub {
		bc.Identities[strings.ToLower(login)] = cs.Actor(user)
	}
	if err := w.connectGitHub(); err != nil {
		return bot.Config{}, err
	}
	for _, g := range cfg.Gates {
		bc.Gates = append(bc.Gates, bot.Gate{Name: g.Name, Repo: g.Repo, Environment: g.Environment, Channel: g.Channel})
	}
	switch { // the cards' "what changed"
	case w.mode == modeSimulated:
		bc.Comparer = demoHistory()
	case w.x.github != nil:
		bc.Comparer = w.x.github
	}
	for _, s := range cfg.Services {
		bs, err := w.service(s)
		if err != nil {
			return bot.Config{}, err
		}
		bc.Services = append(bc.Services, bs)
	}
	for _, z := range cfg.DNS {
		bz, err := w.zone(z)
		if err != nil {
			return bot.Config{}, err
		}
		bc.Zones = append(bc.Zones, bz)
	}
	return bc, nil
}

// connectGitHub makes the GitHub client when the config has credentials
// to report with, and checks that gates have the App auth they need.
func (w *wiring) connectGitHub() error {
	gh := w.cfg.GitHub
	if gh.Reports() {
		c, err := github.NewClient(gitHubAuth(w.cfg), github.Options{APIURL: gh.APIURL, Logger: w.log})
		if err != nil {
			return fmt.Errorf("github: %w", err)
		}
		w.x.github = c
	}
	if len(w.cfg.Gates) > 0 && (w.x.github == nil || !w.x.github.App()) {
		return errors.New("gates need GitHub App auth (github.app_id, github.installation_id, github.private_key): GitHub takes the answers to deployment protection rules only from an App's installation")
	}
	return nil
}

// engineClient is the connection to the named engine, made on first use.
func (w *wiring) engineClient(name string) (*swarm.Client, error) {
	if c, ok := w.engines[name]; ok {
		return c, nil
	}
	e := w.cfg.Engines[name]
	c, err := swarm.Connect(w.ctx, swarm.Engine{Name: name, Host: e.Host, SSHKey: e.SSHKey, KnownHosts: e.KnownHosts,
		CAFile: e.CAFile, CertFile: e.CertFile, KeyFile: e.KeyFile}, swarm.Options{DryRun: w.dryRun(), Logger: w.log})
	if err != nil {
		return nil, fmt.Errorf("engine %s: %w", name, err)
	}
	w.engines[name] = c
	w.x.closers = append(w.x.closers, c.Close)
	return c, nil
}

// service is the workflow's service s, with its executor and builder.
func (w *wiring) service(s config.Service) (bot.Service, error) {
	bs := bot.Service{
		Name: s.Name, Kind: botKind(s.Kind), Repo: s.Repo, Branch: s.Branch, Channel: s.Channel, Image: s.Image,
		Build:  bot.Build{Mode: botBuildMode(s.Build.Mode), Timeout: s.Build.Timeout, Engine: s.Build.Engine},
		Checks: bot.Checks{PullRequests: s.PullRequests, Forks: s.PullRequestsFromForks, Channel: s.PullRequestsChannel},
	}
	if tmpl := s.Build.Tag; tmpl != "" {
		bs.Build.Tag = func(sha, branch string) (string, error) {
			return registry.Tag(tmpl, registry.TagData{SHA: sha, Branch: branch})
		}
	}
	if err := w.deployExecutor(s, &bs); err != nil {
		return bot.Service{}, err
	}
	if s.Kind == config.KindAlbatross {
		bs.Where, bs.Place = "host", fmt.Sprintf("%s (%s)", s.Host, w.cfg.Hosts[s.Host].Address)
	}
	if s.Build.Mode == config.BuildDocker {
		var err error
		if bs.Build.Builder, err = builder(s, w.cfg, w.mode, w.engineClient, w.x.github, w.creds, w.log); err != nil {
			return bot.Service{}, fmt.Errorf("service %s: %w", s.Name, err)
		}
	}
	bs.Verify = botVerify(s.Verify)
	bs.Runs = serviceRuns(s, w.cfg)
	return bs, nil
}

// deployExecutor sets the executor that deploys s (none for a build-only
// service) and, for Swarm, where it runs.
func (w *wiring) deployExecutor(s config.Service, bs *bot.Service) error {
	switch {
	case s.Kind == config.KindBuild:
		// Build-only: no executor, nothing is ever deployed.
	case s.Kind == config.KindSwarm && w.mode == modeSimulated:
		bs.Executor = &dryrun.Swarm{Service: s.SwarmService, Engine: s.Engine, EngineHost: w.cfg.Engines[s.Engine].Host}
	case s.Kind == config.KindSwarm:
		c, err := w.engineClient(s.Engine)
		if err != nil {
			return err
		}
		bs.Executor = c.Service(s.Name, s.SwarmService, s.Image)
		bs.Where, bs.Place = "engine", fmt.Sprintf("%s (%s)", s.Engine, w.cfg.Engines[s.Engine].Host)
	case s.Kind == config.KindAlbatross:
		ex, err := w.albatrossExecutor(s)
		if err != nil {
			return fmt.Errorf("service %s: %w", s.Name, err)
		}
		bs.Executor = ex
	default:
		return fmt.Errorf("service %s: unknown kind %q", s.Name, s.Kind)
	}
	return nil
}

// albatrossExecutor deploys s's unikernel to its host, or simulates it.
func (w *wiring) albatrossExecutor(s config.Service) (bot.Executor, error) {
	h, u := w.cfg.Hosts[s.Host], s.Unikernel
	if w.mode == modeSimulated {
		return &dryrun.Albatross{
			Unikernel: u.Name, Binary: u.Binary, Host: s.Host, Address: h.Address, User: h.User,
			Dir: strings.TrimSuffix(h.Dir, "/"), Client: h.AlbatrossClient, Socket: h.Socket,
			Memory: u.Memory, CPUs: u.CPUs, Net: u.Net, Block: u.Block, Args: u.Args, RestartOnFail: u.RestartOnFail,
		}, nil
	}
	return albatross.New(
		albatross.Host{Name: s.Host, Address: h.Address, User: h.User, Key: h.SSHKey, KnownHosts: h.KnownHosts,
			Client: h.AlbatrossClient, Socket: h.Socket, Dir: h.Dir},
		albatross.Unikernel{Name: u.Name, Binary: u.Binary, Memory: u.Memory, CPUs: u.CPUs, Net: u.Net, Block: u.Block,
			Args: u.Args, RestartOnFail: u.RestartOnFail, Keep: u.Keep, Command: u.Command},
		albatross.Options{DryRun: w.dryRun(), Logger: w.log, Images: &albatross.RegistryFetcher{Credentials: w.creds}})
}

// zone is the workflow's zone z, with its executor.
func (w *wiring) zone(z config.Zone) (bot.Zone, error) {
	var ex bot.Executor
	if w.mode == modeSimulated {
		ex = &dryrun.DNS{Zone: z.Zone, Server: z.Server, Key: z.TSIGKey, Algorithm: z.TSIGAlgorithm}
	} else {
		var err error
		ex, err = dnsexec.New(dnsexec.Zone{Name: z.Zone, Server: z.Server, Key: z.TSIGKey, Algorithm: z.TSIGAlgorithm,
			Secret: z.TSIGSecret, Types: z.Types}, dnsexec.Options{DryRun: w.dryRun(), Logger: w.log})
		if err != nil {
			return bot.Zone{}, fmt.Errorf("zone %s: %w", z.Zone, err)
		}
	}
	return bot.Zone{Name: z.FQDN(), Executor: ex, Runs: zoneRuns(z)}, nil
}

// resolver is the registry client for the configured registries.
func resolver(cfg *config.Config, log *slog.Logger) *registry.Resolver {
	r := &registry.Resolver{Logger: log}
	for _, c := range cfg.Registries {
		r.Credentials = append(r.Credentials, registry.Credential{Host: c.Host, Username: c.Username, Password: c.Password})
	}
	return r
}

// builder is the Docker builder of a service with build mode docker: the
// real one, which fetches commits from GitHub, or in dry-runs and the demo
// the stand-in that says what it would build.
func builder(s config.Service, cfg *config.Config, mode execMode, engine func(string) (*swarm.Client, error),
	gh *github.Client, creds []registry.Credential, log *slog.Logger) (bot.Builder, error) {
	b := s.Build
	if mode != modeReal {
		return &dryrun.Builder{Engine: b.Engine, EngineHost: cfg.Engines[b.Engine].Host, Dockerfile: b.Dockerfile, Target: b.Target, Image: s.Image}, nil
	}
	if gh == nil {
		return nil, fmt.Errorf("build mode docker fetches the commit from GitHub: give github.token or a GitHub App")
	}
	c, err := engine(b.Engine)
	if err != nil {
		return nil, err
	}
	return build.New(c.Docker(), gh, build.Config{Image: s.Image, Dockerfile: b.Dockerfile, Target: b.Target, Args: b.Args, Timeout: b.Timeout},
		build.Options{Credentials: creds, Logger: log}), nil
}
