package config

import (
	"testing"
	"time"
)

func TestParse_DriftInterval(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       time.Duration
		problem    string
	}{
		{"default", "", DefaultDriftInterval, ""},
		{"set", "drift: {interval: 90s}\n", 90 * time.Second, ""},
		{"off", "drift: {interval: 0}\n", 0, ""},
		{"negative", "drift: {interval: -1m}\n", 0, `drift.interval: duration "-1m" must be positive`},
		{"not a duration", "drift: {interval: often}\n", 0, `drift.interval: invalid duration "often" (want e.g. 30m, 2h)`},
		{"unknown key", "drift: {every: 5m}\n", 0, `drift.every: unknown key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte("db: a.db\n"+tc.yaml), t.TempDir(), env(nil))
			if tc.problem != "" {
				got := lines(problemsOf(t, err))
				if len(got) != 1 || got[0] != tc.problem {
					t.Fatalf("problems %q, want %q", got, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Drift.Interval != tc.want {
				t.Errorf("interval %v, want %v", c.Drift.Interval, tc.want)
			}
		})
	}
}
