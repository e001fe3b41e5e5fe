package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestTag(t *testing.T) {
	sha := "0123456789abcdef0123456789abcdef01234567"
	data := TagData{SHA: sha, Branch: "live-web"}
	tests := []struct {
		name     string
		template string
		data     TagData
		want     string // "" when an error is expected
		wantText string // in the error
	}{
		{"SHA", "live-mirage-hvt-{{.SHA}}", data, "live-mirage-hvt-" + sha, ""},
		{"ShortSHA and Branch", "{{.Branch}}-{{.ShortSHA}}", data, "live-web-0123456", ""},
		{"short SHA shorter than 7", "{{.ShortSHA}}", TagData{SHA: "abc"}, "abc", ""},
		{"plain", "latest", data, "latest", ""},
		{"bad syntax", "live-{{.SHA}", data, "", "bad character"},
		{"unclosed action", "live-{{.SHA", data, "", "unclosed action"},
		{"unknown field", "{{.Commit}}", data, "", "Commit"},
		{"unknown function", "{{lower .SHA}}", data, "", "lower"},
		{"slash from branch", "{{.Branch}}-{{.SHA}}", TagData{SHA: sha, Branch: "feature/x"}, "", "feature/x-"},
		{"space", "live {{.SHA}}", data, "", "gives"},
		{"empty", "{{.Branch}}", TagData{SHA: sha}, "", "gives \"\""},
		{"leading dash", "-{{.SHA}}", data, "", "gives"},
		{"too long", strings.Repeat("x", 100) + "{{.SHA}}", data, "", "128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Tag(tt.template, tt.data)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Errorf("Tag() = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrBadTag) {
				t.Fatalf("Tag() = %q, %v; want ErrBadTag", got, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantText) || !strings.Contains(msg, tt.template) {
				t.Errorf("error %q does not say %q and name the template", msg, tt.wantText)
			}
			if strings.Contains(msg, "template: tag:") {
				t.Errorf("error %q carries text/template's prefix", msg)
			}
		})
	}
}
