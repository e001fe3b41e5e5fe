package bot

import (
	"fmt"
	"regexp"
	"strings"

	cs "github.com/countersign/countersign"
)

// Markup is chat text in Slack's mrkdwn: mentions (<@U123>), links
// (<https://…|label>) and the escapes &amp; &lt; &gt;. Everything the bot
// says is Markup, and Markup is only built by the functions below, which
// escape whatever people or GitHub wrote (reasons, commit messages, names,
// DNS values), so that <!channel>, <@U123> or <https://evil|approve> in a
// lock reason shows literally and never notifies or links.
type Markup string

// Esc turns plain text into Markup that shows it literally.
func Esc(s string) Markup { return Markup(escaper.Replace(s)) }

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Textf formats like fmt.Sprintf, escaping every argument that is not
// itself Markup (strings, errors, Stringers, numbers). The format is the
// bot's own text and is taken as Markup.
func Textf(format string, args ...any) Markup {
	safe := make([]any, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case Markup:
			safe[i] = string(a)
		case int, int64, uint32, uint64, float64, bool:
			safe[i] = a
		default:
			safe[i] = string(Esc(fmt.Sprint(a)))
		}
	}
	return Markup(fmt.Sprintf(format, safe...))
}

// Mention is a chat mention of a user; GitHub identities and the bot are
// written out as their names.
func Mention(a cs.Actor) Markup {
	if a == "" || a == cs.ActorBot || strings.HasPrefix(string(a), "github:") || !validUserID(string(a)) {
		return Esc(string(a))
	}
	return Markup("<@" + string(a) + ">")
}

// validUserID keeps a mention to the shape of a chat user ID, so that a
// crafted actor can never inject markup.
func validUserID(s string) bool {
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return s != ""
}

// Link is a link with a label; a URL that is not http(s) or holds markup
// characters is shown as the label alone.
func Link(url, label string) Markup {
	if url == "" || !(strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "http://")) || strings.ContainsAny(url, "<>|& \n") {
		return Esc(label)
	}
	return Markup("<" + url + "|" + string(Esc(label)) + ">")
}

// Join joins Markup with a plain separator.
func Join(parts []Markup, sep string) Markup {
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = string(p)
	}
	return Markup(strings.Join(s, string(Esc(sep))))
}

var (
	mentionPattern = regexp.MustCompile(`<([@#])([A-Za-z0-9]+)(\|[^>]*)?>`)
	linkPattern    = regexp.MustCompile(`<(https?://[^|>]*)\|([^>]*)>`)
	unescaper      = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
)

// PlainText turns Markup into text for places without chat markup (the
// terminal, GitHub descriptions): mentions become @U123 and #C123, links
// their label, escapes the characters they stand for.
func PlainText(m Markup) string {
	s := mentionPattern.ReplaceAllString(string(m), "$1$2")
	s = linkPattern.ReplaceAllString(s, "$2")
	return unescaper.Replace(s)
}
