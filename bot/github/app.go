package github

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"

	"github.com/bradleyfalzon/ghinstallation/v2"
)

// appTransport authenticates as a GitHub App installation: ghinstallation
// signs a short JWT (RS256, iss = AppID) with the App's key, trades it at
// POST {apiBase}/app/installations/{id}/access_tokens for an installation
// token, caches that until a minute before it expires and sends it as
// "Authorization: token …". apiBase has no trailing slash and, for
// Enterprise, ends in /api/v3 (ghinstallation appends /app/… to it).
func appTransport(base http.RoundTripper, a Auth, apiBase string) (*ghinstallation.Transport, error) {
	if a.AppID <= 0 || a.InstallationID <= 0 || len(a.PrivateKey) == 0 {
		return nil, errors.New("github: a GitHub App needs an App ID, an installation ID and a private key")
	}
	key, err := appParseKey(a.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("github: app %d private key: %w", a.AppID, err)
	}
	// We parse the key ourselves rather than through ghinstallation.New:
	// our errors then wrap x509's instead of a %s-formatted string.
	atr := ghinstallation.NewAppsTransportFromPrivateKey(base, a.AppID, key)
	atr.BaseURL = apiBase
	tr := ghinstallation.NewFromAppsTransport(atr, a.InstallationID)
	tr.BaseURL = apiBase
	return tr, nil
}

// appParseKey reads an RSA private key in PEM: PKCS#1 ("RSA PRIVATE
// KEY", what GitHub's App settings download) or PKCS#8 ("PRIVATE KEY").
// Its errors never quote the key.
func appParseKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("not PEM encoded")
	}
	if _, encrypted := block.Headers["Proc-Type"]; encrypted {
		return nil, errors.New("encrypted PEM keys are not supported")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("a %T, GitHub Apps use RSA keys", k)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
}
