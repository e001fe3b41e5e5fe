package config

import (
	"strings"
	"testing"
)

// svc is a valid wait-built Albatross service whose build and unikernel
// the cases finish.
const svc = infra + `services:
  - name: www
    kind: albatross
    repo: mirage/mirage-www
    branch: main
    channel: C0DEPLOYS
    image: r.example.org/www
    host: dopey
`

func TestParse_BuildProblems(t *testing.T) {
	runCases(t, []problemCase{
		{"mode required", svc + "    unikernel: {}\n    build: {tag: \"{{.SHA}}\"}\n", []string{`services[0].build.mode: required`}},
		{"mode unknown", svc + "    unikernel: {}\n    build: {mode: pull}\n", []string{`services[0].build.mode: want "docker" or "wait", got "pull"`}},
		{"docker needs engine", svc + "    unikernel: {}\n    build: {mode: docker}\n", []string{`services[0].build.engine: required`}},
		{"unknown build engine", svc + "    unikernel: {}\n    build: {mode: docker, engine: lcl}\n", []string{`services[0].build.engine: unknown engine "lcl"`}},
		{"wait refuses docker keys", svc + "    unikernel: {}\n    build: {mode: wait, engine: local, dockerfile: D}\n", []string{
			`services[0].build.engine: only for mode docker`, `services[0].build.dockerfile: only for mode docker`,
		}},
		{"dockerfile outside the repo", svc + "    unikernel: {}\n    build: {mode: docker, engine: local, dockerfile: ../D}\n", []string{
			`services[0].build.dockerfile: want a path inside the repository, got "../D"`,
		}},
		{"tag does not parse", svc + "    unikernel: {}\n    build: {mode: wait, tag: \"{{.SHA\"}\n", []string{
			`services[0].build.tag: invalid template: tag:1: unclosed action`,
		}},
		{"tag uses an unknown field", svc + "    unikernel: {}\n    build: {mode: wait, tag: \"{{.Commit}}\"}\n", []string{
			`services[0].build.tag: invalid template: tag:1:2: executing "tag" at <.Commit>: can't evaluate field Commit in type config.TagData (it may use .SHA, .ShortSHA and .Branch)`,
		}},
		{"tag is fixed", svc + "    unikernel: {}\n    build: {mode: wait, tag: latest}\n", []string{
			`services[0].build.tag: the tag must depend on the commit (use {{.SHA}} or {{.ShortSHA}})`,
		}},
		{"tag renders invalid", svc + "    unikernel: {}\n    build: {mode: wait, tag: \"{{.SHA}}/x\"}\n", []string{
			`services[0].build.tag: tag "0123456789abcdef0123456789abcdef01234567/x" is not a valid image tag (letters, digits, _.-, at most 128)`,
		}},
		{"timeout unparsable", svc + "    unikernel: {}\n    build: {mode: wait, timeout: 50}\n", []string{
			`services[0].build.timeout: invalid duration "50" (want e.g. 30m, 2h)`,
		}},
		{"timeout negative", svc + "    unikernel: {}\n    build: {mode: wait, timeout: -5m}\n", []string{
			`services[0].build.timeout: duration "-5m" must be positive`,
		}},
		{"build unknown key", svc + "    unikernel: {}\n    build: {mode: wait, context: .}\n", []string{
			`services[0].build.context: unknown key`,
		}},
	})
}

func TestParse_UnikernelProblems(t *testing.T) {
	b := svc + "    build: {mode: wait}\n"
	runCases(t, []problemCase{
		{"name", b + "    unikernel: {name: \"www;rm\"}\n", []string{
			`services[0].unikernel.name: "www;rm" is not a valid unikernel name (a letter, then letters, digits, - and _; at most 63)`,
		}},
		{"binary outside the image", b + "    unikernel: {binary: /etc/passwd}\n", []string{
			`services[0].unikernel.binary: want a relative path in the image (letters, digits, -_./+), got "/etc/passwd"`,
		}},
		{"memory type", b + "    unikernel: {memory: lots}\n", []string{`services[0].unikernel.memory: want an integer, got "lots"`}},
		{"memory zero", b + "    unikernel: {memory: 0}\n", []string{`services[0].unikernel.memory: must be at least 1 (MB)`}},
		{"cpus negative", b + "    unikernel: {cpus: -1}\n", []string{`services[0].unikernel.cpus: must not be negative`}},
		{"keep zero", b + "    unikernel: {keep: 0}\n", []string{`services[0].unikernel.keep: must be at least 1 (the running image is kept)`}},
		{"net word", b + "    unikernel: {net: [\"service:br0\", \"a b\"]}\n", []string{
			`services[0].unikernel.net[1]: want a name or name:device of letters, digits and -_.:, got "a b"`,
		}},
		{"block word", b + "    unikernel: {block: [\"$(x)\"]}\n", []string{
			`services[0].unikernel.block[0]: want a name or name:device of letters, digits and -_.:, got "$(x)"`,
		}},
		{"args control character", b + "    unikernel: {args: [\"--a=1\\n--b\"]}\n", []string{
			`services[0].unikernel.args[0]: must not contain control characters`,
		}},
		{"args not a list", b + "    unikernel: {args: --tls=true}\n", []string{`services[0].unikernel.args: want a list, got a string`}},
		{"restart_on_fail type", b + "    unikernel: {restart_on_fail: yes}\n", []string{
			`services[0].unikernel.restart_on_fail: want true or false, got "yes"`,
		}},
		{"command template", b + "    unikernel: {command: \"mirage-redeploy {{.Name\"}\n", []string{
			`services[0].unikernel.command: not a valid template: template: command:1: unclosed action`,
		}},
		{"unknown key", b + "    unikernel: {memroy: 1}\n", []string{`services[0].unikernel.memroy: unknown key (did you mean "memory"?)`}},
	})
}

func TestServices_DockerBuildTargetAndArgs(t *testing.T) {
	base := `
db: x.db
engines: {local: {host: "unix:///var/run/docker.sock"}}
services:
  - name: www
    kind: swarm
    repo: mirage/mirage-www
    branch: master
    channel: C0DEPLOYS
    image: registry.example.org/www
    engine: local
    build:
      mode: docker
      engine: local
      target: hvt
      args: {EXTRA_FLAGS: "--tls=true", BAD-NAME: x}
`
	_, err := Parse([]byte(base), t.TempDir(), noEnv)
	if err == nil || !strings.Contains(err.Error(), `services[0].build.args.BAD-NAME: "BAD-NAME" is not a build argument name`) {
		t.Fatalf("bad arg name: %v", err)
	}
	cfg, err := Parse([]byte(strings.Replace(base, ", BAD-NAME: x", "", 1)), t.TempDir(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if b := cfg.Services[0].Build; b.Target != "hvt" || b.Args["EXTRA_FLAGS"] != "--tls=true" {
		t.Errorf("build = %+v", b)
	}
}

func noEnv(string) (string, bool) { return "", false }

func TestGitHub_AppCredentials(t *testing.T) {
	for _, tc := range []struct{ github, want string }{
		{`{app_id: 12, installation_id: 34, private_key: "-----BEGIN RSA PRIVATE KEY-----"}`, ""},
		{`{app_id: 12, private_key: k}`, "github.app_id: a GitHub App needs app_id, installation_id and private_key together"},
		{`{app_id: 12, installation_id: 34}`, "github.app_id: a GitHub App needs app_id, installation_id and private_key together"},
		{`{token: t, app_id: 12, installation_id: 34, private_key: k}`, "github.token: give token or a GitHub App"},
		{`{}`, ""},
	} {
		cfg, err := Parse([]byte("db: x.db\ngithub: "+tc.github+"\n"), t.TempDir(), noEnv)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.github, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.github, err, tc.want)
		case tc.want == "" && tc.github == "{}" && cfg.GitHub.Reports():
			t.Error("no credentials, yet Reports()")
		}
	}
}
