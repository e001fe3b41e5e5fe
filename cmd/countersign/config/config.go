// Package config loads and validates the Countersign configuration file,
// whose reference is countersign.example.yaml at the top of the repository
// (it loads as it is). Loading is strict: unknown keys, wrong types, missing
// keys, bad names and dangling references are all reported at once, each
// as `PATH: message` with its line, in an *Errors. Policies and windows
// are checked as a whole by policies.New.
//
// Secrets are cs.Secret values: they print, log and marshal as
// "[redacted]", and no problem message ever contains one. Every secret key
// x may be given inline (x), from a file (x_file) or from the environment
// (x_env). Tokens (every secret but SSH keys, GitHub App keys and the
// web session key) must not contain whitespace, and Slack's must be of
// the right kind.
//
// A problem shows at most the first 60 characters of a value it quotes,
// and the value's length, so that a huge value does not come back whole.
package config

import (
	"strings"
	"time"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/policies"
)

// Defaults filled in by Load when the file leaves a key out.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultSlackCommand    = "/cs"
	DefaultSlackAPIURL     = "https://slack.com/api/"
	DefaultGitHubAPIURL    = "https://api.github.com/"
	DefaultAlbatrossClient = "albatross-client"
	DefaultHostDir         = "/var/lib/countersign/unikernels"
	DefaultDockerfile      = "Dockerfile"
	DefaultTag             = "{{.SHA}}"
	DefaultBuildTimeout    = time.Hour
	DefaultBinary          = "unikernel.hvt"
	DefaultKeep            = 5
	DefaultTSIGAlgorithm   = "hmac-sha256"
	DefaultShutdownGrace   = 5 * time.Minute
	DefaultOutboxGiveUp    = 24 * time.Hour
	DefaultGitHubPoll      = 5 * time.Minute
)

// Service kinds and build modes.
const (
	KindSwarm     = "swarm"
	KindAlbatross = "albatross"
	// KindBuild is a build-only service: no deploy target; its pushes and
	// pull requests are checked and their images built, never deployed.
	KindBuild = "build"

	BuildDocker = "docker" // build the commit with a Docker Engine and push
	BuildWait   = "wait"   // wait for an image built elsewhere
)

// Config is a loaded, validated configuration. Paths on this machine
// (db, *_file, known_hosts, TLS files) are resolved: relative ones against
// the config file's directory.
type Config struct {
	Listen    string // host:port of the HTTP server
	PublicURL string // "" when not set
	DB        string // bbolt file
	// ShutdownGrace is how long serve lets running executions finish on
	// SIGTERM (default 5 minutes); a Swarm stop_grace_period for the bot
	// must be longer.
	ShutdownGrace time.Duration
	// OutboxGiveUp is how long the outbox retries a Slack message or
	// GitHub report that keeps failing before it sets it aside (default
	// 24 hours).
	OutboxGiveUp time.Duration
	Audit        Audit
	Drift        Drift
	Web          Web
	Slack        Slack
	GitHub       GitHub
	Registries   []Registry
	Engines      map[string]Engine
	Hosts        map[string]Host
	Services     []Service
	DNS          []Zone
	// Groups maps a group name to its members: user IDs (U…, W…) and
	// Slack user groups ("usergroup:S…").
	Groups     map[string][]string
	Identities Identities
	Policies   []policies.Policy
	Windows    []policies.Window
	// Gates are GitHub environments whose deployments wait for the bot
	// (gates.go).
	Gates []Gate
	// Hash is the hex SHA-256 of the file's bytes (audited as config.loaded).
	Hash string
	// Path is the file loaded ("" from Parse).
	Path string
	// Warnings are what loads but deserves a look, in file order: secret
	// files (x_file, and key_file with Options.CheckFiles) that group or
	// others may read. They are only known when loading succeeds; nil
	// when there are none. `config check` prints them; serve may log them.
	Warnings []Problem
	// SecretsUnread: loaded with Options.NoSecrets; secrets given by
	// file or environment hold a placeholder.
	SecretsUnread bool
}

// Audit configures access to the audit trail over HTTP.
type Audit struct {
	// Token is the bearer token of GET /audit/export and GET /backup. It
	// is always a read token of the web pages too, named "audit".
	Token cs.Secret
	// Channel, if set, is where the bot posts the audit chain's anchor
	// (SEQ:HASH) once a day and on `/cs audit anchor`, so that a copy of
	// the chain's head is kept outside the database.
	Channel string
}

// Slack configures the Slack app. AppToken set means Socket Mode;
// otherwise Slack calls the HTTP endpoints, signed with SigningSecret.
type Slack struct {
	BotToken      cs.Secret
	AppToken      cs.Secret
	SigningSecret cs.Secret
	APIURL        string // ends in "/"
	Command       string // the slash command, e.g. "/cs"
}

// SocketMode reports whether Slack is reached over Socket Mode.
func (s Slack) SocketMode() bool { return !s.AppToken.IsZero() }

// GitHub configures webhook intake and the API. The API is reached with
// Token, or as a GitHub App (AppID, InstallationID, PrivateKey); with
// neither, commit statuses and deployments are not reported.
type GitHub struct {
	WebhookSecret  cs.Secret
	Token          cs.Secret
	AppID          int64
	InstallationID int64
	PrivateKey     cs.Secret // the App's PEM private key
	APIURL         string    // ends in "/"
	// Poll is how often the followed branches' heads are read, so that a
	// push whose webhook was lost is still taken (default
	// DefaultGitHubPoll); 0 turns the reads off.
	Poll time.Duration
}

// Reports reports whether GitHub credentials are configured.
func (g GitHub) Reports() bool { return !g.Token.IsZero() || g.AppID != 0 }

// Registry holds credentials for one container registry.
type Registry struct {
	Host     string // host[:port]
	Username string
	Password cs.Secret
}

// Engine is a Docker Engine.
type Engine struct {
	// Host is "unix:///path", "tcp://host:port" or "ssh://user@host[:port]".
	Host string
	// SSHKey and KnownHosts are for ssh:// hosts.
	SSHKey     cs.Secret
	KnownHosts string
	// CAFile, CertFile and KeyFile are TLS files for tcp:// hosts.
	CAFile   string
	CertFile string
	KeyFile  string
}

// Host is an Albatross host reached over SSH.
type Host struct {
	Address    string // host:port (port 22 when the file leaves it out)
	User       string
	SSHKey     cs.Secret
	KnownHosts string // local file; host keys are checked strictly
	// AlbatrossClient, Socket and Dir are paths on the host.
	AlbatrossClient string
	Socket          string // "" means albatross-client's default
	Dir             string // where uploaded unikernels are kept
}

// Service is one deployable thing.
type Service struct {
	Name    string
	Kind    string // KindSwarm, KindAlbatross or KindBuild
	Repo    string // "owner/name" (GitHub compares it ignoring case); "" when pushes are not tracked
	Branch  string // the branch whose pushes deploy
	Channel string // Slack channel ID (C…, G…, D…) or "#name"
	Image   string // repository, without tag or digest
	Build   Build  // zero when Repo is ""
	// PullRequests: the repository's pull requests get a deployability
	// check (countersign/deployability: NAME); PullRequestsFromForks
	// also those from forks; PullRequestsChannel, if set, gets each
	// check's result (checks post nowhere else).
	PullRequests          bool
	PullRequestsFromForks bool
	PullRequestsChannel   string
	// Swarm services.
	Engine       string // key of Config.Engines
	SwarmService string
	// Albatross services.
	Host      string // key of Config.Hosts
	Unikernel Unikernel
	// Verify, if set, is checked after each deploy.
	Verify *Verify
}

// Build says how an image for a commit is obtained.
type Build struct {
	Mode       string            // BuildDocker or BuildWait
	Engine     string            // BuildDocker: key of Config.Engines
	Dockerfile string            // BuildDocker: path in the repository
	Target     string            // BuildDocker: the Dockerfile stage to build ("" = the last)
	Args       map[string]string // BuildDocker: build arguments
	// Tag is a text/template over .SHA, .ShortSHA and .Branch: the tag
	// pushed (docker) or waited for (wait).
	Tag     string
	Timeout time.Duration
}

// Unikernel describes how a service runs under Albatross.
type Unikernel struct {
	Name          string // the Albatross VM name
	Binary        string // path of the unikernel in the image
	Memory        int    // MB; 0: albatross-client's default
	CPUs          int    // 0: albatross-client's default
	Net           []string
	Block         []string
	Args          []string
	RestartOnFail bool
	// Command, if set, replaces albatross-client create: a text/template
	// over .Name, .File and .SHA256 for hosts with a wrapper script (e.g.
	// "mirage-redeploy {{.Name}}").
	Command string
	Keep    int // images kept on the host for rollback
}

// Zone is a DNS zone the bot may change with RFC 2136 updates.
type Zone struct {
	Zone          string // lower case, without trailing dot
	Server        string // host:port (port 53 when the file leaves it out)
	TSIGKey       string // lower case, fully qualified with trailing dot
	TSIGAlgorithm string // "hmac-sha256" or "hmac-sha512"
	TSIGSecret    cs.Secret
	// Types are the record types the bot may change, upper case: some
	// of cs.DNSTypes(), by default cs.DefaultDNSTypes().
	Types []string
}

// FQDN returns the zone name fully qualified, with a trailing dot.
func (z Zone) FQDN() string { return z.Zone + "." }

// Identities maps other identities to Slack users.
type Identities struct {
	// GitHub maps a GitHub login, lower case, to a Slack user ID.
	GitHub map[string]string
}

// SlackUser returns the Slack user of a GitHub login (any case).
func (i Identities) SlackUser(login string) (string, bool) {
	u, ok := i.GitHub[strings.ToLower(login)]
	return u, ok
}

// Service returns the service called name.
func (c *Config) Service(name string) (Service, bool) {
	for _, s := range c.Services {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// ZoneFor returns the zone that holds dnsName: the longest zone equal to
// it or a parent of it. Names are compared lower-case, trailing dot ignored.
func (c *Config) ZoneFor(dnsName string) (Zone, bool) {
	name := strings.TrimSuffix(strings.ToLower(dnsName), ".")
	var best Zone
	found := false
	for _, z := range c.DNS {
		if name != z.Zone && !strings.HasSuffix(name, "."+z.Zone) {
			continue
		}
		if !found || len(z.Zone) > len(best.Zone) {
			best, found = z, true
		}
	}
	return best, found
}
