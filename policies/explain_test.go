package policies

import (
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

func TestExplain(t *testing.T) {
	const version = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name string
		d    cs.Decision
		want string
	}{
		{"needs approval", cs.Decision{
			Verdict: cs.VerdictNeedsApproval, Policy: "production", PolicyVersion: version,
			Reasons:  []string{`policy "production" matches deploy on www requested by U1`, "needs approval: 1 from ops and 1 from www-owners"},
			Requires: reqs(req("ops", 1), req("www-owners", 1)), ExpiresIn: 90 * time.Minute,
		}, `verdict: needs approval
policy: production (version 0123456789ab)
reasons:
  - policy "production" matches deploy on www requested by U1
  - needs approval: 1 from ops and 1 from www-owners
approvals: 1 from ops and 1 from www-owners; distinct people, not the requester or the commit author
expires: 1h30m after the request if not approved`},
		{"break glass", cs.Decision{
			Verdict: cs.VerdictNeedsApproval, Policy: "production", PolicyVersion: version,
			Reasons: []string{"r"}, Requires: reqs(req("ops", 2)), ExpiresIn: 2 * time.Hour,
			Window: "weekend-freeze", BreakGlass: true,
		}, `verdict: needs approval
policy: production (version 0123456789ab)
reasons:
  - r
approvals: 2 from ops; distinct people, not the requester or the commit author
expires: 2h after the request if not approved
window: weekend-freeze (break-glass route)`},
		{"frozen", cs.Decision{
			Verdict: cs.VerdictDeny, Policy: "production", PolicyVersion: version, Reasons: []string{"r"}, Window: "weekend-freeze",
		}, `verdict: deny
policy: production (version 0123456789ab)
reasons:
  - r
window: weekend-freeze (no exception)`},
		{"deny by default", cs.Decision{
			Verdict: cs.VerdictDeny, PolicyVersion: version, Reasons: []string{"no policy allows deploy on www (deny by default)"},
		}, `verdict: deny
policy: none matched (version 0123456789ab)
reasons:
  - no policy allows deploy on www (deny by default)`},
		{"allow", cs.Decision{Verdict: cs.VerdictAllow, Policy: "locks", PolicyVersion: version},
			`verdict: allow (no approval needed)
policy: locks (version 0123456789ab)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Explain(tt.d); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{2 * time.Hour, "2h"},
		{30 * time.Minute, "30m"},
		{90 * time.Minute, "1h30m"},
		{45 * time.Second, "45s"},
		{time.Hour + 5*time.Second, "1h0m5s"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := formatDuration(tt.d); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
