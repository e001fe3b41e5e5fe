package config

import (
	"maps"
	"slices"
	"strings"

	cs "github.com/countersign/countersign"
)

// keyType is what a config key's value is.
type keyType int

const (
	tString    keyType = iota
	tNumberish         // a string, or a bare number such as 0 (drift.interval, github.poll)
	tInt
	tBool
	tList   // of Elem
	tObject // with the keys Props
	tMap    // from names the file chooses to Elem
	tSecret // given as x, x_file or x_env, exactly one of them
)

// keySpec declares one config key: the table countersign.schema.json is
// generated from. The decoder's code is what accepts a key; the schema
// tests check that the two agree on the example configs and on a set of
// wrong ones, so that a key added to one and not the other fails there.
type keySpec struct {
	Name     string
	Type     keyType
	Desc     string
	Enum     []string  // allowed values (tString, or the items of a tList of strings)
	Required bool      // the decoder says "required" when it is left out
	Props    []keySpec // tObject
	Elem     *keySpec  // tList and tMap
	// Together maps a key of a tObject to the keys that must come with it.
	Together map[string][]string
	// Cases are a tObject's keys required or refused by another's value.
	Cases []keyCase
}

// keyCase: when Key is Value, the keys Require are required and the keys
// Forbid refused.
type keyCase struct {
	Key, Value      string
	Require, Forbid []string
}

func kStr(name, desc string) keySpec    { return keySpec{Name: name, Type: tString, Desc: desc} }
func kInt(name, desc string) keySpec    { return keySpec{Name: name, Type: tInt, Desc: desc} }
func kBool(name, desc string) keySpec   { return keySpec{Name: name, Type: tBool, Desc: desc} }
func kSecret(name, desc string) keySpec { return keySpec{Name: name, Type: tSecret, Desc: desc} }
func kObj(name, desc string, props ...keySpec) keySpec {
	return keySpec{Name: name, Type: tObject, Desc: desc, Props: props}
}
func kList(name, desc string, elem keySpec) keySpec {
	return keySpec{Name: name, Type: tList, Desc: desc, Elem: &elem}
}
func kMap(name, desc string, elem keySpec) keySpec {
	return keySpec{Name: name, Type: tMap, Desc: desc, Elem: &elem}
}
func kStrList(name, desc string) keySpec { return kList(name, desc, keySpec{Type: tString}) }
func kEnum(k keySpec, values ...string) keySpec {
	k.Enum = values
	return k
}
func kCases(k keySpec, cases ...keyCase) keySpec {
	k.Cases = cases
	return k
}
func kTogether(k keySpec, together map[string][]string) keySpec {
	k.Together = together
	return k
}
func kRequired(k keySpec) keySpec {
	k.Required = true
	return k
}

// configKeys is every key of the config file, by section, in the order
// the schema lists them.
func configKeys() keySpec {
	return kObj("", "Countersign configuration", slices.Concat(
		serverKeys(),
		chatAndForgeKeys(),
		engineAndHostKeys(),
		[]keySpec{serviceKeys(), dnsKeys()},
		approvalKeys(),
	)...)
}

// serverKeys are the bot's own: where it listens and keeps its data, the
// audit trail, drift checks and the web pages.
func serverKeys() []keySpec {
	return []keySpec{
		kStr("listen", "host:port of the HTTP server (default "+DefaultListen+")"),
		kStr("public_url", "the bot's URL, for links back to it"),
		kRequired(kStr("db", "the bbolt file")),
		kStr("shutdown_grace", "how long serve lets running executions finish on SIGTERM (default 5m)"),
		kStr("outbox_give_up", "how long a failing Slack message or GitHub report is retried (default 24h)"),
		kObj("audit", "access to the audit trail",
			kSecret("token", "bearer token of GET /audit/export and GET /backup"),
			kStr("channel", "Slack channel for the daily audit anchor")),
		kObj("drift", "drift checks",
			keySpec{Name: "interval", Type: tNumberish, Desc: "how often services and records are compared; 0: never"}),
		kObj("web", "the read-only web pages",
			kList("read_tokens", "read tokens besides audit.token",
				kObj("", "a read token", kRequired(kStr("name", "shown instead of the token")), kSecret("token", "16 characters or more"))),
			kSecret("session_key", "signs the sign-in cookie, 32 bytes or more"),
			kStr("session_ttl", "how long a sign-in lasts (default 12h, at most 720h)"),
			kObj("proxy", "a trusted authenticating proxy",
				kRequired(kStr("user_header", "the header naming the signed-in user")),
				kRequired(kStrList("trusted", "the proxy's addresses: CIDR prefixes or addresses"))),
			kStrList("trusted_proxies", "the TLS proxy in front, whose X-Forwarded-For is believed")),
	}
}

// chatAndForgeKeys are the Slack app's and GitHub's.
func chatAndForgeKeys() []keySpec {
	return []keySpec{
		kObj("slack", "the Slack app",
			kSecret("bot_token", "xoxb-…"),
			kSecret("app_token", "xapp-…: Socket Mode"),
			kSecret("signing_secret", "HTTP mode"),
			kStr("api_url", "Slack API base URL (default "+DefaultSlackAPIURL+")"),
			kStr("command", "the slash command (default "+DefaultSlackCommand+")")),
		kObj("github", "GitHub webhooks and API",
			kSecret("webhook_secret", "verifies webhooks"),
			kSecret("token", "API token"),
			kInt("app_id", "GitHub App ID"),
			kInt("installation_id", "GitHub App installation ID"),
			kSecret("private_key", "GitHub App PEM private key"),
			kStr("api_url", "GitHub API base URL (default "+DefaultGitHubAPIURL+")"),
			keySpec{Name: "poll", Type: tNumberish, Desc: "how often followed branches are read (default 5m); 0: never"}),
	}
}

// engineAndHostKeys are where services run: registries, Docker Engines
// and Albatross hosts.
func engineAndHostKeys() []keySpec {
	return []keySpec{
		kList("registries", "container registry credentials",
			kObj("", "a registry",
				kRequired(kStr("host", "host[:port]")), kStr("username", "user name"), kSecret("password", "password"))),
		kMap("engines", "Docker Engines by name",
			kObj("", "a Docker Engine",
				kRequired(kStr("host", "unix:///path, tcp://host:port or ssh://user@host[:port]")),
				kSecret("ssh_key", "ssh:// hosts: private key"),
				kStr("known_hosts", "ssh:// hosts: known_hosts file"),
				kStr("ca_file", "tcp:// hosts: CA certificate"),
				kStr("cert_file", "tcp:// hosts: client certificate"),
				kStr("key_file", "tcp:// hosts: client key"))),
		kMap("hosts", "Albatross hosts by name",
			kObj("", "an Albatross host reached over SSH",
				kRequired(kStr("address", "host[:port]")),
				kRequired(kStr("user", "SSH user")),
				kSecret("ssh_key", "SSH private key"),
				kRequired(kStr("known_hosts", "known_hosts file")),
				kStr("albatross_client", "albatross-client on the host (default "+DefaultAlbatrossClient+")"),
				kStr("socket", "albatross socket on the host"),
				kStr("dir", "where unikernels are kept on the host (default "+DefaultHostDir+")"))),
	}
}

// serviceKeys is the list of deployable services.
func serviceKeys() keySpec {
	return kList("services", "deployable services", kTogether(kCases(kObj("", "a service",
		kRequired(kStr("name", "service name")),
		kRequired(kEnum(kStr("kind", "how it is deployed"), KindSwarm, KindAlbatross, KindBuild)),
		kStr("repo", "owner/name on GitHub"),
		kStr("branch", "the branch whose pushes deploy"),
		kRequired(kStr("channel", "Slack channel ID or #name")),
		kRequired(kStr("image", "image repository, without tag")),
		kCases(kObj("build", "how an image for a commit is obtained",
			kRequired(kEnum(kStr("mode", "build with Docker, or wait for an image"), BuildDocker, BuildWait)),
			kStr("engine", "docker: the engine to build with"),
			kStr("dockerfile", "docker: path in the repository (default "+DefaultDockerfile+")"),
			kStr("target", "docker: Dockerfile stage"),
			kMap("args", "docker: build arguments", kStr("", "")),
			kStr("tag", "template over .SHA, .ShortSHA and .Branch (default "+DefaultTag+")"),
			kStr("timeout", "how long a build may take (default 1h)")),
			keyCase{Key: "mode", Value: BuildDocker, Require: []string{"engine"}},
			keyCase{Key: "mode", Value: BuildWait, Forbid: []string{"engine", "dockerfile", "target", "args"}}),
		kBool("pull_requests", "check pull requests for deployability"),
		kBool("pull_requests_from_forks", "also pull requests from forks"),
		kStr("pull_requests_channel", "where pull request checks are posted"),
		kStr("engine", "swarm: the engine"),
		kStr("swarm_service", "swarm: the Swarm service"),
		kStr("host", "albatross: the host"),
		kObj("unikernel", "albatross: how the unikernel runs",
			kStr("name", "Albatross VM name"),
			kStr("binary", "path of the unikernel in the image (default "+DefaultBinary+")"),
			kInt("memory", "MB"),
			kInt("cpus", "CPUs"),
			kStrList("net", "network interfaces"),
			kStrList("block", "block devices"),
			kStrList("args", "unikernel arguments"),
			kBool("restart_on_fail", "restart on failure"),
			kStr("command", "replaces albatross-client create"),
			kInt("keep", "images kept for rollback")),
		kObj("verify", "a check after each deploy",
			kRequired(kStr("url", "GET this")),
			kInt("status", "the status it must answer (default 200)"),
			kRequired(kStr("for", "how long to probe")),
			kRequired(kStr("every", "how often to probe")),
			kRequired(kEnum(kStr("on_failure", "what to do when it fails"), VerifyRollback, VerifyAlert)))),
		keyCase{Key: "kind", Value: KindSwarm, Require: []string{"engine"}, Forbid: []string{"host", "unikernel"}},
		keyCase{Key: "kind", Value: KindAlbatross, Require: []string{"host", "unikernel"}, Forbid: []string{"engine", "swarm_service"}},
		keyCase{Key: "kind", Value: KindBuild, Require: []string{"repo"}, Forbid: []string{"engine", "swarm_service", "host", "unikernel", "verify"}}),
		map[string][]string{"repo": {"branch", "build"}, "branch": {"repo"}, "build": {"repo"}}))
}

// dnsKeys is the list of DNS zones.
func dnsKeys() keySpec {
	dnsTypes := kStrList("types", "record types the bot may change (default: "+strings.Join(cs.DefaultDNSTypes(), ", ")+")")
	for _, t := range cs.DNSTypes() {
		dnsTypes.Enum = append(dnsTypes.Enum, t, strings.ToLower(t)) // the decoder ignores case
	}
	return kList("dns", "DNS zones changed with RFC 2136 updates",
		kObj("", "a zone",
			kRequired(kStr("zone", "zone name")),
			kRequired(kStr("server", "host[:port]")),
			kRequired(kStr("tsig_key", "TSIG key name")),
			kEnum(kStr("tsig_algorithm", "TSIG algorithm (default "+DefaultTSIGAlgorithm+")"), slices.Sorted(maps.Keys(tsigAlgorithms))...),
			kRequired(kSecret("tsig_secret", "TSIG secret, base64")),
			dnsTypes))
}

// approvalKeys say who may do what and when: groups, identities,
// policies, windows and gates.
func approvalKeys() []keySpec {
	requirement := kObj("", "approvals needed: count distinct approvers from group",
		kStr("group", "a group of groups"), kInt("count", "how many"))
	actionKinds := func(name string) keySpec {
		k := kStrList(name, "action kinds")
		for _, a := range cs.ActionKinds() {
			k.Enum = append(k.Enum, string(a))
		}
		return k
	}
	return []keySpec{
		kMap("groups", "groups of approvers: user IDs and usergroup:S…", kStrList("", "")),
		kObj("identities", "other identities of Slack users",
			kMap("github", "GitHub login to Slack user ID", kStr("", ""))),
		kList("policies", "who may request and approve what",
			kObj("", "a policy",
				kRequired(kStr("name", "policy name")),
				kRequired(actionKinds("actions")),
				kRequired(kStrList("targets", "services and DNS names, globs")),
				kStrList("request", "who may request: push, group:NAME"),
				kObj("auto", "runs without approval", kStrList("branches", "from these branches")),
				kList("approve", "approvals needed", requirement),
				kStr("expires", "how long a request waits for approval"),
				kObj("scale", "replica limits", kInt("min", "fewest"), kInt("max", "most")))),
		kList("windows", "times when actions are denied",
			kObj("", "a window",
				kRequired(kStr("name", "window name")),
				kRequired(actionKinds("actions")),
				kRequired(kStrList("targets", "services and DNS names, globs")),
				kRequired(kObj("deny", "when", kStr("from", "e.g. Fri 16:00"), kStr("to", "e.g. Mon 08:00"), kStr("tz", "time zone"))),
				kObj("break_glass", "approvals that override the window", kList("approve", "approvals needed", requirement)))),
		kList("gates", "GitHub environments whose deployments wait for the bot (a GitHub App's deployment protection rule)",
			kObj("", "a gate",
				kRequired(kStr("name", "the target policies match, with action deploy")),
				kRequired(kStr("repo", "owner/name on GitHub")),
				kRequired(kStr("environment", "the GitHub environment's name, exactly")),
				kRequired(kStr("channel", "Slack channel ID or #name")))),
	}
}
