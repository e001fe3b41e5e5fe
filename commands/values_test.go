package commands

import (
	"strings"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

func TestCheckService(t *testing.T) {
	good := []string{"www", "W", "ocaml-ci_web", "a1", strings.Repeat("a", 63)}
	bad := []string{"", "1www", "-www", "_www", "w w", "w;x", "w|x", "w&x", "w$x", "w`x`", "w'x", `w"x`,
		"w/x", `w\x`, "w.x", "w:x", "w*", "w?", "w>x", "wé", strings.Repeat("a", 64)}
	for _, s := range good {
		if got, msg := checkService(s); msg != "" || got != s {
			t.Errorf("checkService(%q) = %q, %q; want it accepted", s, got, msg)
		}
	}
	for _, s := range bad {
		if _, msg := checkService(s); msg == "" {
			t.Errorf("checkService(%q) accepted", s)
		}
	}
}

func TestCheckRef(t *testing.T) {
	tests := []struct{ in, want string }{
		{"3f2a9c1", "3f2a9c1"},
		{"3F2A9C1", "3f2a9c1"},
		{strings.Repeat("0", 40), strings.Repeat("0", 40)},
		{digest, digest},
		{"SHA256:" + strings.ToUpper(digest[7:]), digest},
		{"3f2a9c", ""},                      // too short
		{strings.Repeat("0", 41), ""},       // too long
		{"3f2a9cg", ""},                     // not hex
		{"main", ""},                        // a branch
		{"v1.0", ""},                        // a tag
		{"sha256:" + digest[8:], ""},        // 63 hex
		{"sha512:" + digest[7:], ""},        // other algorithm
		{"www@" + digest, ""},               // a full reference
		{"ghcr.io/x/y:latest", ""},          // a tag reference
		{"3f2a9c1;reboot", ""},              // shell
		{digest + "\n", ""},                 // trailing junk
		{strings.ToUpper(digest) + "0", ""}, // 65 hex
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, msg := checkRef(tt.in)
			if tt.want == "" {
				if msg == "" {
					t.Errorf("checkRef(%q) = %q, want refused", tt.in, got)
				}
				return
			}
			if msg != "" || got != tt.want {
				t.Errorf("checkRef(%q) = %q, %q; want %q", tt.in, got, msg, tt.want)
			}
		})
	}
}

func TestCheckReplicas(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "1": 1, "10": 10, "1000": 1000, "0010": 10} {
		if got, msg := checkReplicas(in); msg != "" || got != want {
			t.Errorf("checkReplicas(%q) = %d, %q; want %d", in, got, msg, want)
		}
	}
	for in, msg := range map[string]string{
		"":                     "not a whole number",
		"abc":                  "not a whole number",
		"1.0":                  "not a whole number",
		"1e3":                  "not a whole number",
		"+1":                   "not a whole number",
		"0x10":                 "not a whole number",
		"１":                    "not a whole number", // a full-width digit
		"-1":                   "out of range",
		"1001":                 "out of range",
		"18446744073709551616": "out of range",
	} {
		if _, got := checkReplicas(in); !strings.HasPrefix(got, msg) {
			t.Errorf("checkReplicas(%q) message %q, want %q…", in, got, msg)
		}
	}
}

func TestCheckUser(t *testing.T) {
	tests := []struct {
		in   string
		want cs.Actor
	}{
		{"@U123ABC", "U123ABC"},
		{"<@U123ABC>", "U123ABC"},
		{"<@U123ABC|bob>", "U123ABC"},
		{"<@W0ENTERPRISE|carol smith>", "W0ENTERPRISE"},
		{"@U12", "U12"},
		{"U123ABC", ""},     // no @
		{"@U1", ""},         // too short
		{"@u123abc", ""},    // lower case is not a Slack ID
		{"@bob", ""},        // a name, not an ID
		{"@C123ABC", ""},    // a channel
		{"<@U123ABC", ""},   // unclosed
		{"<#C123|ops>", ""}, // a channel mention
		{"<!here>", ""},
		{"@U123-ABC", ""},
		{"@U" + strings.Repeat("A", 21), ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, msg := checkUser(tt.in)
			if tt.want == "" {
				if msg == "" {
					t.Errorf("checkUser(%q) = %q, want refused", tt.in, got)
				}
				return
			}
			if msg != "" || got != tt.want {
				t.Errorf("checkUser(%q) = %q, %q; want %q", tt.in, got, msg, tt.want)
			}
		})
	}
}

func TestCheckRequestID(t *testing.T) {
	for in, want := range map[string]cs.RequestID{"R1": "R1", "r42": "R42", "R1234567": "R1234567"} {
		if got, msg := checkRequestID(in); msg != "" || got != want {
			t.Errorf("checkRequestID(%q) = %q, %q; want %q", in, got, msg, want)
		}
	}
	for _, in := range []string{"", "R", "R0", "R01", "42", "#42", "R-1", "R4x", "RR4", "R42 "} {
		if got, msg := checkRequestID(in); msg == "" {
			t.Errorf("checkRequestID(%q) = %q, want refused", in, got)
		}
	}
}

func TestCheckSince(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1m": time.Minute, "90m": 90 * time.Minute, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour,
		"7D": 7 * 24 * time.Hour, "3660d": maxSince,
	} {
		if got, msg := checkSince(in); msg != "" || got != want {
			t.Errorf("checkSince(%q) = %v, %q; want %v", in, got, msg, want)
		}
	}
	for _, in := range []string{"", "0m", "0d", "24", "h", "1w", "1y", "1s", "1.5h", "-1h", "1h30m", "3661d",
		"87841h", "9999999d", "99999999d"} {
		if got, msg := checkSince(in); msg == "" {
			t.Errorf("checkSince(%q) = %v, want refused", in, got)
		}
	}
}
