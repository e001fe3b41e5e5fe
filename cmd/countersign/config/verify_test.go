package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse_VerifyProblems(t *testing.T) {
	b := svc + "    build: {mode: wait}\n    unikernel: {}\n"
	runCases(t, []problemCase{
		{"keys required", b + "    verify: {status: 204}\n", []string{
			`services[0].verify.url: required`, `services[0].verify.for: required`,
			`services[0].verify.every: required`, `services[0].verify.on_failure: required`,
		}},
		{"url relative", b + "    verify: {url: /healthz, for: 2m, every: 10s, on_failure: alert}\n", []string{
			`services[0].verify.url: want an absolute http:// or https:// URL`,
		}},
		{"url other scheme", b + "    verify: {url: \"tcp://www:80\", for: 2m, every: 10s, on_failure: alert}\n", []string{
			`services[0].verify.url: want an http:// or https:// URL, got scheme "tcp"`,
		}},
		{"url without host", b + "    verify: {url: \"http:///healthz\", for: 2m, every: 10s, on_failure: alert}\n", []string{
			`services[0].verify.url: want a URL with a host`,
		}},
		{"url with a password", b + "    verify: {url: \"https://u:hunter2@www/healthz\", for: 2m, every: 10s, on_failure: alert}\n", []string{
			`services[0].verify.url: must not hold a user or password: the URL is shown in chat and the audit trail`,
		}},
		{"status out of range", b + "    verify: {url: \"http://www/\", status: 42, for: 2m, every: 10s, on_failure: alert}\n", []string{
			`services[0].verify.status: want an HTTP status (100 to 599), got 42`,
		}},
		{"status not a number", b + "    verify: {url: \"http://www/\", status: ok, for: 2m, every: 10s, on_failure: alert}\n", []string{
			`services[0].verify.status: want an integer, got "ok"`,
		}},
		{"durations not positive", b + "    verify: {url: \"http://www/\", for: 0s, every: -1s, on_failure: alert}\n", []string{
			`services[0].verify.for: duration "0s" must be positive`, `services[0].verify.every: duration "-1s" must be positive`,
		}},
		{"every longer than for", b + "    verify: {url: \"http://www/\", for: 10s, every: 1m, on_failure: alert}\n", []string{
			`services[0].verify.every: 1m0s is longer than for (10s): there would be a single probe`,
		}},
		{"on_failure unknown", b + "    verify: {url: \"http://www/\", for: 2m, every: 10s, on_failure: page}\n", []string{
			`services[0].verify.on_failure: want "rollback" or "alert", got "page"`,
		}},
		{"unknown key", b + "    verify: {url: \"http://www/\", for: 2m, every: 10s, on_failure: alert, timeout: 5s}\n", []string{
			`services[0].verify.timeout: unknown key`,
		}},
	})
}

func TestParse_VerifyNeverShowsTheURL(t *testing.T) {
	b := svc + "    build: {mode: wait}\n    unikernel: {}\n"
	_, err := Options{Dir: t.TempDir(), LookupEnv: env(nil)}.Parse([]byte(b + "    verify: {url: \"https://u:hunter2@/x\", for: 2m, every: 10s, on_failure: alert}\n"))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v, want a problem that does not show the password", err)
	}
}

func TestParse_Verify(t *testing.T) {
	b := svc + "    build: {mode: wait}\n    unikernel: {}\n"
	cfg, err := Options{Dir: t.TempDir(), LookupEnv: env(nil)}.Parse([]byte(b + "    verify: {url: \"https://www.example.org/healthz\", for: 2m, every: 10s, on_failure: rollback}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Verify{URL: "https://www.example.org/healthz", Status: 200, For: 2 * time.Minute, Every: 10 * time.Second, OnFailure: "rollback"}
	if got := cfg.Services[0].Verify; !reflect.DeepEqual(got, want) {
		t.Errorf("verify = %+v, want %+v", got, want)
	}
}
