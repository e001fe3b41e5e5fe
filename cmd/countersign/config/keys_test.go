package config

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// newSSHKey returns a fresh ed25519 private key in OpenSSH PEM form,
// protected by passphrase when it is not "", and its known_hosts key
// ("ssh-ed25519 AAAA…").
func newSSHKey(t testing.TB, passphrase string) (private, public string) {
	t.Helper()
	private, public, err := sshKeyPair(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	return private, public
}

// mustSSHKey is newSSHKey without a passphrase, for package variables.
func mustSSHKey() (private, public string) {
	private, public, err := sshKeyPair("")
	if err != nil {
		panic(err)
	}
	return private, public
}

func sshKeyPair(passphrase string) (private, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	}
	if err != nil {
		return "", "", err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(block)), strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(sp)), "\n"), nil
}

// newCert returns a self-signed certificate and its private key, PEM.
func newCert(t testing.TB) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "countersign test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// pemOf is a PEM block of type typ around bytes that are not DER.
func pemOf(typ string, headers map[string]string) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: []byte("not DER at all")}))
}
