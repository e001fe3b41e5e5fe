package config

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	cs "github.com/countersign/countersign"
	"gopkg.in/yaml.v3"
)

// maxSecretFile bounds a secret file; an SSH key is a few kilobytes.
const maxSecretFile = 1 << 20

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secret reads the secret key given inline (key), from a file (key_file,
// one trailing newline trimmed) or from the environment (key_env). At most
// one form may be given; none gives the zero Secret. Problems name the
// key, never the value.
func (o *object) secret(key string) cs.Secret {
	forms := []string{key, key + "_file", key + "_env"}
	var given []string
	for _, f := range forms {
		if o.has(f) {
			given = append(given, f)
		}
	}
	for _, f := range forms {
		o.get(f) // known, and its line remembered, even when null
	}
	if len(given) == 0 {
		return cs.Secret{}
	}
	if len(given) > 1 {
		o.d.addAt(o.sub(given[1]), "%s is also given: give only one of %s, %s or %s",
			given[0], forms[0], forms[1], forms[2])
		return cs.Secret{}
	}
	f := given[0]
	path := o.sub(f)
	s := o.str(f)
	if s == "" {
		if n := o.get(f); n != nil && n.Kind == yaml.ScalarNode {
			o.d.addAt(path, "empty")
		}
		return cs.Secret{}
	}
	switch f {
	case key:
		return cs.NewSecret(s)
	case key + "_file":
		return o.d.readSecretFile(path, s)
	default:
		return o.d.readSecretEnv(path, s)
	}
}

// readSecretFile reads a secret file named at path.
func (d *decoder) readSecretFile(path, name string) cs.Secret {
	file := d.localPath(name)
	f, err := os.Open(file)
	if err != nil {
		d.addAt(path, "cannot read %q: %v", file, pathErrorCause(err))
		return cs.Secret{}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	switch {
	case err != nil:
		d.addAt(path, "cannot read %q: %v", file, pathErrorCause(err))
		return cs.Secret{}
	case len(b) > maxSecretFile:
		d.addAt(path, "%q is larger than 1 MiB", file)
		return cs.Secret{}
	}
	v := string(b)
	if strings.HasSuffix(v, "\r\n") {
		v = v[:len(v)-2]
	} else {
		v = strings.TrimSuffix(v, "\n")
	}
	if v == "" {
		d.addAt(path, "%q is empty", file)
		return cs.Secret{}
	}
	return cs.NewSecret(v)
}

// readSecretEnv reads a secret from the environment variable name.
func (d *decoder) readSecretEnv(path, name string) cs.Secret {
	if !envName.MatchString(name) {
		d.addAt(path, "%q is not an environment variable name", name)
		return cs.Secret{}
	}
	v, ok := d.opts.lookupEnv(name)
	switch {
	case !ok:
		d.addAt(path, "environment variable %s is not set", name)
		return cs.Secret{}
	case v == "":
		d.addAt(path, "environment variable %s is empty", name)
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

// filePath reads key as a local file path, resolves it, and when
// Options.CheckFiles is set checks that it can be read.
func (o *object) filePath(key string) string {
	p := o.localPath(key)
	if p != "" && o.d.opts.CheckFiles {
		if f, err := os.Open(p); err != nil {
			o.d.addAt(o.sub(key), "cannot read %q: %v", p, pathErrorCause(err))
		} else {
			st, err := f.Stat()
			if err == nil && st.IsDir() {
				o.d.addAt(o.sub(key), "%q is a directory", p)
			}
			f.Close()
		}
	}
	return p
}

// localPath reads key as a local path and resolves it, without checking it.
func (o *object) localPath(key string) string {
	return o.d.localPath(o.str(key))
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
