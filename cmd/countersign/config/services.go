package config

import (
	"strings"
	"text/template"
	"unicode"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
)

// services decodes the services list. References to engines and hosts,
// and duplicate names, are checked by crossCheck.
func (d *decoder) services(parent *object, key string) []Service {
	var out []Service
	for i, n := range parent.List(key) {
		p := strictyaml.Item(parent.Sub(key), i)
		d.SetLine(p, n.Line)
		o := d.object(n, p)
		out = append(out, d.service(o))
		o.Done()
	}
	return out
}

func (d *decoder) service(o *object) Service {
	o.Require("name", "kind", "channel", "image")
	s := Service{
		Name:         o.Str("name"),
		Kind:         o.Str("kind"),
		Repo:         o.Str("repo"),
		Branch:       o.Str("branch"),
		Channel:      o.Str("channel"),
		Image:        o.Str("image"),
		Engine:       o.Str("engine"),
		SwarmService: o.Str("swarm_service"),
		Host:         o.Str("host"),
	}
	if s.Name != "" && !cs.ValidServiceName(s.Name) {
		d.AddAt(o.Sub("name"), "%s is not a valid service name (a letter, then letters, digits, - and _; at most 63)", strictyaml.Quote(s.Name))
	}
	d.notReserved(o.Sub("name"), "service", s.Name)
	if s.Channel != "" && !channelPattern.MatchString(s.Channel) {
		d.AddAt(o.Sub("channel"), "want a Slack channel ID (C…, G…, D…) or #name, got %s", strictyaml.Quote(s.Channel))
	}
	if s.Image != "" {
		if msg := imageProblem(s.Image); msg != "" {
			d.AddAt(o.Sub("image"), "%s", msg)
		}
	}
	d.serviceRepo(o, &s)
	d.servicePullRequests(o, &s)
	d.serviceKind(o, &s)
	if o.Has("verify") {
		s.Verify = d.verify(o.obj("verify"))
	}
	return s
}

// notReserved refuses a service or gate named as the target of config
// changes (action policy): a policy for that target would cover both,
// and `/cs approve`, locks and the audit filter could not tell them apart.
func (d *decoder) notReserved(at, what, name string) {
	if name == cs.TargetPolicies {
		d.AddAt(at, "%s %s is reserved: it is the target of config changes (action policy); choose another name", what, strictyaml.Quote(name))
	}
}

// serviceRepo checks repo, branch and build, which go together: pushes to
// the branch of the repo get an image by the build.
func (d *decoder) serviceRepo(o *object, s *Service) {
	hasBuild := o.Has("build")
	if hasBuild {
		s.Build = d.build(o.obj("build"), s.Branch)
	}
	switch {
	case s.Repo != "":
		if !validRepo(s.Repo) {
			d.AddAt(o.Sub("repo"), "want a GitHub repository owner/name, got %s", strictyaml.Quote(s.Repo))
		}
		if s.Branch == "" {
			d.Add(o.line, o.Sub("branch"), "required with repo")
		} else if !validBranch(s.Branch) {
			d.AddAt(o.Sub("branch"), "not a valid branch name: %s", strictyaml.Quote(s.Branch))
		}
		if !hasBuild {
			d.Add(o.line, o.Sub("build"), "required with repo (mode docker or wait)")
		}
	case hasBuild:
		d.Add(o.line, o.Sub("repo"), "required when build is configured")
	case s.Branch != "":
		d.AddAt(o.Sub("branch"), "only with repo")
	}
}

// serviceKind checks what each kind needs and refuses what belongs to the
// other kind.
func (d *decoder) serviceKind(o *object, s *Service) {
	hasUnikernel := o.Has("unikernel")
	if hasUnikernel {
		s.Unikernel = d.unikernel(o.obj("unikernel"), s.Name)
	}
	switch s.Kind {
	case KindSwarm:
		o.Require("engine")
		if s.SwarmService == "" {
			s.SwarmService = s.Name
		} else if !swarmPattern.MatchString(s.SwarmService) {
			d.AddAt(o.Sub("swarm_service"), "not a valid Swarm service name: %s", strictyaml.Quote(s.SwarmService))
		}
		for _, k := range []string{"host", "unikernel"} {
			if o.Has(k) {
				d.AddAt(o.Sub(k), "only for kind albatross")
			}
		}
	case KindAlbatross:
		o.Require("host", "unikernel")
		for _, k := range []string{"engine", "swarm_service"} {
			if o.Has(k) {
				d.AddAt(o.Sub(k), "only for kind swarm")
			}
		}
	case KindBuild:
		d.buildOnly(o, s)
	case "":
	default:
		d.AddAt(o.Sub("kind"), "want %q, %q or %q, got %s", KindSwarm, KindAlbatross, KindBuild, strictyaml.Quote(s.Kind))
	}
}

func (d *decoder) build(o *object, branch string) Build {
	o.Require("mode")
	b := Build{
		Mode:       o.Str("mode"),
		Engine:     o.Str("engine"),
		Dockerfile: o.Str("dockerfile"),
		Target:     o.Str("target"),
		Tag:        o.Str("tag"),
	}
	if args := o.obj("args"); args != nil {
		for _, k := range args.Entries() {
			if b.Args == nil {
				b.Args = map[string]string{}
			}
			if !buildArgPattern.MatchString(k) {
				d.AddAt(args.Sub(k), "%s is not a build argument name (letters, digits and _)", strictyaml.Quote(k))
			}
			b.Args[k] = args.Str(k)
		}
		args.Done()
	}
	switch b.Mode {
	case BuildDocker:
		o.Require("engine")
		if b.Dockerfile == "" {
			b.Dockerfile = DefaultDockerfile
		} else if !validRelPath(b.Dockerfile) {
			d.AddAt(o.Sub("dockerfile"), "want a path inside the repository, got %s", strictyaml.Quote(b.Dockerfile))
		}
	case BuildWait:
		for _, k := range []string{"engine", "dockerfile", "target", "args"} {
			if o.Has(k) {
				d.AddAt(o.Sub(k), "only for mode docker")
			}
		}
	case "":
	default:
		d.AddAt(o.Sub("mode"), "want %q or %q, got %s", BuildDocker, BuildWait, strictyaml.Quote(b.Mode))
	}
	if b.Tag == "" {
		b.Tag = DefaultTag
	} else if msg := tagProblem(b.Tag, branch); msg != "" {
		d.AddAt(o.Sub("tag"), "%s", msg)
	}
	var ok bool
	if b.Timeout, ok = o.Duration("timeout"); !ok {
		b.Timeout = DefaultBuildTimeout
	}
	o.Done()
	return b
}

func (d *decoder) unikernel(o *object, service string) Unikernel {
	u := Unikernel{
		Name:          o.Str("name"),
		Binary:        o.Str("binary"),
		Net:           o.Strs("net"),
		Block:         o.Strs("block"),
		Args:          o.Strs("args"),
		RestartOnFail: o.Bool("restart_on_fail"),
		Command:       o.Str("command"),
		Keep:          DefaultKeep,
	}
	if u.Command != "" {
		if _, err := template.New("command").Option("missingkey=error").Parse(u.Command); err != nil {
			d.AddAt(o.Sub("command"), "not a valid template: %v", err)
		}
	}
	if u.Name == "" {
		u.Name = service
	} else if !cs.ValidServiceName(u.Name) {
		d.AddAt(o.Sub("name"), "%s is not a valid unikernel name (a letter, then letters, digits, - and _; at most 63)", strictyaml.Quote(u.Name))
	}
	if u.Binary == "" {
		u.Binary = DefaultBinary
	} else if !validRelPath(u.Binary) || !validRemotePath(u.Binary, false) {
		d.AddAt(o.Sub("binary"), "want a relative path in the image (letters, digits, -_./+), got %s", strictyaml.Quote(u.Binary))
	}
	if v, ok := o.Int("memory"); ok {
		u.Memory = v
		if v < 1 {
			d.AddAt(o.Sub("memory"), "must be at least 1 (MB)")
		}
	}
	if v, ok := o.Int("cpus"); ok {
		u.CPUs = v
		if v < 0 {
			d.AddAt(o.Sub("cpus"), "must not be negative")
		}
	}
	if v, ok := o.Int("keep"); ok {
		u.Keep = v
		if v < 1 {
			d.AddAt(o.Sub("keep"), "must be at least 1 (the running image is kept)")
		}
	}
	for _, l := range []struct {
		key   string
		words []string
	}{{"net", u.Net}, {"block", u.Block}} {
		for i, w := range l.words {
			if w != "" && !remoteWordPattern.MatchString(w) {
				d.AddAt(strictyaml.Item(o.Sub(l.key), i), "want a name or name:device of letters, digits and -_.:, got %s", strictyaml.Quote(w))
			}
		}
	}
	for i, a := range u.Args {
		if strings.IndexFunc(a, unicode.IsControl) >= 0 {
			d.AddAt(strictyaml.Item(o.Sub("args"), i), "must not contain control characters")
		}
	}
	o.Done()
	return u
}
