package registry

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
)

// TagData is what a service's tag template (build.tag in the config) may
// refer to: {{.SHA}}, {{.ShortSHA}} and {{.Branch}}.
type TagData struct {
	SHA    string // the full commit hash
	Branch string // the branch pushed to, e.g. "live-web"
}

// ShortSHA returns the first 7 characters of SHA (all of it if shorter).
func (d TagData) ShortSHA() string {
	if len(d.SHA) > 7 {
		return d.SHA[:7]
	}
	return d.SHA
}

// tagPattern is the OCI distribution spec's grammar for a tag.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// validTag reports whether s may be used as an image tag.
func validTag(s string) bool { return tagPattern.MatchString(s) }

// Tag renders a tag template such as "live-mirage-hvt-{{.SHA}}" with data.
// A template that does not parse, refers to anything but the fields of
// TagData, or renders something that is not a valid tag (letters, digits,
// '_', '.', '-'; at most 128; not starting with '.' or '-') gives an error
// wrapping ErrBadTag.
func Tag(tmpl string, data TagData) (string, error) {
	t, err := template.New("tag").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("tag template %q: %w: %s", tmpl, ErrBadTag, templateError(err))
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("tag template %q: %w: %s (it may use {{.SHA}}, {{.ShortSHA}} and {{.Branch}})", tmpl, ErrBadTag, templateError(err))
	}
	tag := b.String()
	if !validTag(tag) {
		return "", fmt.Errorf("tag template %q gives %q: %w: a tag is 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", tmpl, tag, ErrBadTag)
	}
	return tag, nil
}

// templateError drops text/template's "template: tag:1:2: " prefix, which
// means nothing to the author of a one-line template.
func templateError(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "template: tag:"); ok {
		// rest is "LINE[:COL]: message" or "LINE:COL: executing ...: message".
		if i := strings.LastIndex(rest, ": "); i >= 0 {
			return rest[i+2:]
		}
	}
	return msg
}
