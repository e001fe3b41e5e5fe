package config

import (
	"net/url"
	"path"
	"strings"
)

// registries decodes the registry credentials list.
func (d *decoder) registries(parent *object, key string) []Registry {
	var out []Registry
	seen := map[string]string{}
	for i, n := range parent.list(key) {
		p := item(parent.sub(key), i)
		o := d.object(n, p)
		o.require("host")
		r := Registry{Host: o.str("host"), Username: o.str("username"), Password: o.token("password", nil)}
		if r.Host != "" {
			if hp, ok := hostPort(r.Host, ""); !ok {
				d.addAt(o.sub("host"), "want a registry host[:port], got %s", quote(r.Host))
			} else {
				r.Host = strings.ToLower(hp)
				if first, dup := seen[r.Host]; dup {
					d.addAt(o.sub("host"), "duplicate registry %s (also %s)", quote(r.Host), first)
				}
				seen[r.Host] = p
			}
		}
		switch {
		case r.Username != "" && !o.has("password") && !o.has("password_file") && !o.has("password_env"):
			d.add(o.line, o.sub("password"), "required with username")
		case r.Username == "" && !r.Password.IsZero():
			d.add(o.line, o.sub("username"), "required with password")
		}
		o.done()
		out = append(out, r)
	}
	return out
}

// engines decodes the Docker Engines by name.
func (d *decoder) engines(o *object) map[string]Engine {
	out := map[string]Engine{}
	for _, name := range o.entries() {
		e := o.obj(name)
		d.checkName(o.sub(name), name, "engine")
		out[name] = d.engine(e)
		e.done()
	}
	return out
}

func (d *decoder) engine(o *object) Engine {
	o.require("host")
	e := Engine{
		Host:       o.str("host"),
		SSHKey:     o.sshKey("ssh_key"),
		KnownHosts: o.knownHosts("known_hosts"),
	}
	ca, cert, key := o.localFile("ca_file", false), o.localFile("cert_file", false), o.localFile("key_file", true)
	e.CAFile, e.CertFile, e.KeyFile = ca.path, cert.path, key.path
	o.checkTLS(ca, cert, key)
	scheme := ""
	if e.Host != "" {
		if msg := engineHostProblem(e.Host); msg != "" {
			d.addAt(o.sub("host"), "%s", msg)
		} else {
			scheme = e.Host[:strings.Index(e.Host, "://")]
		}
	}
	if scheme == "" {
		return e
	}
	for _, k := range []string{"ssh_key", "ssh_key_file", "ssh_key_env", "known_hosts"} {
		if scheme != "ssh" && o.has(k) {
			d.addAt(o.sub(k), "only for ssh:// hosts")
		}
	}
	for _, k := range []string{"ca_file", "cert_file", "key_file"} {
		if scheme != "tcp" && o.has(k) {
			d.addAt(o.sub(k), "only for tcp:// hosts")
		}
	}
	if scheme == "ssh" && !o.has("known_hosts") {
		d.add(o.line, o.sub("known_hosts"), "required for ssh:// hosts (host keys are checked strictly)")
	}
	if scheme == "tcp" && !o.has("cert_file") && !o.has("key_file") {
		d.add(o.line, o.sub("cert_file"), "required for tcp:// hosts: the Docker API is only spoken over TLS with a client certificate")
	}
	if scheme == "tcp" && e.CertFile != "" && e.KeyFile == "" {
		d.add(o.line, o.sub("key_file"), "required with cert_file")
	}
	if scheme == "tcp" && e.KeyFile != "" && e.CertFile == "" {
		d.add(o.line, o.sub("cert_file"), "required with key_file")
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
		return "want unix:///path, tcp://host:port or ssh://user@host, got " + quote(s)
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
			return "want unix:///absolute/path, got " + quote(s)
		}
	case "tcp":
		if _, ok := hostPort(u.Host, ""); !ok || u.Port() == "" || u.Path != "" && u.Path != "/" {
			return "want tcp://host:port, got " + quote(s)
		}
	case "ssh":
		if _, ok := hostPort(u.Host, ""); !ok || u.User == nil || u.User.Username() == "" || u.Path != "" && u.Path != "/" {
			return "want ssh://user@host[:port], got " + quote(s)
		}
	default:
		return "unsupported scheme " + quote(u.Scheme) + " (want unix://, tcp:// or ssh://)"
	}
	return ""
}

// hosts decodes the Albatross hosts by name.
func (d *decoder) hosts(o *object) map[string]Host {
	out := map[string]Host{}
	for _, name := range o.entries() {
		h := o.obj(name)
		d.checkName(o.sub(name), name, "host")
		out[name] = d.host(h)
		h.done()
	}
	return out
}

func (d *decoder) host(o *object) Host {
	o.require("address", "user", "known_hosts")
	h := Host{
		Address:         o.str("address"),
		User:            o.str("user"),
		SSHKey:          o.sshKey("ssh_key"),
		KnownHosts:      o.knownHosts("known_hosts"),
		AlbatrossClient: o.str("albatross_client"),
		Socket:          o.str("socket"),
		Dir:             o.str("dir"),
	}
	if h.Address != "" {
		if hp, ok := hostPort(h.Address, "22"); ok {
			h.Address = hp
		} else {
			d.addAt(o.sub("address"), "want host[:port], got %s", quote(h.Address))
		}
	}
	if h.User != "" && !unixUserPattern.MatchString(h.User) {
		d.addAt(o.sub("user"), "not a valid user name: %s", quote(h.User))
	}
	if h.AlbatrossClient == "" {
		h.AlbatrossClient = DefaultAlbatrossClient
	} else if !validRemotePath(h.AlbatrossClient, false) {
		d.addAt(o.sub("albatross_client"), "want a command or path of letters, digits and -_./+ (it runs on the host), got %s", quote(h.AlbatrossClient))
	}
	if h.Socket != "" && !validRemotePath(h.Socket, true) {
		d.addAt(o.sub("socket"), "want an absolute path of letters, digits and -_./+ (it is used on the host), got %s", quote(h.Socket))
	}
	if h.Dir == "" {
		h.Dir = DefaultHostDir
	} else if !validRemotePath(h.Dir, true) {
		d.addAt(o.sub("dir"), "want an absolute path of letters, digits and -_./+ (it is used on the host), got %s", quote(h.Dir))
	}
	return h
}

// checkName checks the name of an engine, host or group.
func (d *decoder) checkName(p, name, what string) {
	if !namePattern.MatchString(name) {
		d.addAt(p, "%s is not a valid %s name (letters, digits, -_., at most 63)", quote(name), what)
	}
}
