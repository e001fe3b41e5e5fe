package config

import (
	"io/fs"
	"net"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// The shapes of names the config refers to. Each says what it accepts in
// the message that rejects it.
var (
	namePattern      = regexp.MustCompile(`^[A-Za-z0-9][-0-9A-Za-z_.]{0,62}$`)
	buildArgPattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	channelPattern   = regexp.MustCompile(`^(?:[CGD][A-Z0-9]{2,}|#[a-z0-9][-a-z0-9._]{0,79})$`)
	repoPattern      = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9]{0,38}/[-A-Za-z0-9._]{1,100}$`)
	userIDPattern    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	userGroupPattern = regexp.MustCompile(`^usergroup:S[A-Z0-9]{2,}$`)
	loginPattern     = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9]{0,38}$`)
	dockerTagPattern = regexp.MustCompile(`^[A-Za-z0-9_][-A-Za-z0-9_.]{0,127}$`)
	swarmPattern     = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$`)
	unixUserPattern  = regexp.MustCompile(`^[a-z_][-a-z0-9_.]{0,31}$`)
	commandPattern   = regexp.MustCompile(`^/[a-z0-9][-a-z0-9_]{0,31}$`)
	// Paths and words used in commands run on a host over SSH: nothing
	// a shell would interpret.
	remotePathPattern = regexp.MustCompile(`^[-A-Za-z0-9_./+]+$`)
	remoteWordPattern = regexp.MustCompile(`^[-A-Za-z0-9_.:]+$`)
	dnsLabelPattern   = regexp.MustCompile(`^[a-z0-9_](?:[-a-z0-9_]{0,61}[a-z0-9_])?$`)
	imageDomain       = `(?:[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)*(?::[0-9]+)?`
	imageComponent    = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`
	imagePattern      = regexp.MustCompile(`^(?:` + imageDomain + `/)?` + imageComponent + `(?:/` + imageComponent + `)*$`)
)

// validRepo reports whether s is a GitHub "owner/name".
func validRepo(s string) bool {
	if !repoPattern.MatchString(s) {
		return false
	}
	name := s[strings.IndexByte(s, '/')+1:]
	return name != "." && name != ".."
}

// validBranch reports whether s is a usable git branch name.
func validBranch(s string) bool {
	if s == "" || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") ||
		strings.HasSuffix(s, ".lock") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") ||
		strings.Contains(s, "//") || strings.Contains(s, "@{") || s == "@" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`~^:?*[\`, r) {
			return false
		}
	}
	return true
}

// imageProblem says what is wrong with an image repository, or "".
func imageProblem(s string) string {
	switch {
	case strings.Contains(s, "@"):
		return "want a repository without a digest (the digest is resolved per commit)"
	case strings.Contains(s[strings.LastIndexByte(s, '/')+1:], ":"):
		return "want a repository without a tag (the tag is set per commit by build.tag)"
	case len(s) > 255 || !imagePattern.MatchString(s):
		return "not a valid image repository (want e.g. registry.example.org/team/app, lower case)"
	}
	return ""
}

// normalDNSName returns s lower-case without a trailing dot, and whether
// it is a valid DNS name (labels of letters, digits, '-' and '_').
func normalDNSName(s string) (string, bool) {
	n := strings.TrimSuffix(strings.ToLower(s), ".")
	if n == "" || len(n) > 253 {
		return n, false
	}
	for _, l := range strings.Split(n, ".") {
		if !dnsLabelPattern.MatchString(l) {
			return n, false
		}
	}
	return n, true
}

// hostPort checks "host[:port]" and returns it with defaultPort added
// when it has none; defaultPort "" means the port is optional and not added.
func hostPort(s, defaultPort string) (string, bool) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			host, port = strings.Trim(s, "[]"), defaultPort
		} else {
			return s, false
		}
	}
	if !validHost(host) {
		return s, false
	}
	if port != "" {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return s, false
		}
		return net.JoinHostPort(host, port), true
	}
	return host, true
}

// validHost reports whether h is an IP address or a DNS name.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	_, ok := normalDNSName(h)
	return ok && !strings.HasSuffix(h, ".")
}

// checkURL returns a problem with an http(s) API or public URL, or "".
// The URL is never quoted back: it could hold credentials.
func checkURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return "want an absolute http or https URL"
	case u.User != nil:
		return "must not contain credentials (use the token keys)"
	case u.RawQuery != "" || u.Fragment != "":
		return "must not have a query or fragment"
	}
	return ""
}

// validRelPath reports whether p is a relative path that stays inside
// its root (a repository, an image).
func validRelPath(p string) bool {
	c := path.Clean(p)
	return c != "." && fs.ValidPath(c)
}

// validRemotePath reports whether p is safe to put in a command on a host;
// abs requires an absolute path.
func validRemotePath(p string, abs bool) bool {
	if !remotePathPattern.MatchString(p) || (abs && !path.IsAbs(p)) {
		return false
	}
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return false
		}
	}
	return true
}

// validMember reports whether s may be a group member.
func validMember(s string) bool {
	return userIDPattern.MatchString(s) || userGroupPattern.MatchString(s)
}
