// Package countersign is the vocabulary of the bot: who acts, what they ask
// for, what policy decided, and the audit events that record it. It imports
// nothing but the standard library so that every other package can share it.
package countersign

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Actor identifies who did something: a chat user ID ("U01OPS1"),
// "github:LOGIN" for a GitHub identity, or ActorBot for the bot itself.
type Actor string

// ActorBot is the actor of everything the bot does on its own.
const ActorBot Actor = "countersign"

// GitHubActor returns the actor for a GitHub login.
func GitHubActor(login string) Actor { return Actor("github:" + login) }

// ActionKind is what a request asks the bot to do.
type ActionKind string

const (
	ActionDeploy   ActionKind = "deploy"
	ActionRollback ActionKind = "rollback"
	ActionScale    ActionKind = "scale"
	ActionDNS      ActionKind = "dns"
	ActionLock     ActionKind = "lock"
	ActionUnlock   ActionKind = "unlock"
	// ActionAdopt takes what runs at a service now as its approved state
	// (after drift).
	ActionAdopt ActionKind = "adopt"
	// ActionPolicy makes a proposed config current (target TargetPolicies):
	// a reload that loosens the rules waits for its approval.
	ActionPolicy ActionKind = "policy"
)

// TargetPolicies is the target of every ActionPolicy request.
const TargetPolicies = "policies"

// ActionKinds lists every kind, in the order help shows them. The slice
// is the caller's.
func ActionKinds() []ActionKind {
	return []ActionKind{ActionDeploy, ActionRollback, ActionScale, ActionDNS, ActionLock, ActionUnlock, ActionAdopt, ActionPolicy}
}

// Valid reports whether k is a known action kind.
func (k ActionKind) Valid() bool {
	for _, v := range ActionKinds() {
		if k == v {
			return true
		}
	}
	return false
}

// Source says where a request came from.
type Source string

const (
	SourceChat Source = "chat" // a person typed a command
	SourcePush Source = "push" // a GitHub push to a configured branch
	// SourceBot is the bot on its own: a rollback after a deploy failed
	// its verification.
	SourceBot Source = "bot"
)

// DNSOp is the operation of a DNS change.
type DNSOp string

const (
	DNSSet    DNSOp = "set"    // replace the RRset with one record
	DNSAdd    DNSOp = "add"    // add one record to the RRset, keeping the others
	DNSDelete DNSOp = "delete" // delete one record, or the whole RRset
)

// DNSTypes returns every record type the bot changes, supported end to
// end: the command parser checks and normalises its values, the config
// lets a zone allow it, and the DNS executor sends it in an UPDATE and
// verifies the result. It is the one list: everything else derives from
// it. Upper case, in the order help shows them; the slice is the caller's.
func DNSTypes() []string {
	return []string{"A", "AAAA", "CNAME", "TXT", "MX", "SRV", "CAA", "NS", "PTR", "SSHFP", "TLSA"}
}

// DefaultDNSTypes returns the types a zone allows when its config lists
// none, a subset of DNSTypes. NS (delegation), PTR, SSHFP and TLSA must
// be allowed by name. The slice is the caller's.
func DefaultDNSTypes() []string {
	return []string{"A", "AAAA", "CNAME", "TXT", "MX", "SRV", "CAA"}
}

// ValidDNSType reports whether t, upper case, is one of DNSTypes.
func ValidDNSType(t string) bool {
	for _, v := range DNSTypes() {
		if t == v {
			return true
		}
	}
	return false
}

// Record is one DNS resource record as the bot shows and changes it.
type Record struct {
	Name  string `json:"name"`  // fully qualified, lower case, with trailing dot
	Type  string `json:"type"`  // upper case: A, AAAA, CNAME, TXT, …
	TTL   uint32 `json:"ttl"`   // seconds
	Value string `json:"value"` // presentation format of the RDATA
}

// DNSChange is the exact DNS change an approver sees and approves.
type DNSChange struct {
	Op    DNSOp  `json:"op"`
	Name  string `json:"name"`
	Type  string `json:"type"`            // one of DNSTypes
	Value string `json:"value,omitempty"` // set: the new value; add: the value to add; delete: the one value to remove (empty = whole RRset)
	TTL   uint32 `json:"ttl,omitempty"`
	// Current is the RRset as it was read when the request was made; the
	// executor makes the update conditional on it still being exactly this.
	Current []Record `json:"current"`
	// Proposed is the RRset after the change.
	Proposed []Record `json:"proposed"`
}

// Action is exactly what a request will do. Everything an approver approves
// is in here, so that its fingerprint binds an approval to the action.
type Action struct {
	Kind   ActionKind `json:"kind"`
	Target string     `json:"target"` // service name, or DNS name for dns

	// Deploy and rollback.
	Image      string `json:"image,omitempty"`      // repo@sha256:…, never a tag
	Commit     string `json:"commit,omitempty"`     // full git SHA the image was built from
	Ref        string `json:"ref,omitempty"`        // what the requester typed (commit, digest), for display
	Branch     string `json:"branch,omitempty"`     // branch of a push
	Deployment string `json:"deployment,omitempty"` // rollback: the deployment ID rolled back to

	// Scale.
	Replicas     int `json:"replicas,omitempty"`
	FromReplicas int `json:"from_replicas,omitempty"`

	// DNS.
	DNS *DNSChange `json:"dns,omitempty"`

	// Lock.
	Reason string `json:"reason,omitempty"`

	// BreakGlass is the reason given with --break-glass, if any.
	BreakGlass string `json:"break_glass,omitempty"`

	// Policy: Config is the hex SHA-256 of the proposed config file, and
	// From that of the config in force when it was proposed. An approval
	// is for exactly that file replacing exactly that one.
	Config string `json:"config,omitempty"`
	From   string `json:"from,omitempty"`
}

// String is a short human description, e.g. "deploy www".
func (a Action) String() string {
	if a.Kind == ActionDNS && a.DNS != nil {
		return fmt.Sprintf("dns %s %s %s", a.DNS.Op, a.DNS.Name, a.DNS.Type)
	}
	return string(a.Kind) + " " + a.Target
}

// RequestID names a request: "R" and a decimal number, R1 first.
type RequestID string

// FormatRequestID returns the ID of request number n.
func FormatRequestID(n uint64) RequestID { return RequestID("R" + strconv.FormatUint(n, 10)) }

var requestIDPattern = regexp.MustCompile(`^R[1-9][0-9]{0,18}$`)

// ParseRequestID accepts "R42" (and "r42"), and returns ErrBadRequestID otherwise.
func ParseRequestID(s string) (RequestID, error) {
	if len(s) > 0 && s[0] == 'r' {
		s = "R" + s[1:]
	}
	if !requestIDPattern.MatchString(s) {
		return "", fmt.Errorf("%w: %q (want R followed by a number, e.g. R42)", ErrBadRequestID, s)
	}
	return RequestID(s), nil
}

// Number returns the numeric part of the ID (0 if malformed).
func (id RequestID) Number() uint64 {
	n, _ := strconv.ParseUint(strings.TrimPrefix(string(id), "R"), 10, 64)
	return n
}

// Service names: a letter, then letters, digits, '-' and '_'. Anything else
// (spaces, quotes, shell metacharacters) is refused everywhere.
var serviceNamePattern = regexp.MustCompile(`^[A-Za-z][-0-9A-Za-z_]*$`)

// MaxServiceNameLen bounds service and unikernel names.
const MaxServiceNameLen = 63

// ValidServiceName reports whether s is an acceptable service name.
func ValidServiceName(s string) bool {
	return len(s) <= MaxServiceNameLen && serviceNamePattern.MatchString(s)
}

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ValidDigest reports whether s is "sha256:" followed by 64 lower-case hex digits.
func ValidDigest(s string) bool { return digestPattern.MatchString(s) }

// Errors that callers branch on.
var (
	ErrBadRequestID   = errors.New("bad request ID")
	ErrNotFound       = errors.New("not found")
	ErrUnknownService = errors.New("unknown service")
	ErrLocked         = errors.New("target is locked")
	ErrNotAllowed     = errors.New("not allowed")
	ErrClosed         = errors.New("request is closed")
)
