package config

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
	"golang.org/x/crypto/ssh"
)

// The checks Options.CheckFiles makes of what the config names for later
// use: each reads the file as the executor will, so that what serve would
// fail on at the first deploy fails config check and start-up instead.

// maxLocalFile bounds a TLS or known_hosts file read by CheckFiles.
const maxLocalFile = 16 << 20

// localFile is a local file the config names.
type localFile struct {
	path string // resolved
	data []byte // its contents, when read is true
	read bool   // CheckFiles was set and the file could be read
}

// localFile reads key as a local file path and resolves it; with
// Options.CheckFiles it also reads the file, reporting at key why it
// cannot be. A secret file (a private key) others may read gets a warning.
func (o *object) localFile(key string, secret bool) localFile {
	f := localFile{path: o.localPath(key)}
	if f.path == "" || !o.d.opts.CheckFiles || secret && o.d.opts.NoSecrets {
		return f
	}
	b, mode, ok := o.d.readFile(o.Sub(key), f.path, maxLocalFile)
	if !ok {
		return f
	}
	if secret {
		o.d.warnMode(o.Sub(key), f.path, mode)
	}
	f.data, f.read = b, true
	return f
}

// warnMode warns when group or others have any access to a secret file.
func (d *decoder) warnMode(path, file string, mode os.FileMode) {
	if mode.Perm()&0o077 != 0 {
		d.WarnAt(path, "%s has mode %04o: group or others may read it (chmod 600 it; for a Docker secret, set mode: 0400)",
			quotePath(file), mode.Perm())
	}
}

// knownHosts reads key as a known_hosts file; with CheckFiles it must
// parse as the SSH client's knownhosts.New parses it, and hold a key.
func (o *object) knownHosts(key string) string {
	f := o.localFile(key, false)
	if f.read {
		if msg := knownHostsProblem(f.data); msg != "" {
			o.d.AddAt(o.Sub(key), "%s %s", quotePath(f.path), msg)
		}
	}
	return f.path
}

// knownHostsProblem says what is wrong with a known_hosts file, or "".
// The SSH client refuses the whole file for one bad line, so the first
// is named, by number.
func knownHostsProblem(data []byte) string {
	keys, bad, first := 0, 0, ""
	for i, line := range strings.Split(string(data), "\n") {
		entry, problem := knownHostsLine(line)
		if problem != "" {
			if bad == 0 {
				first = fmt.Sprintf("line %d is not a known_hosts entry%s", i+1, problem)
			}
			bad++
		}
		if entry {
			keys++
		}
	}
	switch {
	case bad > 1:
		return fmt.Sprintf("%s (and %d more bad lines)", first, bad-1)
	case bad == 1:
		return first
	case keys == 0:
		return "holds no host keys: every connection would be refused"
	}
	return ""
}

// knownHostsLine checks one line: entry reports a host key that lets
// connections in; problem, if not "", completes "is not a known_hosts
// entry".
func knownHostsLine(line string) (entry bool, problem string) {
	if len(line)+1 > bufio.MaxScanTokenSize {
		return false, " (longer than 64 KiB)"
	}
	line = strings.Trim(strings.TrimSuffix(line, "\r"), " \t")
	if line == "" || line[0] == '#' {
		return false, ""
	}
	if !strings.ContainsAny(line, " \t") {
		return false, " (want HOST[,HOST…] KEYTYPE KEY)"
	}
	marker, hosts, _, _, _, err := ssh.ParseKnownHosts([]byte(line))
	if err != nil {
		return false, ": " + err.Error()
	}
	if marker != "" && marker != "cert-authority" && marker != "revoked" {
		return false, ": unknown marker " + strictyaml.Quote("@"+marker) + " (want @cert-authority or @revoked)"
	}
	if pattern := strings.Join(hosts, ","); strings.HasPrefix(pattern, "|") {
		if !validHashedHost(pattern) {
			return false, ": a hashed host is |1|SALT|HASH in base64"
		}
	} else {
		for _, h := range hosts {
			h = strings.TrimPrefix(h, "!")
			switch {
			case h == "":
				return false, ": a host pattern is empty"
			case h[0] == '[':
				if _, _, err := net.SplitHostPort(h); err != nil {
					return false, ": want [HOST]:PORT, got " + strictyaml.Quote(h)
				}
			}
		}
	}
	return marker != "revoked", ""
}

// validHashedHost reports whether s is a hashed host as the SSH client
// reads it: |1|SALT|HASH, both base64.
func validHashedHost(s string) bool {
	parts := strings.Split(s, "|")
	if len(parts) != 4 || parts[0] != "" || parts[1] != "1" {
		return false
	}
	for _, p := range parts[2:] {
		if _, err := base64.StdEncoding.DecodeString(p); err != nil {
			return false
		}
	}
	return true
}

// checkTLS checks a tcp:// engine's files as the Docker client loads
// them: certificates in ca_file and cert_file, an unencrypted private key
// in key_file that matches cert_file's certificate.
func (o *object) checkTLS(ca, cert, key localFile) {
	if ca.read {
		if _, msg := certsProblem(ca.data, ""); msg != "" {
			o.d.AddAt(o.Sub("ca_file"), "%s%s", quotePath(ca.path), msg)
		}
	}
	var leaf *x509.Certificate
	if cert.read {
		var msg string
		if leaf, msg = certsProblem(cert.data, " (are cert_file and key_file swapped?)"); msg != "" {
			o.d.AddAt(o.Sub("cert_file"), "%s%s", quotePath(cert.path), msg)
		}
	}
	if key.read {
		if msg := keyProblem(key.data, leaf); msg != "" {
			o.d.AddAt(o.Sub("key_file"), "%s %s", quotePath(key.path), msg)
		}
	}
}

// certsProblem parses the PEM certificates in data and returns the first;
// or says what is wrong (with a leading space or colon, to follow the
// file's name). swapped is added when a private key is found instead.
func certsProblem(data []byte, swapped string) (*x509.Certificate, string) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, " is empty"
	}
	var first *x509.Certificate
	n, blocks, keys := 0, 0, 0
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks++
		switch {
		case b.Type == "CERTIFICATE":
			n++
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Sprintf(": certificate %d does not parse (%v)", n, err)
			}
			if first == nil {
				first = c
			}
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			keys++
		}
	}
	switch {
	case first != nil:
		return first, ""
	case keys > 0:
		return nil, " holds a private key, not a certificate" + swapped
	case blocks == 0:
		return nil, " holds no PEM data (want -----BEGIN CERTIFICATE-----)"
	}
	return nil, " holds no certificate (want -----BEGIN CERTIFICATE-----)"
}

// keyProblem says what is wrong with a TLS private key file, or "". The
// key's bytes are never shown.
func keyProblem(data []byte, leaf *x509.Certificate) string {
	if len(bytes.TrimSpace(data)) == 0 {
		return "is empty"
	}
	var b *pem.Block
	blocks, certs := 0, 0
	for rest := data; ; {
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks++
		if b.Type == "PRIVATE KEY" || strings.HasSuffix(b.Type, " PRIVATE KEY") {
			break
		}
		if b.Type == "CERTIFICATE" {
			certs++
		}
	}
	switch {
	case b == nil && certs > 0:
		return "holds a certificate, not a private key (are cert_file and key_file swapped?)"
	case b == nil && blocks == 0:
		return "holds no PEM data (want -----BEGIN PRIVATE KEY-----)"
	case b == nil:
		return "holds no private key (want -----BEGIN PRIVATE KEY-----)"
	case b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED"):
		return "is encrypted; the Docker client needs an unencrypted key"
	}
	key, err := parseTLSKey(b.Bytes)
	if err != nil {
		return "holds a private key that does not parse (want PKCS #1, PKCS #8 or SEC 1 EC)"
	}
	if leaf == nil {
		return ""
	}
	pub, ok := key.(interface{ Public() crypto.PublicKey })
	want, ok2 := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if ok && ok2 && !want.Equal(pub.Public()) {
		return "does not match the certificate in cert_file"
	}
	return ""
}

// parseTLSKey parses a DER private key as crypto/tls does.
func parseTLSKey(der []byte) (crypto.PrivateKey, error) {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("unknown private key format")
}

// sshKeyProblem says what keeps an SSH private key from being used, as
// the SSH client parses it, or "". It never shows the key.
func sshKeyProblem(key []byte) string {
	_, err := ssh.ParsePrivateKey(key)
	if err == nil {
		return ""
	}
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return "is passphrase-protected; countersign needs an unencrypted key (or an agent)"
	}
	b, _ := pem.Decode(key)
	switch {
	case b == nil:
		if _, _, _, _, err := ssh.ParseAuthorizedKey(key); err == nil {
			return "holds a public key; want the private key"
		}
		return "is not a PEM private key (want -----BEGIN OPENSSH PRIVATE KEY-----)"
	case b.Type == "CERTIFICATE":
		return "holds a certificate, not a private key"
	case !strings.HasSuffix(b.Type, "PRIVATE KEY"):
		return "holds a PEM block that is not a private key (want -----BEGIN OPENSSH PRIVATE KEY-----)"
	}
	return "does not parse as an SSH private key"
}
