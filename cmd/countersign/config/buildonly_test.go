package config

import "testing"

func TestParse_BuildOnlyProblems(t *testing.T) {
	base := infra + "services:\n  - name: lib\n    kind: build\n    channel: C0DEPLOYS\n    image: r.example.org/lib\n"
	withRepo := base + "    repo: org/lib\n    branch: main\n    build: {mode: docker, engine: local}\n"
	runCases(t, []problemCase{
		{"needs a repo", base, []string{`services[0].repo: required with kind build (its pushes and pull requests are what it builds)`}},
		{"no deploy target", withRepo + "    engine: local\n    swarm_service: s\n    host: dopey\n    unikernel: {}\n    verify: {url: \"https://x.example.org/\", for: 1m, every: 10s, on_failure: alert}\n", []string{
			`services[0].engine: not for kind build: a build-only service is never deployed`,
			`services[0].swarm_service: not for kind build: a build-only service is never deployed`,
			`services[0].host: not for kind build: a build-only service is never deployed`,
			`services[0].unikernel: not for kind build: a build-only service is never deployed`,
			`services[0].verify: not for kind build: a build-only service is never deployed`,
		}},
	})
}

func TestParse_BuildOnly(t *testing.T) {
	y := infra + "services:\n  - name: lib\n    kind: build\n    channel: C0DEPLOYS\n    image: r.example.org/lib\n" +
		"    repo: org/lib\n    branch: main\n    build: {mode: docker, engine: local}\n    pull_requests: true\n"
	cfg, err := Options{Dir: t.TempDir(), LookupEnv: env(nil)}.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Services[0]; s.Kind != KindBuild || s.Engine != "" || s.Host != "" || !s.PullRequests || s.Build.Engine != "local" {
		t.Errorf("service %+v", s)
	}
}
