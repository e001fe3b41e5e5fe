package config

import (
	"errors"
	"fmt"
	"strings"
	"text/template"

	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
)

// TagData is what a build.tag template sees.
type TagData struct {
	SHA      string // full commit SHA
	ShortSHA string // its first 7 characters
	Branch   string
}

// RenderTag returns the image tag for a commit on branch. Load has
// already checked that the template renders to a valid tag that depends
// on the commit; an error here means the branch makes it invalid.
func (b Build) RenderTag(sha, branch string) (string, error) {
	t, err := parseTag(b.Tag)
	if err != nil {
		return "", fmt.Errorf("parse tag template: %w", err)
	}
	return execTag(t, sha, branch)
}

func parseTag(tmpl string) (*template.Template, error) {
	return template.New("tag").Option("missingkey=error").Parse(tmpl)
}

func execTag(t *template.Template, sha, branch string) (string, error) {
	short := sha
	if len(short) > 7 {
		short = short[:7]
	}
	var sb strings.Builder
	if err := t.Execute(&sb, TagData{SHA: sha, ShortSHA: short, Branch: branch}); err != nil {
		return "", fmt.Errorf("render tag template: %w", err)
	}
	tag := sb.String()
	if !dockerTagPattern.MatchString(tag) {
		return "", fmt.Errorf("tag %s is not a valid image tag (letters, digits, _.-, at most 128)", strictyaml.Quote(tag))
	}
	return tag, nil
}

// Sample commits for checking a tag template.
const (
	sampleSHA1 = "0123456789abcdef0123456789abcdef01234567"
	sampleSHA2 = "fedcba9876543210fedcba9876543210fedcba98"
)

// tagProblem says what is wrong with a tag template, or "": it must parse,
// use only .SHA, .ShortSHA and .Branch, give a valid tag for branch, and
// differ between commits (a fixed tag would deploy whatever it points at).
func tagProblem(tmpl, branch string) string {
	if branch == "" {
		branch = "main"
	}
	t, err := parseTag(tmpl)
	if err != nil {
		return "invalid template: " + strings.TrimPrefix(err.Error(), "template: ")
	}
	a, err := execTag(t, sampleSHA1, branch)
	var te template.ExecError
	switch {
	case errors.As(err, &te):
		return "invalid template: " + strings.TrimPrefix(te.Err.Error(), "template: ") + " (it may use .SHA, .ShortSHA and .Branch)"
	case err != nil:
		return err.Error()
	}
	if b, _ := execTag(t, sampleSHA2, branch); a == b {
		return "the tag must depend on the commit (use {{.SHA}} or {{.ShortSHA}})"
	}
	return ""
}
