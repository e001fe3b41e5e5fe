package config

import "testing"

func TestParse_GroupAndIdentityProblems(t *testing.T) {
	runCases(t, []problemCase{
		{"member", "db: a.db\ngroups: {ops: [U0OPS1, alice, \"usergroup:devs\"]}\n", []string{
			`groups.ops[1]: want a Slack user ID (U…, W…) or usergroup:S…, got "alice"`,
			`groups.ops[2]: want a Slack user ID (U…, W…) or usergroup:S…, got "usergroup:devs"`,
		}},
		{"duplicate member", "db: a.db\ngroups: {ops: [U0OPS1, U0OPS1]}\n", []string{`groups.ops[1]: duplicate member "U0OPS1"`}},
		{"group name", "db: a.db\ngroups: {\"on call\": [U0OPS1]}\n", []string{
			`groups["on call"]: "on call" is not a valid group name (letters, digits, -_., at most 63)`,
		}},
		{"group not a list", "db: a.db\ngroups: {ops: U0OPS1}\n", []string{`groups.ops: want a list, got a string`}},
		{"identity user", "db: a.db\nidentities: {github: {talex5: \"@talex5\"}}\n", []string{
			`identities.github.talex5: want a Slack user ID (U…, W…), got "@talex5"`,
		}},
		{"identity login", "db: a.db\nidentities: {github: {\"tal ex\": U0OPS1}}\n", []string{
			`identities.github["tal ex"]: "tal ex" is not a valid GitHub login`,
		}},
		{"identity login twice", "db: a.db\nidentities: {github: {talex5: U0OPS1, TalEx5: U0OPS2}}\n", []string{
			`identities.github.TalEx5: duplicate login (also identities.github.talex5; logins are compared ignoring case)`,
		}},
		{"identities unknown key", "db: a.db\nidentities: {gitlab: {a: U0OPS1}}\n", []string{`identities.gitlab: unknown key (did you mean "github"?)`}},
	})
}
