package dns

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/miekg/dns"
)

// tsigKey signs and verifies messages with one TSIG key. It holds the
// decoded secret itself, rather than handing miekg/dns a map of base64
// strings, so that the secret lives in exactly one unexported place and
// nothing that formats a dns.Client can print it.
type tsigKey struct {
	name      string // fully qualified, lower case
	algorithm string // dns.HmacSHA256 or dns.HmacSHA512
	secret    []byte
}

var _ dns.TsigProvider = (*tsigKey)(nil)

// String keeps the secret out of any %v.
func (k *tsigKey) String() string { return "TSIG key " + k.name + " (" + k.algorithm + ")" }

func (k *tsigKey) mac(msg []byte, t *dns.TSIG) ([]byte, error) {
	if dns.CanonicalName(t.Hdr.Name) != k.name {
		return nil, fmt.Errorf("%w: message is for key %s, not %s", dns.ErrSecret, t.Hdr.Name, k.name)
	}
	var h func() hash.Hash
	switch dns.CanonicalName(t.Algorithm) {
	case dns.HmacSHA256:
		h = sha256.New
	case dns.HmacSHA512:
		h = sha512.New
	default:
		return nil, dns.ErrKeyAlg
	}
	if dns.CanonicalName(t.Algorithm) != k.algorithm {
		return nil, fmt.Errorf("%w: message uses %s, key is %s", dns.ErrKeyAlg, t.Algorithm, k.algorithm)
	}
	m := hmac.New(h, k.secret)
	m.Write(msg)
	return m.Sum(nil), nil
}

// Generate signs an outgoing message.
func (k *tsigKey) Generate(msg []byte, t *dns.TSIG) ([]byte, error) { return k.mac(msg, t) }

// Verify checks the signature of an answer.
func (k *tsigKey) Verify(msg []byte, t *dns.TSIG) error {
	want, err := k.mac(msg, t)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil || !hmac.Equal(got, want) {
		return dns.ErrSig
	}
	return nil
}
