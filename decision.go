package countersign

import "time"

// Verdict is the outcome of a policy decision.
type Verdict string

const (
	VerdictAllow         Verdict = "allow"          // run without approval
	VerdictDeny          Verdict = "deny"           // refuse
	VerdictNeedsApproval Verdict = "needs_approval" // run once Requires is met
)

// Requirement is one line of what approvals are needed: Count distinct
// approvers from Group. Approvals are distinct across lines too.
type Requirement struct {
	Group string `json:"group" yaml:"group"`
	Count int    `json:"count" yaml:"count"`
}

// Decision is what policy said about a request, and why.
type Decision struct {
	Verdict Verdict `json:"verdict"`
	// Policy is the name of the matching policy; empty when none matched
	// (deny by default).
	Policy string `json:"policy,omitempty"`
	// PolicyVersion is the hex SHA-256 of the loaded policies and windows.
	PolicyVersion string        `json:"policy_version"`
	Reasons       []string      `json:"reasons,omitempty"`
	Requires      []Requirement `json:"requires,omitempty"`
	// ExpiresIn is how long a pending request stays open (0: the bot's default).
	ExpiresIn time.Duration `json:"expires_in,omitempty"`
	// Window names the change window in force, if any; BreakGlass says the
	// request goes by that window's break-glass route.
	Window     string `json:"window,omitempty"`
	BreakGlass bool   `json:"break_glass,omitempty"`
}
