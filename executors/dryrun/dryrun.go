// Package dryrun holds the dry-run executors: they describe exactly what
// the real executor would do for a request, report it step by step, and
// change nothing. `--dry-run` and `countersign demo` use them. Every
// description and step says DRY RUN, so nobody mistakes one for a change.
package dryrun

import (
	"context"
	"fmt"
	"strings"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/bot"
)

// Swarm stands in for the Docker Swarm executor of one service.
type Swarm struct {
	Service    string // Swarm service name
	Engine     string // engine name in the config
	EngineHost string // its address: unix://…, tcp://…, ssh://…
}

// Albatross stands in for the Albatross executor of one unikernel.
type Albatross struct {
	Unikernel     string
	Binary        string // path of the binary inside the image
	Host          string // host name in the config
	Address       string // host:port
	User          string
	Dir           string // remote directory for this unikernel's images
	Client        string // albatross-client path
	Socket        string
	Memory, CPUs  int
	Net, Block    []string
	Args          []string
	RestartOnFail bool
}

// DNS stands in for the RFC 2136 executor of one zone. It never holds the
// TSIG secret, so it cannot show it.
type DNS struct {
	Zone, Server, Key, Algorithm string
}

var (
	_ bot.Executor = (*Swarm)(nil)
	_ bot.Executor = (*Albatross)(nil)
	_ bot.Executor = (*DNS)(nil)
)

const notRead = "current state not read: the dry-run executor has no access to it"

// Describe says what the Swarm executor would do.
func (s *Swarm) Describe(_ context.Context, r cs.Request) (string, error) {
	steps, err := s.steps(r)
	if err != nil {
		return "", err
	}
	return "DRY RUN: " + strings.Join(steps, "; then ") + " (" + notRead + ")", nil
}

func (s *Swarm) steps(r cs.Request) ([]string, error) {
	where := fmt.Sprintf("Swarm service %s on engine %s (%s)", s.Service, s.Engine, s.EngineHost)
	switch r.Action.Kind {
	case cs.ActionDeploy, cs.ActionRollback:
		return []string{
			fmt.Sprintf("would set the image of %s to %s, keeping the rest of its spec", where, r.Action.Image),
			"would follow the update until Docker reports it completed",
		}, nil
	case cs.ActionScale:
		return []string{
			fmt.Sprintf("would set %s to %d replicas", where, r.Action.Replicas),
			"would wait until the running tasks match",
		}, nil
	}
	return nil, fmt.Errorf("swarm executor cannot %s", r.Action.Kind)
}

// Execute reports the steps and changes nothing.
func (s *Swarm) Execute(ctx context.Context, r cs.Request, progress func(string) error) (bot.Result, error) {
	steps, err := s.steps(r)
	if err != nil {
		return bot.Result{}, err
	}
	return report(ctx, steps, progress, r.Action.Image)
}

// Describe says what the Albatross executor would do.
func (a *Albatross) Describe(_ context.Context, r cs.Request) (string, error) {
	steps, err := a.steps(r)
	if err != nil {
		return "", err
	}
	return "DRY RUN: " + strings.Join(steps, "; then ") + " (" + notRead + ")", nil
}

func (a *Albatross) createCommand(file string) string {
	args := []string{a.Client, "create", a.Unikernel, file, "--force"}
	if a.Socket != "" {
		args = append(args, "--socket="+a.Socket)
	}
	if a.Memory > 0 {
		args = append(args, "--mem", fmt.Sprint(a.Memory))
	}
	if a.CPUs > 0 {
		args = append(args, "--cpu", fmt.Sprint(a.CPUs))
	}
	for _, x := range a.Args {
		args = append(args, "--arg="+x)
	}
	for _, n := range a.Net {
		args = append(args, "--net", n)
	}
	for _, b := range a.Block {
		args = append(args, "--block", b)
	}
	if a.RestartOnFail {
		args = append(args, "--restart-on-fail")
	}
	for i, x := range args {
		args[i] = shellQuote(x)
	}
	return strings.Join(args, " ")
}

func (a *Albatross) steps(r cs.Request) ([]string, error) {
	host := fmt.Sprintf("%s@%s (%s)", a.User, a.Address, a.Host)
	file := a.Dir + "/" + a.Unikernel + "/<sha256>.hvt"
	switch r.Action.Kind {
	case cs.ActionDeploy:
		return []string{
			fmt.Sprintf("would stream %s out of %s", a.Binary, r.Action.Image),
			fmt.Sprintf("would upload it over SSH to %s as %s, checking the host key", host, file),
			"would check its SHA-256 on the host with sha256sum",
			"would run `" + a.createCommand(file) + "`",
			fmt.Sprintf("would check `%s info %s` shows the new image", a.Client, a.Unikernel),
		}, nil
	case cs.ActionRollback:
		return []string{
			fmt.Sprintf("would re-create %s on %s from the image of deployment %s (%s) kept on the host", a.Unikernel, host, r.Action.Deployment, r.Action.Image),
			"would run `" + a.createCommand(file) + "`",
			fmt.Sprintf("would check `%s info %s` shows that image", a.Client, a.Unikernel),
		}, nil
	}
	return nil, fmt.Errorf("albatross executor cannot %s (unikernels are not scaled)", r.Action.Kind)
}

// Execute reports the steps and changes nothing.
func (a *Albatross) Execute(ctx context.Context, r cs.Request, progress func(string) error) (bot.Result, error) {
	steps, err := a.steps(r)
	if err != nil {
		return bot.Result{}, err
	}
	return report(ctx, steps, progress, r.Action.Image)
}

// Describe says what the DNS executor would send.
func (d *DNS) Describe(_ context.Context, r cs.Request) (string, error) {
	steps, err := d.steps(r)
	if err != nil {
		return "", err
	}
	return "DRY RUN: " + strings.Join(steps, "; then "), nil
}

func (d *DNS) steps(r cs.Request) ([]string, error) {
	c := r.Action.DNS
	if r.Action.Kind != cs.ActionDNS || c == nil {
		return nil, fmt.Errorf("dns executor cannot %s", r.Action.Kind)
	}
	update := fmt.Sprintf("would send an RFC 2136 UPDATE for zone %s to %s signed with TSIG key %s (%s): prerequisite that %s %s is exactly the RRset the approver saw (not read in dry-run)",
		d.Zone, d.Server, d.Key, d.Algorithm, c.Name, c.Type)
	switch c.Op {
	case cs.DNSSet:
		ttl := "the zone's default TTL"
		if c.TTL > 0 {
			ttl = fmt.Sprintf("TTL %d", c.TTL)
		}
		update += fmt.Sprintf("; delete the %s %s RRset; add %s %s %s with %s", c.Name, c.Type, c.Name, c.Type, c.Value, ttl)
	case cs.DNSAdd:
		ttl := "the TTL of the records there (or the zone's default for the first)"
		if c.TTL > 0 {
			ttl = fmt.Sprintf("TTL %d", c.TTL)
		}
		update += fmt.Sprintf("; add %s %s %s with %s, keeping the other %s %s records", c.Name, c.Type, c.Value, ttl, c.Name, c.Type)
	case cs.DNSDelete:
		if c.Value != "" {
			update += fmt.Sprintf("; delete %s %s %s", c.Name, c.Type, c.Value)
		} else {
			update += fmt.Sprintf("; delete the whole %s %s RRset", c.Name, c.Type)
		}
	default:
		return nil, fmt.Errorf("dns executor cannot dns %q", c.Op)
	}
	return []string{update, "would query the primary to verify and report the SOA serial before and after"}, nil
}

// Execute reports the steps and changes nothing.
func (d *DNS) Execute(ctx context.Context, r cs.Request, progress func(string) error) (bot.Result, error) {
	steps, err := d.steps(r)
	if err != nil {
		return bot.Result{}, err
	}
	return report(ctx, steps, progress, "")
}

func report(ctx context.Context, steps []string, progress func(string) error, image string) (bot.Result, error) {
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return bot.Result{}, err
		}
		if err := progress("DRY RUN: " + s); err != nil {
			return bot.Result{}, err
		}
	}
	return bot.Result{Summary: "DRY RUN: nothing was changed", Image: image, DryRun: true}, nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Builder stands in for the Docker builder in dry-runs and the demo: a
// dry run cannot produce the digest of an image it did not build, so it
// says what a real run would build and push, and stops the push thread
// there.
type Builder struct {
	Engine, EngineHost, Dockerfile, Target, Image string
}

var _ bot.Builder = (*Builder)(nil)

// Build reports what it would do and fails: there is no image to deploy.
func (b *Builder) Build(_ context.Context, spec bot.BuildSpec, progress func(string)) (bot.Built, error) {
	target := ""
	if b.Target != "" {
		target = ", target " + b.Target
	}
	progress(fmt.Sprintf("DRY RUN: would fetch %s at %s, build %s%s with engine %s (%s) and push %s:%s",
		spec.Repo, spec.SHA, b.Dockerfile, target, b.Engine, b.EngineHost, b.Image, spec.Tag))
	return bot.Built{}, fmt.Errorf("DRY RUN: nothing was built, so there is no digest to deploy")
}
