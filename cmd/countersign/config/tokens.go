package config

import (
	"fmt"
	"regexp"
	"strings"
)

// slackPrefix matches the prefix that names a Slack token's kind: xoxb-,
// xoxp-, xapp-, and xoxe. for a rotating token. It is the only part of a
// token a problem may show.
var slackPrefix = regexp.MustCompile(`^x(?:ox[a-z]|app)[-.]`)

// slackKinds names the Slack tokens one may give by mistake.
var slackKinds = map[string]string{
	"xoxb-": "a bot token (it goes in slack.bot_token)",
	"xoxp-": "a user token",
	"xapp-": "an App-Level Token (it goes in slack.app_token)",
}

// slackToken returns a token shape check (see object.token): the token
// must start with prefix; want names the token wanted.
func slackToken(prefix, want string) func(string) string {
	return func(s string) string {
		if strings.HasPrefix(s, prefix) {
			return ""
		}
		p := slackPrefix.FindString(s)
		switch {
		case p == "":
			return fmt.Sprintf("does not start with %q; want %s", prefix, want)
		case p == "xoxe.":
			return fmt.Sprintf("starts with %q: that is a rotating token, which expires; turn off token rotation and use %s", p, want)
		case slackKinds[p] != "":
			return fmt.Sprintf("starts with %q: that is %s; want %s", p, slackKinds[p], want)
		}
		return fmt.Sprintf("starts with %q; want %s", p, want)
	}
}

var (
	botToken = slackToken("xoxb-", "the Bot User OAuth Token (xoxb-…)")
	appToken = slackToken("xapp-", "an App-Level Token (xapp-…)")
)
