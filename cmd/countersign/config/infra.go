package config

import (
	"net/url"
	"path"
	"strings"

	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
)

// registries decodes the registry credentials list.
func (d *decoder) registries(parent *object, key string) []Registry {
	var out []Registry
	seen := map[string]string{}
	for i, n := range parent.List(key) {
		p := strictyaml.Item(parent.Sub(key), i)
		o := d.object(n, p)
		o.Require("host")
		r := Registry{Host: o.Str("host"), Username: o.Str("username"), Password: o.token("password", nil)}
		if r.Host != "" {
			if hp, ok := hostPort(r.Host, ""); !ok {
				d.AddAt(o.Sub("host"), "want a registry host[:port], got %s", strictyaml.Quote(r.Host))
			} else {
				r.Host = strings.ToLower(hp)
				if first, dup := seen[r.Host]; dup {
					d.AddAt(o.Sub("host"), "duplicate registry %s (also %s)", strictyaml.Quote(r.Host), first)
				}
				seen[r.Host] = p
			}
		}
		switch {
		case r.Username != "" && !o.Has("password") && !o.Has("password_file") && !o.Has("password_env"):
			d.Add(o.line, o.Sub("password"), "required with username")
		case r.Username == "" && !r.Password.IsZero():
			d.Add(o.line, o.Sub("username"), "required with password")
		}
		o.Done()
		out = append(out, r)
	}
	return out
}

// engines decodes the Docker Engines by name.
func (d *decoder) engines(o *object) map[string]Engine { return byName(d, o, "engine", d.engine) }

// byName decodes a mapping from names the file chooses (what: engine,
// host) to objects, each read with decode.
func byName[T any](d *decoder, o *object, what string, decode func(*object) T) map[string]T {
	out := map[string]T{}
	for _, name := range o.Entries() {
		e := o.obj(name)
		d.checkName(o.Sub(name), name, what)
		out[name] = decode(e)
		e.Done()
	}
	return out
}

func (d *decoder) engine(o *object) Engine {
	o.Require("host")
	e := Engine{
		Host:       o.Str("host"),
		SSHKey:     o.sshKey("ssh_key"),
		KnownHosts: o.knownHosts("known_hosts"),
	}
	ca, cert, key := o.localFile("ca_file", false), o.localFile("cert_file", false), o.localFile("key_file", true)
	e.CAFile, e.CertFile, e.KeyFile = ca.path, cert.path, key.path
	o.checkTLS(ca, cert, key)
	scheme := ""
	if e.Host != "" {
		if msg := engineHostProblem(e.Host); msg != "" {
			d.AddAt(o.Sub("host"), "%s", msg)
		} else {
			scheme = e.Host[:strings.Index(e.Host, "://")]
		}
	}
	if scheme == "" {
		return e
	}
	for _, k := range []string{"ssh_key", "ssh_key_file", "ssh_key_env", "known_hosts"} {
		if scheme != "ssh" && o.Has(k) {
			d.AddAt(o.Sub(k), "only for ssh:// hosts")
		}
	}
	for _, k := range []string{"ca_file", "cert_file", "key_file"} {
		if scheme != "tcp" && o.Has(k) {
			d.AddAt(o.Sub(k), "only for tcp:// hosts")
		}
	}
	if scheme == "ssh" && !o.Has("known_hosts") {
		d.Add(o.line, o.Sub("known_hosts"), "required for ssh:// hosts (host keys are checked strictly)")
	}
	if scheme == "tcp" && !o.Has("cert_file") && !o.Has("key_file") {
		d.Add(o.line, o.Sub("cert_file"), "required for tcp:// hosts: the Docker API is only spoken over TLS with a client certificate")
	}
	if scheme == "tcp" && e.CertFile != "" && e.KeyFile == "" {
		d.Add(o.line, o.Sub("key_file"), "required with cert_file")
	}
	if scheme == "tcp" && e.KeyFile != "" && e.CertFile == "" {
		d.Add(o.line, o.Sub("cert_file"), "required with key_file")
	}
	return e
}

// engineHostProblem returns what is wrong with a Docker host URL, or "".
// A URL with a password is never shown.
func engineHostProblem(s string) string {
	u, err := url.Parse(s)
	if err != nil || !strings.Contains(s, "://") {
		if strings.Contains(s, "@") {
			return "want unix:///path, tcp://host:port or ssh://user@host"
		}
		return "want unix:///path, tcp://host:port or ssh://user@host, got " + strictyaml.Quote(s)
	}
	if u.User != nil {
		if _, hasPass := u.User.Password(); hasPass && u.Scheme == "tcp" {
			return "must not contain a password (use cert_file and key_file)"
		} else if hasPass {
			return "must not contain a password (use ssh_key)"
		}
	}
	switch u.Scheme {
	case "unix":
		if u.Host != "" || !path.IsAbs(u.Path) {
			return "want unix:///absolute/path, got " + strictyaml.Quote(s)
		}
	case "tcp":
		if _, ok := hostPort(u.Host, ""); !ok || u.Port() == "" || u.Path != "" && u.Path != "/" {
			return "want tcp://host:port, got " + strictyaml.Quote(s)
		}
	case "ssh":
		if _, ok := hostPort(u.Host, ""); !ok || u.User == nil || u.User.Username() == "" || u.Path != "" && u.Path != "/" {
			return "want ssh://user@host[:port], got " + strictyaml.Quote(s)
		}
	default:
		return "unsupported scheme " + strictyaml.Quote(u.Scheme) + " (want unix://, tcp:// or ssh://)"
	}
	return ""
}

// hosts decodes the Albatross hosts by name.
func (d *decoder) hosts(o *object) map[string]Host { return byName(d, o, "host", d.host) }

func (d *decoder) host(o *object) Host {
	o.Require("address", "user", "known_hosts")
	h := Host{
		Address:         o.Str("address"),
		User:            o.Str("user"),
		SSHKey:          o.sshKey("ssh_key"),
		KnownHosts:      o.knownHosts("known_hosts"),
		AlbatrossClient: o.Str("albatross_client"),
		Socket:          o.Str("socket"),
		Dir:             o.Str("dir"),
	}
	if h.Address != "" {
		if hp, ok := hostPort(h.Address, "22"); ok {
			h.Address = hp
		} else {
			d.AddAt(o.Sub("address"), "want host[:port], got %s", strictyaml.Quote(h.Address))
		}
	}
	if h.User != "" && !unixUserPattern.MatchString(h.User) {
		d.AddAt(o.Sub("user"), "not a valid user name: %s", strictyaml.Quote(h.User))
	}
	if h.AlbatrossClient == "" {
		h.AlbatrossClient = DefaultAlbatrossClient
	} else if !validRemotePath(h.AlbatrossClient, false) {
		d.AddAt(o.Sub("albatross_client"), "want a command or path of letters, digits and -_./+ (it runs on the host), got %s", strictyaml.Quote(h.AlbatrossClient))
	}
	if h.Socket != "" && !validRemotePath(h.Socket, true) {
		d.AddAt(o.Sub("socket"), "want an absolute path of letters, digits and -_./+ (it is used on the host), got %s", strictyaml.Quote(h.Socket))
	}
	if h.Dir == "" {
		h.Dir = DefaultHostDir
	} else if !validRemotePath(h.Dir, true) {
		d.AddAt(o.Sub("dir"), "want an absolute path of letters, digits and -_./+ (it is used on the host), got %s", strictyaml.Quote(h.Dir))
	}
	return h
}

// checkName checks the name of an engine, host or group.
func (d *decoder) checkName(p, name, what string) {
	if !namePattern.MatchString(name) {
		d.AddAt(p, "%s is not a valid %s name (letters, digits, -_., at most 63)", strictyaml.Quote(name), what)
	}
}
