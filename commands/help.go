package commands

import (
	"fmt"
	"strings"
)

// verbDoc documents one verb: its usage line, a one-line summary for the
// overview, details for its own help, and examples that Parse accepts
// (a test holds them to that).
type verbDoc struct {
	name       string // canonical verb, as Command.Verb returns it
	usage      string
	summary    string
	details    string
	examples   []string
	breakGlass bool // may end with --break-glass REASON…
}

// docs lists every verb, in the order help shows them.
var docs = []verbDoc{
	{
		name:    "deploy",
		usage:   "deploy SERVICE [REF|DIGEST] [--break-glass REASON…]",
		summary: "deploy the latest build, a commit, or an exact image digest",
		details: "Without REF, deploys the latest build of the service's branch. REF is a commit SHA " +
			"(7 to 40 hex digits) or an image digest (sha256: and 64 hex digits). Tags and branch names " +
			"are refused: only immutable references are deployed.",
		examples: []string{
			"/cs deploy www",
			"/cs deploy www 3f2a9c1",
			"/cs deploy www sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			"/cs deploy www 3f2a9c1 --break-glass fix for the outage in #incident",
		},
		breakGlass: true,
	},
	{
		name:    "rollback",
		usage:   "rollback SERVICE [to DEPLOYMENT] [--break-glass REASON…]",
		summary: "go back to the previous good deployment, or to a named one",
		details: "DEPLOYMENT is the request ID of an earlier deploy or rollback of the service, " +
			"as status shows it (e.g. R40). The word \"to\" may be left out.",
		examples:   []string{"/cs rollback www", "/cs rollback www to R40"},
		breakGlass: true,
	},
	{
		name:    "scale",
		usage:   "scale SERVICE REPLICAS [--break-glass REASON…]",
		summary: "set the number of replicas of a Docker Swarm service",
		details: fmt.Sprintf("REPLICAS is a whole number from 0 to %d; policy may allow less. "+
			"Only Swarm services scale, not unikernels.", MaxReplicas),
		examples:   []string{"/cs scale ocaml-ci-web 3"},
		breakGlass: true,
	},
	{
		name:    "dns set",
		usage:   "dns set NAME TYPE VALUE [TTL] [--break-glass REASON…]",
		summary: "make VALUE the only NAME TYPE record (replaces the record set)",
		details: "NAME is fully qualified (a trailing dot is optional); it may start with *. for a " +
			"wildcard and contain labels starting with _ (as in _acme-challenge). TTL is optional, " +
			fmt.Sprintf("in seconds, 1 to %d. ", maxTTL) +
			"Approvers see the current records and the proposed ones before anything changes.",
		examples: []string{
			"/cs dns set ci.mirageos.org A 128.232.124.253 10800",
			"/cs dns set mirageos.org MX 10 mail.mirageos.org",
			`/cs dns set _acme-challenge.mirageos.org TXT "gfj9Xq-Rkw" 60`,
			`/cs dns set mirageos.org CAA 0 issue "letsencrypt.org"`,
		},
		breakGlass: true,
	},
	{
		name:    "dns add",
		usage:   "dns add NAME TYPE VALUE [TTL] [--break-glass REASON…]",
		summary: "add one record to the NAME TYPE records, keeping the others",
		details: "For a second MX, TXT, A, … record: dns set would replace them all. NAME and VALUE " +
			"are written as for dns set. Without TTL the record gets the TTL of the records already " +
			"there (a record set has one TTL), or the zone's default for the first one. Adding a " +
			"record that is already there is refused; a name has at most one CNAME, so CNAME is " +
			"changed with dns set. Approvers see the current records and the proposed ones.",
		examples: []string{
			"/cs dns add mirageos.org MX 20 mail2.mirageos.org",
			`/cs dns add mirageos.org TXT "google-site-verification=abc123"`,
			"/cs dns add ci.mirageos.org A 128.232.124.254 10800",
		},
		breakGlass: true,
	},
	{
		name:    "dns delete",
		usage:   "dns delete NAME TYPE [VALUE] [--break-glass REASON…]",
		summary: "delete one DNS record, or all records of a type",
		details: "With VALUE, deletes only that record and keeps the others; without it, every " +
			"record of TYPE at NAME. VALUE is written as for dns set.",
		examples: []string{
			"/cs dns delete old.mirageos.org A",
			`/cs dns delete mirageos.org TXT "v=spf1 -all"`,
		},
		breakGlass: true,
	},
	{
		name:     "dns show",
		usage:    "dns show NAME [TYPE]",
		summary:  "show the current DNS records of a name",
		details:  "Without TYPE, shows records of every type the bot manages.",
		examples: []string{"/cs dns show mirageos.org", "/cs dns show mirageos.org MX"},
	},
	{
		name:    "lock",
		usage:   "lock SERVICE REASON…",
		summary: "stop deploys to a service until it is unlocked",
		details: "REASON is the rest of the line and is required; everyone whose deploy " +
			"the lock holds back sees it.",
		examples: []string{"/cs lock www database migration until 15:00"},
	},
	{
		name:     "unlock",
		usage:    "unlock SERVICE",
		summary:  "release the lock on a service",
		details:  "Deploys that the lock held back do not start by themselves; request them again.",
		examples: []string{"/cs unlock www"},
	},
	{
		name:    "adopt",
		usage:   "adopt SERVICE",
		summary: "take what runs now as the approved state, after drift",
		details: "Asks, through policy action adopt and approved like a deploy, to record the image " +
			"(and replicas) that run now as the service's deployment, so that drift ends and " +
			"a later rollback goes back to it. It fails if what runs changes before it is approved.",
		examples: []string{"/cs adopt www"},
	},
	{
		name:     "status",
		usage:    "status [SERVICE]",
		summary:  "what runs where, pending requests, locks",
		details:  "Without SERVICE, shows every service.",
		examples: []string{"/cs status", "/cs status www"},
	},
	{
		name:    "audit",
		usage:   "audit [SERVICE|@USER] [since DURATION] | audit anchor",
		summary: "recent audit events, shown only to you; or the chain's anchor",
		details: "DURATION is a whole number with m (minutes), h (hours) or d (days); the default " +
			"is since 24h. @USER is a mention, so that the chat sends the person's ID. For older " +
			"or complete records use countersign audit export. `audit anchor` shows the chain's " +
			"head as SEQ:HASH and posts it in the audit channel; `countersign audit verify --anchor` " +
			"checks the trail against it.",
		examples: []string{"/cs audit", "/cs audit www since 7d", "/cs audit @U01OPS1", "/cs audit since 90m", "/cs audit anchor"},
	},
	{
		name:    "policy explain",
		usage:   "policy explain ACTION TARGET [@USER] [--break-glass REASON…]",
		summary: "what policy would decide, and why, without doing anything",
		details: "ACTION is one of " + actionNames() + "; TARGET is a service, or for dns a DNS name. " +
			"Without @USER (a mention), explains the decision for you. With --break-glass, explains the " +
			"break-glass route.",
		examples: []string{
			"/cs policy explain deploy www",
			"/cs policy explain dns ci.mirageos.org @U01OPS1",
			"/cs policy explain deploy www --break-glass outage",
		},
		breakGlass: true,
	},
	{
		name:     "policy show",
		usage:    "policy show",
		summary:  "the policies, change windows and groups in force",
		details:  "Policies are listed in the order they are tried: the first that matches decides.",
		examples: []string{"/cs policy show"},
	},
	{
		name:     "help",
		usage:    "help [VERB]",
		summary:  "this list, or the details of one command",
		details:  "VERB may be two words, as in help dns set.",
		examples: []string{"/cs help", "/cs help dns set"},
	},
	{
		name:     "approve",
		usage:    "approve REQUEST",
		summary:  "approve a pending request, as its Approve button does",
		details:  "REQUEST is the request's ID, e.g. R42. You cannot approve your own request.",
		examples: []string{"/cs approve R42"},
	},
	{
		name:     "deny",
		usage:    "deny REQUEST REASON…",
		summary:  "deny a pending request, as its Deny button does",
		details:  "REASON is the rest of the line and is required; the requester sees it.",
		examples: []string{"/cs deny R42 not during the conference demo"},
	},
	{
		name:    "config reload",
		usage:   "config reload",
		summary: "read the config file again; a loosening of the rules waits for approval",
		details: "Who may run it is decided by the policies for action policy. A config that does not pass " +
			"`countersign config check` is refused whole. Stricter or equal rules take effect at once; " +
			"looser ones become a request (action policy, target policies) that is approved under the rules in force.",
		examples: []string{"/cs config reload"},
	},
}

// breakGlassHelp is added to the help of every verb that takes --break-glass.
const breakGlassHelp = "Ending the command with --break-glass REASON… asks for the break-glass " +
	"route of a change window (a freeze); the reason is required and recorded."

// lookupDoc returns the doc of a canonical verb.
func lookupDoc(verb string) (verbDoc, bool) {
	for _, d := range docs {
		if d.name == verb {
			return d, true
		}
	}
	return verbDoc{}, false
}

// canonicalTopic maps what someone may ask help for ("DNS  Set", "policy",
// "/cs deploy") to a canonical verb, or to "dns" for all the dns verbs.
func canonicalTopic(s string) (string, bool) {
	words := strings.Fields(strings.ToLower(s))
	if len(words) > 0 && words[0] == "/cs" {
		words = words[1:]
	}
	t := strings.Join(words, " ")
	switch t {
	case "dns":
		return t, true
	case "policy":
		return "policy explain", true
	case "config":
		return "config reload", true
	}
	_, ok := lookupDoc(t)
	return t, ok
}

// Usage returns the one-line usage of a verb, e.g. "deploy SERVICE
// [REF|DIGEST] [--break-glass REASON…]", or "" for an unknown verb. Verbs
// are matched in any case; "policy" means "policy explain". Usage("dns")
// gives the lines of dns set, dns add, dns delete and dns show, separated
// by "\n".
func Usage(verb string) string {
	t, ok := canonicalTopic(verb)
	if !ok {
		return ""
	}
	if t == "dns" {
		var lines []string
		for _, d := range docs {
			if strings.HasPrefix(d.name, "dns ") {
				lines = append(lines, d.usage)
			}
		}
		return strings.Join(lines, "\n")
	}
	d, _ := lookupDoc(t)
	return d.usage
}

// HelpText returns the help of one verb (usage, what it does, details and
// examples), or, for "", the overview of all verbs with an example each.
// An unknown verb gives the overview too, so a caller always has something
// to show.
func HelpText(verb string) string {
	t, ok := canonicalTopic(verb)
	switch {
	case !ok || t == "":
		return overview()
	case t == "dns":
		var parts []string
		for _, d := range docs {
			if strings.HasPrefix(d.name, "dns ") {
				parts = append(parts, verbHelp(d, d.name == "dns set"))
			}
		}
		return strings.Join(parts, "\n\n")
	}
	d, _ := lookupDoc(t)
	return verbHelp(d, true)
}

// overview lists every verb with its summary and first example.
func overview() string {
	var b strings.Builder
	b.WriteString("Countersign commands (type them after /cs):\n")
	for _, d := range docs {
		fmt.Fprintf(&b, "\n%s\n    %s\n    e.g. %s\n", d.usage, d.summary, d.examples[min(1, len(d.examples)-1)])
	}
	b.WriteString("\nAny change (deploy, rollback, scale, dns set, dns add, dns delete) may end with " +
		"--break-glass REASON… to ask for the break-glass route during a change freeze.\n")
	b.WriteString(`Type "/cs help VERB" for details, e.g. "/cs help dns set".`)
	return b.String()
}

// verbHelp is the help of one verb; types says whether to list the DNS
// record types, for the dns verbs that take them.
func verbHelp(d verbDoc, types bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s.\n\n%s\n", d.usage, capitalise(d.summary), d.details)
	if types && (d.name == "dns set" || d.name == "dns add" || d.name == "dns delete") {
		b.WriteString("\nTYPE and VALUE:\n")
		for _, t := range rrTypes() {
			fmt.Fprintf(&b, "  %-6s %s\n", t.name, t.shape)
		}
		b.WriteString("MX, SRV, CAA, SSHFP and TLSA values are several words, or one quoted string holding them " +
			`all ("10 mail.mirageos.org"). TXT strings longer than 255 bytes must be split into ` +
			"several quoted strings.\n")
	}
	if d.breakGlass {
		b.WriteString("\n" + breakGlassHelp + "\n")
	}
	b.WriteString("\nExamples:\n")
	for _, e := range d.examples {
		b.WriteString("  " + e + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// capitalise upper-cases the first letter of an ASCII sentence.
func capitalise(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
