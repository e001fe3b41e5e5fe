package countersign_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
)

func TestParseRequestID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want cs.RequestID
		ok   bool
	}{
		{"R42", "R42", true}, {"r7", "R7", true}, {"R0", "", false}, {"R", "", false},
		{"42", "", false}, {"R4x", "", false}, {"R01", "", false}, {"R99999999999999999999", "", false},
	} {
		got, err := cs.ParseRequestID(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRequestID(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, cs.ErrBadRequestID) {
			t.Errorf("ParseRequestID(%q) error does not wrap ErrBadRequestID", tc.in)
		}
	}
	if got := cs.FormatRequestID(1); got != "R1" {
		t.Errorf("FormatRequestID(1) = %q", got)
	}
}

func TestValidServiceName(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"www", true}, {"ocaml-ci_web2", true}, {"", false}, {"1www", false}, {"w w", false},
		{"www;rm", false}, {"$(id)", false}, {"a/b", false}, {strings.Repeat("a", 64), false},
	} {
		if got := cs.ValidServiceName(tc.in); got != tc.ok {
			t.Errorf("ValidServiceName(%q) = %v, want %v", tc.in, got, tc.ok)
		}
	}
}

func TestAction_Fingerprint(t *testing.T) {
	a := cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: "r/x@sha256:" + strings.Repeat("a", 64)}
	b := a
	b.Image = "r/x@sha256:" + strings.Repeat("b", 64)
	if a.Fingerprint("v1") != a.Fingerprint("v1") {
		t.Error("fingerprint is not stable")
	}
	if a.Fingerprint("v1") == b.Fingerprint("v1") {
		t.Error("different images give the same fingerprint")
	}
	if a.Fingerprint("v1") == a.Fingerprint("v2") {
		t.Error("different policy versions give the same fingerprint")
	}
}

func TestSecret_NeverPrints(t *testing.T) {
	s := cs.NewSecret("hunter2-secret")
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "s", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s, s), logged.String(),
		fmt.Sprintf("%+v", struct{ S cs.Secret }{s})} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret printed: %s", out)
		}
	}
	if s.Reveal() != "hunter2-secret" {
		t.Error("Reveal lost the value")
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"deploy", "deploy", 0}, {"deploi", "deploy", 1}, {"dpeloy", "deploy", 2}, {"", "abc", 3}, {"kitten", "sitting", 3}} {
		if got := cs.EditDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
