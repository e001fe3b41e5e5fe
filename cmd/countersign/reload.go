package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
	"github.com/countersign/countersign/bot/slack"
	"github.com/countersign/countersign/cmd/countersign/config"
	"github.com/countersign/countersign/policies"
)

// configText reads the bytes of the config file cfg was loaded from, and
// makes sure they are the bytes cfg was built from (the file may be
// replaced at any moment).
func configText(cfg *config.Config) ([]byte, error) {
	if cfg.Path == "" {
		return nil, nil // parsed from bytes (tests): nothing to reload from
	}
	data, err := os.ReadFile(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != cfg.Hash {
		return nil, fmt.Errorf("config %s changed while it was read: try again", cfg.Path)
	}
	return data, nil
}

// shownConfig is cfg as the audit trail records it: every secret
// redacted (cs.Secret marshals as "[redacted]"; the file or variable
// each came from is not in Config), the rest as loaded.
func shownConfig(cfg *config.Config) json.RawMessage {
	c := *cfg
	c.Warnings, c.Hash, c.Path = nil, "", ""
	b, err := json.Marshal(c)
	if err != nil { // plain data and cs.Secret: cannot happen, but say so
		return json.RawMessage(`{"error":"the config could not be shown"}`)
	}
	return b
}

// reloadable are the fields of config.Config a reload applies; any other
// that differs from the running config needs a restart.
var reloadable = map[string]bool{
	"Engines": true, "Hosts": true, "Services": true, "DNS": true, "Groups": true, "Identities": true,
	"Policies": true, "Windows": true, "Hash": true, "Path": true, "Warnings": true, "SecretsUnread": true, "Gates": true,
}

// configKeys are the config keys of config.Config's other fields, for
// "restart needed for: …"; a field not listed is named in lower case.
var configKeys = map[string]string{
	"PublicURL": "public_url", "DB": "db", "ShutdownGrace": "shutdown_grace", "OutboxGiveUp": "outbox_give_up",
	"GitHub": "github",
}

// restartNeeded names the sections of next that differ from running:
// the listen address, the database, Slack, GitHub, the web pages, the
// audit endpoints and channel, registries, …. The server's loader asks
// credentials.restartNeeded, which leaves out the secrets it swaps.
func restartNeeded(running, next *config.Config) []string {
	var keys []string
	rv, nv := reflect.ValueOf(*running), reflect.ValueOf(*next)
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Type().Field(i)
		if reloadable[f.Name] || reflect.DeepEqual(rv.Field(i).Interface(), nv.Field(i).Interface()) {
			continue
		}
		key, ok := configKeys[f.Name]
		if !ok {
			key = strings.ToLower(f.Name)
		}
		keys = append(keys, key)
	}
	return keys
}

// loader reads the config for reloads: bot.ConfigLoader. Engines, hosts,
// services and zones are built again from the new file; the connections
// of the old ones stay open until shutdown (an execution that started
// with them keeps them).
type loader struct {
	running *config.Config // what serve started with
	mode    execMode
	log     *slog.Logger
	// channels resolves the new config's channel names, and checks that
	// the bot is in them, as start-up does (with the new bot token, when
	// the config has one: credentials.checkSlack).
	channels func(ctx context.Context, cfg *config.Config) (slack.Identity, error)

	mu    sync.Mutex
	execs *executors // the server's: closed at shutdown
	// creds are the server's swappable secrets: each loaded config's
	// Rules.Swap puts its own in force (nil in tests without a server).
	creds *credentials
}

// LoadConfig implements bot.ConfigLoader: the file now (text nil), or
// text, checked as `config check --serve` checks, built into Rules.
func (l *loader) LoadConfig(ctx context.Context, text []byte) (bot.Rules, error) {
	opts := config.Options{CheckFiles: true}
	var cfg *config.Config
	var err error
	if text == nil {
		if cfg, err = loadConfig(ctx, opts, l.running.Path); err == nil {
			text, err = configText(cfg)
		}
	} else {
		opts.Dir = filepath.Dir(l.running.Path)
		if cfg, err = opts.Parse(text); err == nil {
			cfg.Path = l.running.Path
		}
	}
	if err == nil {
		err = cfg.CheckServe()
	}
	if err != nil {
		return bot.Rules{}, err
	}
	return l.rules(ctx, cfg, text)
}

func (l *loader) rules(ctx context.Context, cfg *config.Config, text []byte) (bot.Rules, error) {
	id, err := l.channels(ctx, cfg)
	if err != nil {
		return bot.Rules{}, err
	}
	if err := l.creds.checkGitHub(ctx, cfg, l.mode); err != nil {
		return bot.Rules{}, err
	}
	bc, x, err := botConfig(ctx, cfg, l.mode, l.log)
	if err != nil {
		return bot.Rules{}, err
	}
	l.mu.Lock()
	l.execs.closers = append(l.execs.closers, x.closers...)
	l.mu.Unlock()
	useChannelIDs(&bc, id)
	r := bot.Rules{Services: bc.Services, Zones: bc.Zones, Gates: bc.Gates, Policy: bc.Policy, Identities: bc.Identities,
		Hash: cfg.Hash, Path: cfg.Path, Text: text, Shown: shownConfig(cfg), Restart: restartNeeded(l.running, cfg)}
	if c := l.creds; c != nil {
		r.Restart = c.restartNeeded(l.running, cfg)
		r.Swap = func() { c.swap(cfg) }
		r.SecretsChanged = c.secretsChanged(cfg)
	}
	return r, nil
}

// watchHangup reloads the config on every SIGHUP until ctx ends. The
// outcome is logged: the signal has nobody to answer.
func (s *server) watchHangup(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				out, err := s.bot.ReloadFile(ctx, cs.ActorBot, nil)
				if err != nil {
					s.log.Warn("SIGHUP: config not reloaded", "err", err)
					continue
				}
				s.log.Info("SIGHUP: config reloaded", "outcome", string(bot.ReloadReply(out)))
			}
		}
	}()
}

// zoneRuns names what a zone's changes reach: a reload that changes it
// counts as looser for the zone's policies.
func zoneRuns(z config.Zone) string {
	return fmt.Sprintf("server %s, key %s, types %s", z.Server, z.TSIGKey, strings.Join(z.Types, " "))
}

// ParseConfig implements bot.ConfigLoader: text's rules for comparing
// only, read without files or secrets and with no executor.
func (l *loader) ParseConfig(text []byte) (bot.Rules, error) {
	cfg, err := config.Options{Dir: filepath.Dir(l.running.Path), NoSecrets: true}.Parse(text)
	if err != nil {
		return bot.Rules{}, err
	}
	engine, err := policies.New(policies.Set{Policies: cfg.Policies, Windows: cfg.Windows, Groups: cfg.Groups})
	if err != nil {
		return bot.Rules{}, err
	}
	r := bot.Rules{Policy: engine, Identities: map[string]cs.Actor{}, Hash: cfg.Hash, Path: l.running.Path}
	for login, user := range cfg.Identities.GitHub {
		r.Identities[strings.ToLower(login)] = cs.Actor(user)
	}
	for _, s := range cfg.Services {
		r.Services = append(r.Services, bot.Service{Name: s.Name, Kind: botKind(s.Kind), Repo: s.Repo, Branch: s.Branch,
			Channel: s.Channel, Image: s.Image, Runs: serviceRuns(s, cfg)})
	}
	for _, z := range cfg.DNS {
		r.Zones = append(r.Zones, bot.Zone{Name: z.FQDN(), Runs: zoneRuns(z)})
	}
	for _, g := range cfg.Gates {
		r.Gates = append(r.Gates, bot.Gate{Name: g.Name, Repo: g.Repo, Environment: g.Environment, Channel: g.Channel})
	}
	return r, nil
}

// serviceRuns names exactly what a service's deploys change: a reload
// that changes it counts as looser for the service's policies.
func serviceRuns(s config.Service, cfg *config.Config) string {
	switch s.Kind {
	case config.KindSwarm:
		e := cfg.Engines[s.Engine]
		return fmt.Sprintf("swarm service %s on engine %s (%s)", s.SwarmService, s.Engine, e.Host)
	case config.KindAlbatross:
		h := cfg.Hosts[s.Host]
		return fmt.Sprintf("unikernel %s on host %s (%s@%s)", s.Unikernel.Name, s.Host, h.User, h.Address)
	}
	return s.Kind
}
