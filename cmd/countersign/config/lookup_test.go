package config

import "testing"

func TestConfig_Service(t *testing.T) {
	c := &Config{Services: []Service{{Name: "www"}, {Name: "next"}}}
	for _, tc := range []struct {
		name   string
		wantOK bool
	}{{"www", true}, {"next", true}, {"WWW", false}, {"", false}} {
		got, ok := c.Service(tc.name)
		if ok != tc.wantOK || ok && got.Name != tc.name {
			t.Errorf("Service(%q): got %q, %v, want ok %v", tc.name, got.Name, ok, tc.wantOK)
		}
	}
}

func TestConfig_ZoneFor(t *testing.T) {
	c := &Config{DNS: []Zone{{Zone: "mirageos.org"}, {Zone: "ci.mirageos.org"}, {Zone: "example.org"}}}
	for _, tc := range []struct {
		name string
		want string // "" for none
	}{
		{"mirageos.org", "mirageos.org"},
		{"www.mirageos.org.", "mirageos.org"},
		{"WWW.MirageOS.org", "mirageos.org"},
		{"ci.mirageos.org", "ci.mirageos.org"},
		{"a.b.ci.mirageos.org.", "ci.mirageos.org"},
		{"xmirageos.org", ""},
		{"org", ""},
		{"", ""},
	} {
		z, ok := c.ZoneFor(tc.name)
		if ok != (tc.want != "") || z.Zone != tc.want {
			t.Errorf("ZoneFor(%q): got %q, %v, want %q", tc.name, z.Zone, ok, tc.want)
		}
	}
}

func TestIdentities_SlackUser(t *testing.T) {
	i := Identities{GitHub: map[string]string{"talex5": "U0OPS0001"}}
	for _, tc := range []struct{ login, want string }{{"talex5", "U0OPS0001"}, {"TalEx5", "U0OPS0001"}, {"hannesm", ""}} {
		if got, ok := i.SlackUser(tc.login); got != tc.want || ok != (tc.want != "") {
			t.Errorf("SlackUser(%q): got %q, %v, want %q", tc.login, got, ok, tc.want)
		}
	}
}

func TestBuild_RenderTag(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		tag, branch, want string
		wantErr           bool
	}{
		{"{{.SHA}}", "main", sha, false},
		{"live-{{.ShortSHA}}", "main", "live-0123456", false},
		{"{{.Branch}}-{{.ShortSHA}}", "next", "next-0123456", false},
		{"{{.Branch}}-{{.ShortSHA}}", "feature/x", "", true},
	} {
		got, err := Build{Tag: tc.tag}.RenderTag(sha, tc.branch)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("RenderTag(%q, %q): got %q, %v, want %q (error %v)", tc.tag, tc.branch, got, err, tc.want, tc.wantErr)
		}
	}
}
