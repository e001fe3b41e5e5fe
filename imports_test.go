package countersign_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/countersign/countersign"

// allowedImports says which of our packages a package may import, by the
// importer's directory, so that imports point one way only: the root
// (the vocabulary) imports nothing of ours, commands and policies only
// the root, bot the root, commands and policies, adapters (bot/…) and
// executors the root and bot (executors may share executors/registry and
// executors/sshclient), cmd everything but the config file's generic
// decoder (strictYAML), which knows YAML and not the domain: it imports
// only the root, for EditDistance.
func allowedImports(dir, imp string) bool {
	switch {
	case dir == strictYAML:
		return imp == "."
	case strings.HasPrefix(dir, "cmd/"):
		return true
	case dir == ".":
		return false
	case dir == "commands" || dir == "policies":
		return imp == "."
	case dir == "bot":
		return imp == "." || imp == "commands" || imp == "policies"
	case dir == "bot/bottest":
		return imp == "." || imp == "bot" || imp == "bot/store"
	case strings.HasPrefix(dir, "bot/"):
		return imp == "." || imp == "bot" || strings.HasPrefix(imp, dir+"/")
	case dir == "web":
		return imp == "." || imp == "bot"
	case strings.HasPrefix(dir, "executors/"):
		return imp == "." || imp == "bot" || imp == "executors/registry" || imp == "executors/sshclient" || strings.HasPrefix(imp, dir+"/")
	}
	return false
}

// testHelper reports whether dir is a package of test stand-ins
// (bot/bottest, bot/store/storetest, bot/slack/slacktest, …): only tests
// and other test helpers may import one.
func testHelper(dir string) bool {
	return strings.HasSuffix(dir[strings.LastIndex(dir, "/")+1:], "test")
}

// strictYAML is the generic strict YAML decoder under the config package.
const strictYAML = "cmd/countersign/config/strictyaml"

// thirdParty lists the outside modules each package may use: one outside
// system per executor, the store's bbolt, YAML for the decoder, nothing
// for the pure packages.
var thirdParty = map[string][]string{
	strictYAML:                     {"gopkg.in/yaml.v3"},
	"bot/slack":                    {"github.com/slack-go/slack", "github.com/gorilla/websocket", "github.com/prometheus/client_golang/"},
	"bot/github":                   {"github.com/google/go-github/v60/", "github.com/bradleyfalzon/ghinstallation/v2"},
	"bot/store":                    {"go.etcd.io/bbolt"},
	"bot/slack/slacktest":          {"github.com/gorilla/websocket", "github.com/slack-go/slack"},
	"bot/store/storetest":          {"go.etcd.io/bbolt"},
	"executors/registry":           {"github.com/google/go-containerregistry/"},
	"executors/dns":                {"github.com/miekg/dns"},
	"executors/dns/bindtest":       {"github.com/miekg/dns"},
	"executors/sshclient":          {"golang.org/x/crypto/ssh"},
	"executors/sshclient/sshdtest": {"golang.org/x/crypto/ssh"},
	"executors/swarm":              {"github.com/docker/docker/", "github.com/docker/go-connections/", "github.com/containerd/errdefs", "golang.org/x/crypto/ssh"},
	"executors/albatross":          {"github.com/google/go-containerregistry/", "golang.org/x/crypto/ssh"},
	"executors/build":              {"github.com/docker/docker/", "github.com/containerd/errdefs", "github.com/google/go-containerregistry/"},
	dockerTest:                     {"github.com/docker/docker/client", "github.com/google/go-containerregistry/pkg/registry"},
}

// dockerTest is the Docker Engine test fixture the executors' tests share:
// only tests import it (allowedImports keeps it out of the executors).
const dockerTest = "executors/dockertest"

// allowedThirdParty reports whether a non-test file in dir may import the
// outside package imp. cmd wires everything and may import anything, but
// for the packages under it that thirdParty lists.
func allowedThirdParty(dir, imp string) bool {
	allowed, listed := thirdParty[dir]
	if !listed && strings.HasPrefix(dir, "cmd/") {
		return true
	}
	for _, p := range allowed {
		if imp == p || strings.HasPrefix(imp, p) || strings.HasPrefix(imp, p+"/") {
			return true
		}
	}
	return false
}

// TestImports_PointOneWay fails when a non-test file imports one of our
// packages against the layout's direction.
func TestImports_PointOneWay(t *testing.T) {
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				stdlib := !strings.Contains(strings.Split(imp, "/")[0], ".")
				if !stdlib && !allowedThirdParty(dir, imp) {
					t.Errorf("%s imports %s: %s may not depend on it", path, imp, dir)
				}
				continue
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if rel == "" {
				rel = "."
			}
			checked++
			if !allowedImports(dir, rel) {
				t.Errorf("%s imports %s: %s may not import %s", path, imp, dir, rel)
			}
			if testHelper(rel) && !testHelper(dir) {
				t.Errorf("%s imports %s: test helpers are for tests only", path, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no imports of our own packages found: the walk is broken")
	}
}

func TestAllowedImports(t *testing.T) {
	for _, tc := range []struct {
		dir, imp string
		want     bool
	}{
		{"policies", "bot", false},
		{"policies", ".", true},
		{"commands", "policies", false},
		{".", "commands", false},
		{"bot", "bot/store", false},
		{"bot", "executors/dryrun", false},
		{"bot/store", "bot", true},
		{"bot/bottest", "bot/store", true},
		{"bot/bottest", ".", true},
		{"bot/bottest", "policies", false},
		{"bot/bottest", "bot/slack", false},
		{"bot/slack", "bot/store", false},
		{"web", "bot", true},
		{"web", "bot/store", false},
		{"bot", "web", false},
		{"bot/shell", "executors/dryrun", false},
		{"executors/dryrun", "bot", true},
		{"executors/swarm", "bot/store", false},
		{"executors/albatross", "executors/registry", true},
		{"executors/swarm", dockerTest, false},
		{"executors/build", dockerTest, false},
		{"cmd/countersign", "bot/store", true},
		{"cmd/countersign/config", strictYAML, true},
		{strictYAML, ".", true},
		{strictYAML, "cmd/countersign/config", false},
		{strictYAML, "policies", false},
	} {
		if got := allowedImports(tc.dir, tc.imp); got != tc.want {
			t.Errorf("allowedImports(%q, %q) = %v, want %v", tc.dir, tc.imp, got, tc.want)
		}
	}
}

func TestTestHelper(t *testing.T) {
	for dir, want := range map[string]bool{
		"bot/bottest": true, "bot/store/storetest": true, "bot/slack/slacktest": true, "bot/bodytest": true,
		"bot": false, "bot/store": false, "cmd/countersign": false, ".": false, "web": false,
	} {
		if got := testHelper(dir); got != want {
			t.Errorf("testHelper(%q) = %v, want %v", dir, got, want)
		}
	}
}

func TestAllowedThirdParty(t *testing.T) {
	for _, tc := range []struct {
		dir, imp string
		want     bool
	}{
		{strictYAML, "gopkg.in/yaml.v3", true},
		{strictYAML, "github.com/miekg/dns", false},
		{"cmd/countersign/config", "gopkg.in/yaml.v3", true},
		{"cmd/countersign", "github.com/docker/docker/client", true},
		{"policies", "gopkg.in/yaml.v3", false},
		{"executors/dns", "github.com/miekg/dns", true},
		{dockerTest, "github.com/docker/docker/client", true},
		{dockerTest, "github.com/docker/docker/api/types/swarm", false},
	} {
		if got := allowedThirdParty(tc.dir, tc.imp); got != tc.want {
			t.Errorf("allowedThirdParty(%q, %q) = %v, want %v", tc.dir, tc.imp, got, tc.want)
		}
	}
}
