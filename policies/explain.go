package policies

import (
	"fmt"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
)

// Explain renders a decision for `/cs policy explain` and for logs, one
// fact per line: verdict, policy and short version, reasons, required
// approvals, expiry, window. It shows only what is in d.
func Explain(d cs.Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict: %s\n", verdictText(d.Verdict))
	if d.Policy != "" {
		fmt.Fprintf(&b, "policy: %s (version %s)\n", d.Policy, short(d.PolicyVersion))
	} else {
		fmt.Fprintf(&b, "policy: none matched (version %s)\n", short(d.PolicyVersion))
	}
	if len(d.Reasons) > 0 {
		b.WriteString("reasons:\n")
		for _, r := range d.Reasons {
			fmt.Fprintf(&b, "  - %s\n", r)
		}
	}
	if len(d.Requires) > 0 {
		fmt.Fprintf(&b, "approvals: %s; distinct people, not the requester or the commit author\n", describeRequires(d.Requires))
	}
	if d.ExpiresIn > 0 {
		fmt.Fprintf(&b, "expires: %s after the request if not approved\n", formatDuration(d.ExpiresIn))
	}
	if d.Window != "" {
		route := "no exception"
		if d.BreakGlass {
			route = "break-glass route"
		}
		fmt.Fprintf(&b, "window: %s (%s)\n", d.Window, route)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func verdictText(v cs.Verdict) string {
	switch v {
	case cs.VerdictAllow:
		return "allow (no approval needed)"
	case cs.VerdictDeny:
		return "deny"
	case cs.VerdictNeedsApproval:
		return "needs approval"
	}
	return string(v)
}

// describeRequires renders "1 from ops and 1 from www-owners".
func describeRequires(reqs []cs.Requirement) string {
	parts := make([]string, len(reqs))
	for i, r := range reqs {
		parts[i] = fmt.Sprintf("%d from %s", r.Count, r.Group)
	}
	if len(parts) <= 1 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// formatDuration writes 2h, 30m, 1h30m rather than 2h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// short is the first 12 hex digits of a version, as people see it.
func short(version string) string {
	if len(version) > 12 {
		return version[:12]
	}
	if version == "" {
		return "(none)"
	}
	return version
}
