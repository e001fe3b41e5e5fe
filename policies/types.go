package policies

import (
	"fmt"
	"time"

	cs "github.com/countersign/countersign"
)

// Policy is one entry of the config's `policies:` list. The field tags are
// the YAML keys of the reference config; the config loader decodes into
// these types directly.
type Policy struct {
	Name    string          `yaml:"name" json:"name"`
	Actions []cs.ActionKind `yaml:"actions" json:"actions"`
	// Targets are globs (path.Match) over service names or DNS names.
	Targets []string `yaml:"targets" json:"targets"`
	// Request lists who may ask: "push" (a GitHub push), "group:NAME" (a
	// config group), "usergroup:ID" (a Slack user group) or a user ID.
	Request []string `yaml:"request" json:"request"`
	// Auto lets a push on one of these branches run without approval.
	Auto *Auto `yaml:"auto,omitempty" json:"auto,omitempty"`
	// Approve lists the approvals needed: one line per group, approvers
	// distinct across lines. Empty: no approval needed.
	Approve []cs.Requirement `yaml:"approve" json:"approve"`
	Expires Duration         `yaml:"expires,omitempty" json:"expires,omitempty"`
	Scale   *Limits          `yaml:"scale,omitempty" json:"scale,omitempty"`
}

// Auto is a policy's automatic-deploy rule.
type Auto struct {
	Branches []string `yaml:"branches" json:"branches"`
}

// Limits bounds scale requests.
type Limits struct {
	Min int `yaml:"min" json:"min"`
	Max int `yaml:"max" json:"max"`
}

// Window is one entry of the config's `windows:` list: a change freeze.
type Window struct {
	Name       string          `yaml:"name" json:"name"`
	Actions    []cs.ActionKind `yaml:"actions" json:"actions"`
	Targets    []string        `yaml:"targets" json:"targets"`
	Deny       Span            `yaml:"deny" json:"deny"`
	BreakGlass *BreakGlass     `yaml:"break_glass,omitempty" json:"break_glass,omitempty"`
}

// Span is when a window is in force. From and To are either weekly
// ("Fri 16:00") or one-off ("2026-12-24 00:00"), both in TZ (an IANA zone
// name; default UTC).
type Span struct {
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
	TZ   string `yaml:"tz,omitempty" json:"tz,omitempty"`
}

// BreakGlass says what a `--break-glass REASON` request needs inside a window.
type BreakGlass struct {
	Approve []cs.Requirement `yaml:"approve" json:"approve"`
}

// Duration is a time.Duration written as "30m", "2h", "1h30m" in YAML.
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 30m, 2h)", b)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: negative", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as Go does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }
