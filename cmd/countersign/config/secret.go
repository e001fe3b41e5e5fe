package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	cs "github.com/countersign/countersign"
	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
	"gopkg.in/yaml.v3"
)

// maxSecretFile bounds a secret file; an SSH key is a few kilobytes.
const maxSecretFile = 1 << 20

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secret reads the secret key given inline (key), from a file (key_file,
// one trailing newline trimmed) or from the environment (key_env). At most
// one form may be given; none gives the zero Secret. Problems name the
// key, never the value.
func (o *object) secret(key string) cs.Secret { return o.secretValue(key).Secret }

// secretValue is a secret as read, and where it came from, for the checks
// made of it after.
type secretValue struct {
	cs.Secret
	path string // the key it was given by: x, x_file or x_env
	from string // how a problem names it: "the value", the file's name (quoted) or "environment variable NAME"
	file bool   // read from a file
}

// secretValue is secret, also saying where the value came from.
func (o *object) secretValue(key string) secretValue {
	forms := []string{key, key + "_file", key + "_env"}
	var given []string
	for _, f := range forms {
		if o.Has(f) {
			given = append(given, f)
		}
	}
	for _, f := range forms {
		o.Get(f) // known, and its line remembered, even when null
	}
	if len(given) == 0 {
		return secretValue{}
	}
	if len(given) > 1 {
		o.d.AddAt(o.Sub(given[1]), "%s is also given: give only one of %s, %s or %s",
			given[0], forms[0], forms[1], forms[2])
		return secretValue{}
	}
	f := given[0]
	v := secretValue{path: o.Sub(f)}
	s := o.Str(f)
	if s == "" {
		if n := o.Get(f); n != nil && n.Kind == yaml.ScalarNode {
			o.d.AddAt(v.path, "empty")
		}
		return secretValue{}
	}
	switch f {
	case key:
		v.Secret, v.from = cs.NewSecret(s), "the value"
		o.d.warnInline(v.path, key)
	case key + "_file":
		file := o.d.localPath(s)
		v.Secret, v.from, v.file = o.d.readSecretFile(v.path, file), quotePath(file), true
	default:
		v.Secret, v.from = o.d.readSecretEnv(v.path, s), "environment variable "+s
	}
	return v
}

// token reads a secret that is sent as it is: a bearer token, a password,
// an HMAC key. It must not contain whitespace, which no server takes and
// which a blank line at the end of its file leaves; shape, if not nil,
// says what else is wrong with it. A refused token reads as the zero
// Secret.
func (o *object) token(key string, shape func(string) string) cs.Secret {
	v := o.secretValue(key)
	if v.IsZero() || o.d.unread(v.Secret) {
		return v.Secret
	}
	s := v.Reveal()
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		hint := "a token is one word"
		if v.file && strings.IndexFunc(strings.TrimRightFunc(s, unicode.IsSpace), unicode.IsSpace) < 0 {
			hint = "a blank line at the end of the file?"
		}
		o.d.AddAt(v.path, "%s contains whitespace (%s)", v.from, hint)
		return cs.Secret{}
	}
	if shape != nil {
		if msg := shape(s); msg != "" {
			o.d.AddAt(v.path, "%s %s", v.from, msg)
			return cs.Secret{}
		}
	}
	return v.Secret
}

// sshKey reads an SSH private key; with CheckFiles it must be one the
// SSH client can use.
func (o *object) sshKey(key string) cs.Secret {
	v := o.secretValue(key)
	if !v.IsZero() && !o.d.unread(v.Secret) && o.d.opts.CheckFiles {
		if msg := sshKeyProblem([]byte(v.Reveal())); msg != "" {
			o.d.AddAt(v.path, "%s %s", v.from, msg)
		}
	}
	return v.Secret
}

// unreadSecret is what a secret given by file or environment holds under
// Options.NoSecrets: not zero, so that it counts as given.
var unreadSecret = cs.NewSecret("\x00unread (Options.NoSecrets)")

// unread reports whether s is a secret left unread under NoSecrets,
// whose value must not be checked.
func (d *decoder) unread(s cs.Secret) bool { return d.opts.NoSecrets && s == unreadSecret }

// readSecretFile reads the secret file (resolved) named at path. A file
// group or others may read gets a warning.
func (d *decoder) readSecretFile(path, file string) cs.Secret {
	if d.opts.NoSecrets {
		return unreadSecret
	}
	b, mode, ok := d.readFile(path, file, maxSecretFile)
	if !ok {
		return cs.Secret{}
	}
	v := string(b)
	if strings.HasSuffix(v, "\r\n") {
		v = v[:len(v)-2]
	} else {
		v = strings.TrimSuffix(v, "\n")
	}
	if v == "" {
		d.AddAt(path, "%s is empty", quotePath(file))
		return cs.Secret{}
	}
	d.warnMode(path, file, mode)
	return cs.NewSecret(v)
}

// warnInline warns about a secret given inline (at path, by key) in a
// config file group or others may read, as warnMode does a secret file.
func (d *decoder) warnInline(path, key string) {
	if perm := d.src.mode.Perm(); d.src.path != "" && perm&0o077 != 0 {
		d.WarnAt(path, "inline in %s, which has mode %04o: group or others may read it (chmod 600 it, or give %s_file)",
			quotePath(d.src.path), perm, key)
	}
}

// readSecretEnv reads a secret from the environment variable name.
func (d *decoder) readSecretEnv(path, name string) cs.Secret {
	if !envName.MatchString(name) {
		d.AddAt(path, "%s is not an environment variable name", strictyaml.Quote(name))
		return cs.Secret{}
	}
	if d.opts.NoSecrets {
		return unreadSecret
	}
	v, ok := d.opts.lookupEnv(name)
	switch {
	case !ok:
		d.AddAt(path, "environment variable %s is not set", name)
		return cs.Secret{}
	case v == "":
		d.AddAt(path, "environment variable %s is empty", name)
		return cs.Secret{}
	}
	return cs.NewSecret(v)
}

// localPath resolves a path on this machine named in the config:
// relative paths against Options.Dir, absolute ones under Options.Root.
func (d *decoder) localPath(p string) string {
	if p == "" {
		return ""
	}
	if filepath.IsAbs(p) {
		if d.opts.Root != "" {
			return filepath.Join(d.opts.Root, p)
		}
		return filepath.Clean(p)
	}
	if d.opts.Dir != "" {
		return filepath.Join(d.opts.Dir, p)
	}
	return filepath.Clean(p)
}

// localPath reads key as a local path and resolves it, without checking it.
func (o *object) localPath(key string) string {
	return o.d.localPath(o.Str(key))
}

// pathErrorCause drops the operation and path from a *fs.PathError, which
// the message already shows.
func pathErrorCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
