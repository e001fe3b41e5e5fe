package config

import (
	"testing"
	"time"
)

// TestParse_GitHubPoll: github.poll defaults to five minutes, 0 turns it
// off, anything else must be a positive duration.
func TestParse_GitHubPoll(t *testing.T) {
	for _, tc := range []struct {
		name, github string
		want         time.Duration
	}{
		{"default", "{}", DefaultGitHubPoll},
		{"set", "{poll: 90s}", 90 * time.Second},
		{"off", "{poll: 0}", 0},
		{"off as a duration", "{poll: 0s}", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte("db: x.db\ngithub: "+tc.github+"\n"), t.TempDir(), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.GitHub.Poll != tc.want {
				t.Errorf("poll = %s, want %s", cfg.GitHub.Poll, tc.want)
			}
		})
	}
	runCases(t, []problemCase{
		{"negative", "db: a.db\ngithub: {poll: -5m}\n", []string{`github.poll: duration "-5m" must be positive`}},
		{"not a duration", "db: a.db\ngithub: {poll: 5}\n", []string{`github.poll: invalid duration "5" (want e.g. 30m, 2h)`}},
		{"typo", "db: a.db\ngithub: {pol: 5m}\n", []string{`github.pol: unknown key (did you mean "poll"?)`}},
	})
}
