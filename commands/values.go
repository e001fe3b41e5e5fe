package commands

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	cs "github.com/countersign/countersign"
)

// Each check returns the normalised value, or a message saying what is
// wrong with it; the caller makes the *ParseError, naming the argument.

// checkService accepts a service name per cs.ValidServiceName.
func checkService(s string) (string, string) {
	switch {
	case s == "":
		return "", "empty service name"
	case len(s) > cs.MaxServiceNameLen:
		return "", fmt.Sprintf("longer than %d characters", cs.MaxServiceNameLen)
	case !cs.ValidServiceName(s):
		return "", "not a service name: a letter, then letters, digits, '-' or '_'"
	}
	return s, ""
}

// checkRef accepts a commit SHA (7 to 40 hex digits) or an image digest
// (sha256: and 64 hex digits), in any case, and returns it in lower case.
// Tags and branch names are refused: only immutable references deploy.
func checkRef(s string) (string, string) {
	l := strings.ToLower(s)
	if strings.HasPrefix(l, "sha256:") {
		if !cs.ValidDigest(l) {
			return "", "not a digest: want sha256: and 64 hex digits"
		}
		return l, ""
	}
	if !isHex(l) {
		return "", "not a commit SHA or an image digest (tags and branches are never deployed); want 7 to 40 hex digits, or sha256: and 64 hex digits"
	}
	if len(l) < 7 || len(l) > 40 {
		return "", fmt.Sprintf("a commit SHA has 7 to 40 hex digits, this has %d", len(l))
	}
	return l, ""
}

// isHex reports whether s is non-empty and all lower-case hex digits.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isDigits reports whether s is non-empty and all ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkUint accepts a whole number lo..hi written in decimal digits only
// (no sign, no exponent); what names the kind of number for messages.
func checkUint(s string, lo, hi uint64, what string) (uint64, string) {
	if !isDigits(s) {
		if len(s) > 1 && s[0] == '-' && isDigits(s[1:]) {
			return 0, fmt.Sprintf("out of range: want %s %d to %d", what, lo, hi)
		}
		return 0, fmt.Sprintf("not a whole number: want %s %d to %d", what, lo, hi)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Sprintf("out of range: want %s %d to %d", what, lo, hi)
	}
	return n, ""
}

// checkReplicas accepts 0..MaxReplicas.
func checkReplicas(s string) (int, string) {
	n, msg := checkUint(s, 0, MaxReplicas, "replicas")
	return int(n), msg
}

// checkRequestID accepts "R42" (or "r42").
func checkRequestID(s string) (cs.RequestID, string) {
	id, err := cs.ParseRequestID(s)
	if err != nil {
		return "", "not a request ID: want R and a number, e.g. R42"
	}
	return id, ""
}

// slackUserID is the shape of a Slack user ID (U…, or W… on Enterprise Grid).
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// isUserWord reports whether a word, as typed, is meant as a user.
func isUserWord(s string) bool { return strings.HasPrefix(s, "@") || strings.HasPrefix(s, "<@") }

// checkUser accepts "@U123ABC" and Slack's escaped mentions "<@U123ABC>"
// and "<@U123ABC|bob>", and returns the user ID as an actor.
func checkUser(s string) (cs.Actor, string) {
	var id string
	switch {
	case strings.HasPrefix(s, "<@") && strings.HasSuffix(s, ">"):
		id = s[2 : len(s)-1]
		if i := strings.IndexByte(id, '|'); i >= 0 {
			id = id[:i]
		}
	case strings.HasPrefix(s, "@"):
		id = s[1:]
	default:
		return "", "not a user: want a mention such as @U123ABC"
	}
	if !slackUserID.MatchString(id) {
		return "", "not a Slack user ID (U or W, then capital letters and digits); mention the person so that the chat sends their ID"
	}
	return cs.Actor(id), ""
}

// maxSince bounds audit's look-back; older history is for `audit export`.
const maxSince = 3660 * 24 * time.Hour

// sincePattern is a whole number and one unit: minutes, hours or days.
var sincePattern = regexp.MustCompile(`^([0-9]{1,7})([mhdMHD])$`)

// checkSince accepts "90m", "24h", "7d".
func checkSince(s string) (time.Duration, string) {
	m := sincePattern.FindStringSubmatch(s)
	if m == nil {
		return 0, "not a duration: want a whole number and m, h or d, e.g. 24h or 7d"
	}
	n, _ := strconv.ParseInt(m[1], 10, 64) // at most 7 digits
	unit := time.Minute
	switch strings.ToLower(m[2]) {
	case "h":
		unit = time.Hour
	case "d":
		unit = 24 * time.Hour
	}
	switch {
	case n == 0:
		return 0, "must be more than zero"
	case n > int64(maxSince/unit): // before multiplying, which could overflow
		return 0, fmt.Sprintf("too far back: at most %dd (use countersign audit export for older records)", maxSince/(24*time.Hour))
	}
	return time.Duration(n) * unit, ""
}
