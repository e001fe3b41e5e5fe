// Package commands turns the text a person types in chat into a typed
// command, or into a *ParseError that says what was wrong and shows the
// usage line. It also holds the usage and help texts.
//
// The package is pure: it does no I/O, holds no mutable state and imports
// only the standard library and the root package, so every function in it
// is safe to call concurrently.
//
// Parse is strict. Every value that will later reach a shell, a Docker API
// or a DNS UPDATE (service names, refs, DNS names and record data) is
// validated and normalised here, so the rest of the bot handles only
// well-formed values.
//
// The text rules, in short:
//   - Words are separated by white space; "double quotes" (or Slack's “ ”)
//     make one word of text with spaces, with \" and \\ as escapes.
//   - A reason (lock, deny, --break-glass) is the rest of the line as
//     received, white space folded; quotes in it need not balance, and a
//     reason that is one quoted string loses its quotes. Slack markup in
//     a reason (&amp;, <@U1>, links) is kept, so that it can be posted back
//     as it came; whoever renders it elsewhere must treat it as such.
//   - --break-glass REASON… may end deploy, rollback, scale, dns set,
//     dns add, dns delete and policy explain (also as —break-glass, which
//     Slack clients make of it). A quoted "--break-glass" is an ordinary
//     word.
//   - Where a DNS name or record data is expected, Slack's link markup
//     (<http://x.org|x.org>) is replaced by its label, and in record data
//     &lt; &gt; &amp; are decoded.
package commands

import (
	"time"

	cs "github.com/countersign/countersign"
)

// Command is one parsed chat command. Verb returns the canonical verb, as
// Usage and HelpText accept it: "deploy", "dns set", "policy explain", …
type Command interface{ Verb() string }

// Verbs returns the canonical verbs, in the order help shows them:
// "deploy", "rollback", "scale", "dns set", "dns add", "dns delete",
// "dns show", "lock", "unlock", "status", "audit", "policy explain",
// "help", "approve", "deny".
func Verbs() []string {
	vs := make([]string, len(docs))
	for i, d := range docs {
		vs[i] = d.name
	}
	return vs
}

// MaxReplicas is the largest replica count scale accepts. Policy limits
// are usually much lower; this bound only keeps nonsense out.
const MaxReplicas = 1000

// DefaultAuditSince is how far back audit looks when no "since" is given.
const DefaultAuditSince = 24 * time.Hour

// Deploy asks to deploy a service.
type Deploy struct {
	Service string
	// Ref is "" for the latest build, a lower-case commit SHA (7 to 40 hex
	// digits), or an image digest "sha256:" followed by 64 lower-case hex.
	Ref        string
	BreakGlass string // the reason given with --break-glass, "" if none
}

// Rollback asks to roll a service back.
type Rollback struct {
	Service string
	// To is the deployment to go back to; "" means the previous good one.
	To         cs.RequestID
	BreakGlass string
}

// Scale asks to set the replica count of a Swarm service.
type Scale struct {
	Service    string
	Replicas   int // 0..MaxReplicas
	BreakGlass string
}

// DNSSet asks to make VALUE the only record of NAME TYPE: the RRset is
// replaced, so the approver sees the old set and the new one.
type DNSSet struct {
	Name       string // lower case, fully qualified, with trailing dot
	Type       string // upper case, one of cs.DNSTypes()
	Value      string // RDATA in DNS presentation format, e.g. `10 mail.x.org.`
	TTL        uint32 // seconds; 0 = not given (the executor's default)
	BreakGlass string
}

// DNSAdd asks to add VALUE to the records of NAME TYPE, keeping the
// others (a second MX or TXT record). Type is never CNAME: a name has at
// most one.
type DNSAdd struct {
	Name       string // as DNSSet
	Type       string
	Value      string
	TTL        uint32 // seconds; 0 = not given (the RRset's TTL, or the executor's default)
	BreakGlass string
}

// DNSDelete asks to delete one record, or a whole RRset.
type DNSDelete struct {
	Name       string
	Type       string
	Value      string // presentation format; "" = the whole RRset
	BreakGlass string
}

// DNSShow asks for the current records of a name.
type DNSShow struct {
	Name string
	Type string // "" = all types
}

// Lock blocks deploys to a service.
type Lock struct {
	Service string
	Reason  string // never empty
}

// Unlock releases a lock.
type Unlock struct {
	Service string
}

// Status asks what runs where, what is pending and who holds locks.
type Status struct {
	Service string // "" = everything
}

// Audit asks for recent audit events.
type Audit struct {
	Service string        // "" = any
	User    cs.Actor      // "" = anyone
	Since   time.Duration // how far back; DefaultAuditSince if not given
}

// AuditAnchor asks for the audit chain's current anchor (SEQ:HASH), which
// the bot also posts in the audit channel.
type AuditAnchor struct{}

// PolicyExplain asks what policy would decide for an action, without acting.
type PolicyExplain struct {
	Action cs.ActionKind // always Valid
	Target string        // service name, or for dns a normalised DNS name
	User   cs.Actor      // "" = the person asking
	// BreakGlass, when set, asks how the break-glass route would be decided.
	BreakGlass string
}

// PolicyShow asks for the policies in force.
type PolicyShow struct{}

// ConfigReload asks the bot to read its config file again: stricter or
// equal rules apply at once, looser ones wait for approval (action policy).
type ConfigReload struct{}

// Help asks for the help of one verb, or the overview when Topic is "".
// (The field cannot be called Verb: that is the Command method.) Topic is
// canonical, as HelpText and Usage take it: "deploy", "dns" (all three dns
// verbs), "dns set", "policy explain", ….
type Help struct {
	Topic string
}

// Approve is the text form of the Approve button.
type Approve struct {
	ID cs.RequestID
}

// Deny is the text form of the Deny button.
type Deny struct {
	ID     cs.RequestID
	Reason string // never empty
}

// Verb returns "deploy".
func (Deploy) Verb() string { return "deploy" }

// Verb returns "rollback".
func (Rollback) Verb() string { return "rollback" }

// Verb returns "scale".
func (Scale) Verb() string { return "scale" }

// Verb returns "dns set".
func (DNSSet) Verb() string { return "dns set" }

// Verb returns "dns add".
func (DNSAdd) Verb() string { return "dns add" }

// Verb returns "dns delete".
func (DNSDelete) Verb() string { return "dns delete" }

// Verb returns "dns show".
func (DNSShow) Verb() string { return "dns show" }

// Verb returns "lock".
func (Lock) Verb() string { return "lock" }

// Verb returns "unlock".
func (Unlock) Verb() string { return "unlock" }

// Verb returns "status".
func (Status) Verb() string { return "status" }

// Verb returns "audit".
func (Audit) Verb() string { return "audit" }

// Verb returns "audit": the anchor is documented with it.
func (AuditAnchor) Verb() string { return "audit" }

// Verb returns "policy explain".
func (PolicyExplain) Verb() string { return "policy explain" }

// Verb returns "policy show".
func (PolicyShow) Verb() string { return "policy show" }

// Verb returns "config reload".
func (ConfigReload) Verb() string { return "config reload" }

// Verb returns "help".
func (Help) Verb() string { return "help" }

// Verb returns "approve".
func (Approve) Verb() string { return "approve" }

// Verb returns "deny".
func (Deny) Verb() string { return "deny" }
