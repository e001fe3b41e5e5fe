package githubtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// jwtMaxLifetime is the longest exp - iat GitHub accepts for an App JWT.
const jwtMaxLifetime = 10 * time.Minute

// jwtClockSkew is how far in the future iat may be: GitHub tells Apps to
// backdate iat by 60 seconds against drift, so it tolerates a little.
const jwtClockSkew = 60 * time.Second

// authenticate checks an API call's credentials and returns the token it
// carried. On failure it has answered 401 as GitHub does.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		writeJSON(w, http.StatusUnauthorized, errorBody("Requires authentication"))
		return "", false
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "token") && !strings.EqualFold(scheme, "bearer") {
		writeJSON(w, http.StatusUnauthorized, errorBody("Bad credentials"))
		return "", false
	}
	if s.opts.Token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) == 1 {
		return tok, true
	}
	s.mu.Lock()
	exp, ok := s.tokens[tok]
	s.mu.Unlock()
	if ok && time.Now().Before(exp) {
		return tok, true
	}
	writeJSON(w, http.StatusUnauthorized, errorBody("Bad credentials"))
	return "", false
}

// serveApp answers the App endpoints; only
// POST /app/installations/{id}/access_tokens exists.
func (s *Server) serveApp(w http.ResponseWriter, r *http.Request, path string) {
	parts := strings.Split(strings.TrimPrefix(path, "/app/"), "/")
	if r.Method != http.MethodPost || len(parts) != 3 || parts[0] != "installations" || parts[2] != "access_tokens" {
		notFound(w)
		return
	}
	scheme, jwt, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") || jwt == "" {
		writeJSON(w, http.StatusUnauthorized, errorBody("A JSON web token could not be decoded"))
		return
	}
	if err := verifyAppJWT(jwt, s.opts.AppPublicKey, s.opts.AppID, time.Now()); err != nil {
		writeJSON(w, http.StatusUnauthorized, errorBody(err.Error()))
		return
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || id != s.opts.InstallationID || s.opts.InstallationID == 0 {
		notFound(w)
		return
	}
	tok := "ghs_" + randomBase62(36)
	exp := time.Now().Add(s.opts.TokenLifetime).Truncate(time.Second)
	s.mu.Lock()
	s.tokens[tok] = exp
	s.issued = append(s.issued, tok)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"token":                tok,
		"expires_at":           exp.UTC().Format(time.RFC3339),
		"permissions":          s.opts.AppPermissions,
		"repository_selection": "all",
	})
}

// verifyAppJWT checks an App JWT as GitHub does: RS256 signed by the App's
// key, iss the App ID, integer iat not in the future, exp in the future
// and at most ten minutes after iat. Its errors read like GitHub's.
func verifyAppJWT(tok string, pub *rsa.PublicKey, appID int64, now time.Time) error {
	errDecode := errors.New("A JSON web token could not be decoded")
	if pub == nil || appID == 0 {
		return errDecode // this server is no App
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errDecode
	}
	var header struct{ Alg, Typ string }
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg != "RS256" {
		return errDecode
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return errDecode
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return errors.New("A JSON web token could not be decoded: signature does not match the App's key")
	}
	var claims struct {
		Iat, Exp json.Number
		Iss      json.RawMessage
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return errDecode
	}
	iat, err1 := claims.Iat.Int64()
	exp, err2 := claims.Exp.Int64()
	if err1 != nil {
		return errors.New("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
	}
	if err2 != nil {
		return errors.New("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	}
	switch {
	case time.Unix(iat, 0).After(now.Add(jwtClockSkew)):
		return errors.New("'Issued at' claim ('iat') must be an Integer representing a time in the past")
	case !time.Unix(exp, 0).After(now):
		return errors.New("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	case time.Unix(exp, 0).Sub(time.Unix(iat, 0)) > jwtMaxLifetime:
		return errors.New("'Expiration time' claim ('exp') is too far in the future")
	}
	// GitHub takes iss as a number or a string.
	var issNum int64
	var issStr string
	if json.Unmarshal(claims.Iss, &issNum) != nil {
		if json.Unmarshal(claims.Iss, &issStr) != nil {
			return errDecode
		}
		if issNum, err = strconv.ParseInt(issStr, 10, 64); err != nil {
			return fmt.Errorf("'Issuer' claim ('iss') must be an Integer")
		}
	}
	if issNum != appID {
		return errors.New("Integration not found")
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	return d.Decode(v)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomBase62 returns n random characters, as in GitHub's tokens.
func randomBase62(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(base62)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = base62[k.Int64()]
	}
	return string(b)
}
