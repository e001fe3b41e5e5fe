package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
)

// Options tunes how a file is loaded. The zero value loads as Load does;
// `serve` and `config check` should also set CheckFiles.
type Options struct {
	// Dir is the base of relative local paths (*_file, known_hosts, TLS
	// files, db). Load sets it to the config file's directory when empty;
	// for Parse, "" means the working directory.
	Dir string
	// Root, if set, is where absolute local paths (secret files,
	// known_hosts, TLS files, db) are looked up: /run/secrets/x is read as
	// Root/run/secrets/x, and the resolved path is what Config holds. It
	// lets tests, and a check run outside the container the config is
	// written for, supply the files. Paths on remote hosts are untouched.
	Root string
	// LookupEnv looks up *_env variables; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// CheckFiles also reads what the config names for later use, so that
	// start-up fails rather than the first deploy: known_hosts files must
	// parse, line by line, and hold a key; a tcp:// engine's ca_file and
	// cert_file must hold PEM certificates and its key_file an
	// unencrypted PEM private key that matches cert_file; SSH keys (by any
	// form) must be unencrypted private keys.
	CheckFiles bool
	// NoSecrets leaves secrets given by file or environment unread, for
	// the commands that need none (`slack manifest`, `config check
	// --no-secrets`): before the Slack app exists there are no Slack
	// tokens to read. Each such secret holds a placeholder, so what
	// depends on whether it is given (Socket Mode, CheckServe) still
	// holds; checks of its value are skipped. Inline secrets, already
	// in the file, are checked. A Config loaded so must never be used
	// to talk to a peer.
	NoSecrets bool
}

func (o Options) lookupEnv(name string) (string, bool) {
	if o.LookupEnv == nil {
		return os.LookupEnv(name)
	}
	return o.LookupEnv(name)
}

// MaxConfig bounds a config file: a real one is a few kilobytes, and
// decoding takes far more memory than the file (a 55 MB file took 2.4 GB).
const MaxConfig = 4 << 20

// Load reads, decodes and validates the file at path. Relative *_file
// paths are relative to the file's directory. Every problem is reported
// at once: the error is then an *Errors. Reading the file itself failing
// gives an ordinary error: a *FileError when it is not a regular file
// or is larger than MaxConfig.
func Load(path string) (*Config, error) { return Options{}.Load(path) }

// Parse does what Load does with the file's bytes: dir is the base for
// relative paths and env looks up *_env variables (nil: os.LookupEnv).
func Parse(data []byte, dir string, env func(string) (string, bool)) (*Config, error) {
	return Options{Dir: dir, LookupEnv: env}.Parse(data)
}

// Load is the package's Load with these options.
func (o Options) Load(path string) (*Config, error) {
	data, mode, err := readRegular(path, MaxConfig)
	var fe *FileError
	switch {
	case errors.As(err, &fe):
		return nil, fmt.Errorf("config %s %w", quotePath(path), err)
	case err != nil:
		return nil, fmt.Errorf("read config: %w", err)
	}
	if o.Dir == "" {
		o.Dir = filepath.Dir(path)
	}
	c, err := o.parse(data, source{path: path, mode: mode})
	if c != nil {
		c.Path = path
	}
	return c, err
}

// Parse is the package's Parse with these options. On problems it
// returns a nil Config and an *Errors.
func (o Options) Parse(data []byte) (*Config, error) { return o.parse(data, source{}) }

// source is the file a config was read from, if any: inline secrets in a
// file others may read get a warning.
type source struct {
	path string
	mode fs.FileMode
}

func (o Options) parse(data []byte, src source) (*Config, error) {
	d := newDecoder(o)
	d.src = src
	root := d.Document(data)
	if root == nil {
		return nil, errorsOrNil(d.Problems())
	}
	c := d.config(root)
	d.crossCheck(c)
	d.checkGates(c)
	d.checkPolicies(c)
	if err := errorsOrNil(d.Problems()); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	c.Hash = hex.EncodeToString(sum[:])
	c.SecretsUnread = o.NoSecrets
	if ws := d.Warnings(); len(ws) > 0 {
		strictyaml.SortByLine(ws)
		c.Warnings = ws
	}
	return c, nil
}
