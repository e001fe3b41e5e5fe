package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// maxDetail bounds the registry's own words quoted in an error.
const maxDetail = 160

// fail turns an error from go-containerregistry into one for people:
// "OP: SENTINEL: short detail". The whole chain goes to the log, the
// returned message is short and never holds a password.
func (r *Resolver) fail(ctx context.Context, op, host string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	sentinel, detail := classify(err)
	r.logger().Debug("registry request failed", "op", op, "host", host, "err", r.scrub(err.Error()))
	switch sentinel {
	case ErrUnauthorized:
		return fmt.Errorf("%s: %w (%s): %s", op, sentinel, detail, r.authHint(host))
	case nil:
		return fmt.Errorf("%s: %s", op, r.scrub(detail))
	default:
		if detail == "" {
			return fmt.Errorf("%s: %w", op, sentinel)
		}
		return fmt.Errorf("%s: %w: %s", op, sentinel, r.scrub(detail))
	}
}

// classify maps an error to the sentinel it stands for (nil if none) and
// a short description of what happened.
func classify(err error) (sentinel error, detail string) {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return classifyStatus(terr)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return ErrUnreachable, dnsErr.Error()
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && (opErr.Op == "dial" || opErr.Op == "read" || opErr.Op == "write") {
		return ErrUnreachable, opErr.Error()
	}
	return nil, shorten(err.Error())
}

// classifyStatus maps a registry's HTTP error response.
func classifyStatus(terr *transport.Error) (error, string) {
	detail := fmt.Sprintf("HTTP %d", terr.StatusCode)
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
			return ErrUnauthorized, detail
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
			return ErrNotFound, ""
		}
	}
	switch terr.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized, detail
	case http.StatusNotFound:
		return ErrNotFound, ""
	}
	detail = fmt.Sprintf("registry answered HTTP %d %s", terr.StatusCode, http.StatusText(terr.StatusCode))
	if len(terr.Errors) > 0 {
		detail += ": " + shorten(terr.Errors[0].String())
	}
	return nil, detail
}

// authHint says where the credentials for host come from, so that the
// reader knows what to fix.
func (r *Resolver) authHint(host string) string {
	if r.hasCredential(host) {
		return "check the username and password for " + host + " under registries: in the config"
	}
	return "no credentials for " + host + " under registries: in the config, nor accepted ones from docker login"
}

// scrub removes every configured password from s: the registry's own
// words are quoted in errors, and a hostile or confused registry could
// echo what it was sent.
func (r *Resolver) scrub(s string) string {
	for _, c := range r.Credentials {
		if p := c.Password.Reveal(); p != "" {
			s = strings.ReplaceAll(s, p, "[redacted]")
		}
	}
	return s
}

// shorten keeps the first line of s, at most maxDetail bytes of it.
func shorten(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) <= maxDetail {
		return s
	}
	cut := maxDetail
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
