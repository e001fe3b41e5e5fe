package config

import (
	"strings"
	"text/template"
	"unicode"

	cs "github.com/countersign/countersign"
)

// services decodes the services list. References to engines and hosts,
// and duplicate names, are checked by crossCheck.
func (d *decoder) services(parent *object, key string) []Service {
	var out []Service
	for i, n := range parent.list(key) {
		p := item(parent.sub(key), i)
		d.SetLine(p, n.Line)
		o := d.object(n, p)
		out = append(out, d.service(o))
		o.done()
	}
	return out
}

func (d *decoder) service(o *object) Service {
	o.require("name", "kind", "channel", "image")
	s := Service{
		Name:         o.str("name"),
		Kind:         o.str("kind"),
		Repo:         o.str("repo"),
		Branch:       o.str("branch"),
		Channel:      o.str("channel"),
		Image:        o.str("image"),
		Engine:       o.str("engine"),
		SwarmService: o.str("swarm_service"),
		Host:         o.str("host"),
	}
	if s.Name != "" && !cs.ValidServiceName(s.Name) {
		d.addAt(o.sub("name"), "%s is not a valid service name (a letter, then letters, digits, - and _; at most 63)", quote(s.Name))
	}
	if s.Channel != "" && !channelPattern.MatchString(s.Channel) {
		d.addAt(o.sub("channel"), "want a Slack channel ID (C…, G…, D…) or #name, got %s", quote(s.Channel))
	}
	if s.Image != "" {
		if msg := imageProblem(s.Image); msg != "" {
			d.addAt(o.sub("image"), "%s", msg)
		}
	}
	d.serviceRepo(o, &s)
	d.servicePullRequests(o, &s)
	d.serviceKind(o, &s)
	if o.has("verify") {
		s.Verify = d.verify(o.obj("verify"))
	}
	return s
}

// serviceRepo checks repo, branch and build, which go together: pushes to
// the branch of the repo get an image by the build.
func (d *decoder) serviceRepo(o *object, s *Service) {
	hasBuild := o.has("build")
	if hasBuild {
		s.Build = d.build(o.obj("build"), s.Branch)
	}
	switch {
	case s.Repo != "":
		if !validRepo(s.Repo) {
			d.addAt(o.sub("repo"), "want a GitHub repository owner/name, got %s", quote(s.Repo))
		}
		if s.Branch == "" {
			d.add(o.line, o.sub("branch"), "required with repo")
		} else if !validBranch(s.Branch) {
			d.addAt(o.sub("branch"), "not a valid branch name: %s", quote(s.Branch))
		}
		if !hasBuild {
			d.add(o.line, o.sub("build"), "required with repo (mode docker or wait)")
		}
	case hasBuild:
		d.add(o.line, o.sub("repo"), "required when build is configured")
	case s.Branch != "":
		d.addAt(o.sub("branch"), "only with repo")
	}
}

// serviceKind checks what each kind needs and refuses what belongs to the
// other kind.
func (d *decoder) serviceKind(o *object, s *Service) {
	hasUnikernel := o.has("unikernel")
	if hasUnikernel {
		s.Unikernel = d.unikernel(o.obj("unikernel"), s.Name)
	}
	switch s.Kind {
	case KindSwarm:
		o.require("engine")
		if s.SwarmService == "" {
			s.SwarmService = s.Name
		} else if !swarmPattern.MatchString(s.SwarmService) {
			d.addAt(o.sub("swarm_service"), "not a valid Swarm service name: %s", quote(s.SwarmService))
		}
		for _, k := range []string{"host", "unikernel"} {
			if o.has(k) {
				d.addAt(o.sub(k), "only for kind albatross")
			}
		}
	case KindAlbatross:
		o.require("host", "unikernel")
		for _, k := range []string{"engine", "swarm_service"} {
			if o.has(k) {
				d.addAt(o.sub(k), "only for kind swarm")
			}
		}
	case KindBuild:
		d.buildOnly(o, s)
	case "":
	default:
		d.addAt(o.sub("kind"), "want %q, %q or %q, got %s", KindSwarm, KindAlbatross, KindBuild, quote(s.Kind))
	}
}

func (d *decoder) build(o *object, branch string) Build {
	o.require("mode")
	b := Build{
		Mode:       o.str("mode"),
		Engine:     o.str("engine"),
		Dockerfile: o.str("dockerfile"),
		Target:     o.str("target"),
		Tag:        o.str("tag"),
	}
	if args := o.obj("args"); args != nil {
		for _, k := range args.entries() {
			if b.Args == nil {
				b.Args = map[string]string{}
			}
			if !buildArgPattern.MatchString(k) {
				d.addAt(args.sub(k), "%s is not a build argument name (letters, digits and _)", quote(k))
			}
			b.Args[k] = args.str(k)
		}
		args.done()
	}
	switch b.Mode {
	case BuildDocker:
		o.require("engine")
		if b.Dockerfile == "" {
			b.Dockerfile = DefaultDockerfile
		} else if !validRelPath(b.Dockerfile) {
			d.addAt(o.sub("dockerfile"), "want a path inside the repository, got %s", quote(b.Dockerfile))
		}
	case BuildWait:
		for _, k := range []string{"engine", "dockerfile", "target", "args"} {
			if o.has(k) {
				d.addAt(o.sub(k), "only for mode docker")
			}
		}
	case "":
	default:
		d.addAt(o.sub("mode"), "want %q or %q, got %s", BuildDocker, BuildWait, quote(b.Mode))
	}
	if b.Tag == "" {
		b.Tag = DefaultTag
	} else if msg := tagProblem(b.Tag, branch); msg != "" {
		d.addAt(o.sub("tag"), "%s", msg)
	}
	var ok bool
	if b.Timeout, ok = o.duration("timeout"); !ok {
		b.Timeout = DefaultBuildTimeout
	}
	o.done()
	return b
}

func (d *decoder) unikernel(o *object, service string) Unikernel {
	u := Unikernel{
		Name:          o.str("name"),
		Binary:        o.str("binary"),
		Net:           o.strs("net"),
		Block:         o.strs("block"),
		Args:          o.strs("args"),
		RestartOnFail: o.bool("restart_on_fail"),
		Command:       o.str("command"),
		Keep:          DefaultKeep,
	}
	if u.Command != "" {
		if _, err := template.New("command").Option("missingkey=error").Parse(u.Command); err != nil {
			d.addAt(o.sub("command"), "not a valid template: %v", err)
		}
	}
	if u.Name == "" {
		u.Name = service
	} else if !cs.ValidServiceName(u.Name) {
		d.addAt(o.sub("name"), "%s is not a valid unikernel name (a letter, then letters, digits, - and _; at most 63)", quote(u.Name))
	}
	if u.Binary == "" {
		u.Binary = DefaultBinary
	} else if !validRelPath(u.Binary) || !validRemotePath(u.Binary, false) {
		d.addAt(o.sub("binary"), "want a relative path in the image (letters, digits, -_./+), got %s", quote(u.Binary))
	}
	if v, ok := o.int("memory"); ok {
		u.Memory = v
		if v < 1 {
			d.addAt(o.sub("memory"), "must be at least 1 (MB)")
		}
	}
	if v, ok := o.int("cpus"); ok {
		u.CPUs = v
		if v < 0 {
			d.addAt(o.sub("cpus"), "must not be negative")
		}
	}
	if v, ok := o.int("keep"); ok {
		u.Keep = v
		if v < 1 {
			d.addAt(o.sub("keep"), "must be at least 1 (the running image is kept)")
		}
	}
	for _, l := range []struct {
		key   string
		words []string
	}{{"net", u.Net}, {"block", u.Block}} {
		for i, w := range l.words {
			if w != "" && !remoteWordPattern.MatchString(w) {
				d.addAt(item(o.sub(l.key), i), "want a name or name:device of letters, digits and -_.:, got %s", quote(w))
			}
		}
	}
	for i, a := range u.Args {
		if strings.IndexFunc(a, unicode.IsControl) >= 0 {
			d.addAt(item(o.sub("args"), i), "must not contain control characters")
		}
	}
	o.done()
	return u
}
