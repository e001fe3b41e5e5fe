package config

import (
	"net/url"
	"time"

	"github.com/countersign/countersign/cmd/countersign/config/strictyaml"
)

// Verify is a service's check after each deploy (the verify key): every
// Every, for For, a GET of URL must answer Status.
type Verify struct {
	URL        string
	Status     int // default DefaultVerifyStatus
	For, Every time.Duration
	OnFailure  string // VerifyRollback or VerifyAlert
}

// On-failure values of verify, and the status expected by default.
const (
	VerifyRollback      = "rollback"
	VerifyAlert         = "alert"
	DefaultVerifyStatus = 200
)

// verify decodes a service's verify key.
func (d *decoder) verify(o *object) *Verify {
	o.Require("url", "for", "every", "on_failure")
	v := &Verify{URL: o.Str("url"), Status: DefaultVerifyStatus, OnFailure: o.Str("on_failure")}
	if v.URL != "" {
		if msg := probeURLProblem(v.URL); msg != "" {
			d.AddAt(o.Sub("url"), "%s", msg)
		}
	}
	if s, ok := o.Int("status"); ok {
		v.Status = s
		if s < 100 || s > 599 {
			d.AddAt(o.Sub("status"), "want an HTTP status (100 to 599), got %d", s)
		}
	}
	var okFor, okEvery bool
	v.For, okFor = o.Duration("for")
	v.Every, okEvery = o.Duration("every")
	if okFor && okEvery && v.Every > v.For {
		d.AddAt(o.Sub("every"), "%s is longer than for (%s): there would be a single probe", v.Every, v.For)
	}
	switch v.OnFailure {
	case VerifyRollback, VerifyAlert, "":
	default:
		d.AddAt(o.Sub("on_failure"), "want %q or %q, got %s", VerifyRollback, VerifyAlert, strictyaml.Quote(v.OnFailure))
	}
	o.Done()
	return v
}

// probeURLProblem says what is wrong with a verify URL, or "". Userinfo
// is refused: the URL is shown in chat and the audit trail, so it must
// hold no secret; for the same reason a problem never quotes the URL.
func probeURLProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "":
		return "want an absolute http:// or https:// URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "want an http:// or https:// URL, got scheme " + strictyaml.Quote(u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return "want a URL with a host"
	case u.User != nil:
		return "must not hold a user or password: the URL is shown in chat and the audit trail"
	}
	return ""
}
