package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/countersign/countersign/cmd/countersign/config"
	"github.com/countersign/countersign/executors/registry"
)

//go:embed demo.yaml
var demoConfig string

// Commits the demo registry holds images for.
const (
	demoWWW1    = "5f3c9a1e7b2d4c6f8a0b1c2d3e4f5a6b7c8d9e0f"
	demoWWW2    = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	demoOpam    = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807"
	demoOCamlCI = "0d1e2f3a4b5c6d7e8f901a2b3c4d5e6f7a8b9c0d"
)

func demoImages() []registry.DemoImage {
	hvt := func(sha string) map[string][]byte {
		return map[string][]byte{"unikernel.hvt": []byte("demo MirageOS unikernel (not a real one), commit " + sha + "\n")}
	}
	app := func(name, sha string) map[string][]byte {
		return map[string][]byte{"app/" + name: []byte("demo service binary (not a real one), commit " + sha + "\n")}
	}
	return []registry.DemoImage{
		{Repo: "ocurrentbuilder/staging", Tag: "live-mirage-hvt-" + demoWWW1, Files: hvt(demoWWW1)},
		{Repo: "ocurrentbuilder/staging", Tag: "live-mirage-hvt-" + demoWWW2, Files: hvt(demoWWW2)},
		{Repo: "ocurrent/opam.ocaml.org", Tag: "live-" + demoOpam[:7], Files: app("opam", demoOpam)},
		{Repo: "ocurrent/ocaml-ci-web", Tag: demoOCamlCI, Files: app("ocaml-ci-web", demoOCamlCI)},
	}
}

const demoIntro = `Countersign demo — DRY RUN: the executors only describe what they would do;
nothing outside this process is changed. Images come from an in-process
registry at %[1]s; the database is %[2]s.
%[6]s
People: U0DEV0001 (devs), U0OPS0001 U0OPS0002 U0OPS0003 (ops), U0WWW0001 (www-owners).
GitHub logins: hannesm is U0WWW0001, talex5 is U0OPS0001.
24 Dec – 4 Jan (London) is a change freeze: add --break-glass REASON.

Type a line as a user (@USER TEXT) or inject a push (push REPO BRANCH SHA LOGIN):
  push mirage/mirage-www master %[3]s hannesm
  @U0WWW0001 approve R1       refused: hannesm wrote the commit
  @U0OPS0001 approve R1       1 of 2: www needs one of ops and one of www-owners
  push mirage/mirage-www master %[4]s talex5
                              R2 supersedes R1; its approvals do not carry over
  @U0WWW0001 approve R2
  @U0OPS0002 approve R2       2 of 2: it runs (dry run)
  push ocurrent/opam.ocaml.org live %[5]s talex5
                              branch live deploys without approval
  @U0DEV0001 deploy www %[3]s
                              a downgrade: the card lists the commits it takes away
  @U0OPS0003 approve R4
  @U0DEV0001 rollback www     back to R2's image, then www is locked against pushes
  @U0OPS0001 dns set ci.mirageos.org A 128.232.124.253 10800
  @U0OPS0001 status
  @U0OPS0001 policy explain deploy www @U0DEV0001
  @U0OPS0001 audit www
  @U0OPS0001 help
End with Ctrl-D.

`

// demo runs `countersign demo [--db FILE]`: the shell in dry-run with the
// built-in config, an in-process registry and a temporary database.
func (m *Main) demo(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	dbPath := fs.String("db", "", "keep the database in FILE (default: a temporary file, removed at exit)")
	quiet := fs.Bool("quiet", false, "do not print the introduction (nor serve the status page, whose token it prints)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(m.Stderr, "usage: countersign demo [--db FILE] [--quiet]")
		return exitUsage
	}
	reg, err := registry.StartDemo(ctx, demoImages())
	if err != nil {
		return m.failf("start the demo registry: %v", err)
	}
	defer reg.Close()
	dir, err := os.MkdirTemp("", "countersign-demo-")
	if err != nil {
		return m.failf("%v", err)
	}
	defer os.RemoveAll(dir)
	cfg, err := config.Parse([]byte(strings.ReplaceAll(demoConfig, "{{REGISTRY}}", reg.URL)), dir, func(string) (string, bool) { return "", false })
	if err != nil {
		return m.failf("built-in demo config: %v", err)
	}
	cfg.Path = "(built-in demo config)"
	cfg.DB = filepath.Join(dir, "countersign.db")
	if *dbPath != "" {
		cfg.DB = *dbPath
	}
	if *quiet {
		return m.runShell(ctx, cfg, modeSimulated, demoResolver(), nil)
	}
	pages, err := listenDemoPages()
	if err != nil {
		return m.failf("%v", err)
	}
	defer pages.Close()
	status := fmt.Sprintf("\nStatus page: %s — sign in with token %s (this run only)\n", pages.URL, pages.Token)
	fmt.Fprintf(m.Stdout, demoIntro, reg.URL, cfg.DB, demoWWW1, demoWWW2, demoOpam, status)
	return m.runShell(ctx, cfg, modeSimulated, demoResolver(), pages.start)
}

// demoResolver polls the in-process registry often, so that waits for
// images are short.
func demoResolver() *registry.Resolver {
	return &registry.Resolver{PollInterval: 250 * time.Millisecond}
}
