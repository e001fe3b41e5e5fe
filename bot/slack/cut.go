package slack

import (
	"strings"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/countersign/countersign/bot"
)

// Cutting: what keeps every message Render draws inside Slack's limits,
// per block and for the whole message, without breaking markup, and says
// how much is missing.

// fitBlocks keeps body and tail within MaxBlocks and MaxMessageText:
// body's blocks that do not fit in what is left are dropped (a section
// of fields keeps the fields that fit), and a note that links url (when
// it is a link) says how much, so that the tail (the buttons) and the
// small blocks after a big one (policy, approvals) always stay.
func fitBlocks(body, tail []slackapi.Block, url string) []slackapi.Block {
	if len(body)+len(tail) <= MaxBlocks && blocksText(body)+blocksText(tail) <= MaxMessageText {
		return append(body, tail...)
	}
	room := MaxMessageText - blocksText(tail) - runeLen(cutNoteLink(MaxMessageText, url))
	var kept []slackapi.Block
	cut := 0
	for _, b := range body {
		n := blockText(b)
		if len(kept) < MaxBlocks-len(tail)-1 {
			if fit := fewerFields(b, room); fit != nil {
				kept = append(kept, fit)
				room -= blockText(fit)
				n -= blockText(fit)
			}
		}
		cut += n
	}
	return append(append(kept, contextBlock(cutNoteLink(cut, url))), tail...)
}

// fewerFields returns b if it fits in room characters, a section of
// fields cut to those that fit, or nil.
func fewerFields(b slackapi.Block, room int) slackapi.Block {
	if blockText(b) <= room {
		return b
	}
	s, ok := b.(*slackapi.SectionBlock)
	if !ok || s.Text != nil {
		return nil
	}
	n := 0
	for i, f := range s.Fields {
		if n += runeLen(bot.Markup(f.Text)); n > room {
			if i == 0 {
				return nil
			}
			return slackapi.NewSectionBlock(nil, s.Fields[:i:i], nil)
		}
	}
	return b
}

// blockText is how many characters of text b holds, as Slack counts
// them against MaxMessageText.
func blockText(b slackapi.Block) int {
	n := 0
	add := func(o *slackapi.TextBlockObject) {
		if o != nil {
			n += utf8.RuneCountInString(o.Text)
		}
	}
	switch b := b.(type) {
	case *slackapi.HeaderBlock:
		add(b.Text)
	case *slackapi.SectionBlock:
		add(b.Text)
		for _, f := range b.Fields {
			add(f)
		}
	case *slackapi.ContextBlock:
		for _, e := range b.ContextElements.Elements {
			if t, ok := e.(*slackapi.TextBlockObject); ok {
				add(t)
			}
		}
	case *slackapi.ActionBlock:
		for _, e := range b.Elements.ElementSet {
			if btn, ok := e.(*slackapi.ButtonBlockElement); ok {
				add(btn.Text)
			}
		}
	}
	return n
}

func blocksText(bs []slackapi.Block) int {
	n := 0
	for _, b := range bs {
		n += blockText(b)
	}
	return n
}

// textBlocks splits a long text into sections, at line ends where it can,
// and carries an open code block over into the next section. The
// sections hold at most budget characters in all (and are at most
// MaxBlocks); the last one of a text cut short ends with a cut note.
func textBlocks(s bot.Markup, budget int) []slackapi.Block {
	var out []slackapi.Block
	total := runeLen(s)
	var reopen bot.Markup
	for used := 0; s != ""; {
		room := min(MaxSectionText, budget-used)
		if runeLen(reopen+s) <= room {
			return append(out, sectionBlock(reopen+s))
		}
		// The last section keeps room for a readable end and the note.
		last := len(out) >= MaxBlocks-1 || budget-used < MaxSectionText+lastRoom
		room -= runeLen(reopen) + len("\n```")
		if last {
			room -= runeLen(cutNote(total)) + 1
		}
		kept := cutAt(s, room)
		if i := strings.LastIndexByte(string(kept), '\n'); i > len(kept)/2 {
			kept = kept[:i]
		}
		if kept == "" { // one token longer than a section: no clean cut
			kept = bot.Markup([]rune(s)[:room])
		}
		s = bot.Markup(strings.TrimPrefix(string(s[len(kept):]), "\n"))
		body := reopen + kept
		reopen = ""
		if strings.Count(string(body), "```")%2 == 1 {
			body, reopen = body+"\n```", "```\n"
		}
		if last {
			return append(out, sectionBlock(body+"\n"+cutNote(shown(s))))
		}
		if strings.TrimSpace(string(body)) != "" { // Slack refuses blank sections
			out = append(out, sectionBlock(body))
			used += runeLen(body)
		}
	}
	return out
}

// cutNote says how much of a text was cut and where to read all of it.
// Slack's limits count the escapes; the reader is told of what they see.
func cutNote(rest int) bot.Markup {
	return bot.Textf("… (cut: %d more characters; see the thread or the web page)", rest)
}

// lastRoom is the least textBlocks leaves for its last section.
const lastRoom = 1000

// cutNoteLink is cutNote for a message cut as a whole, linking url, the
// request's page, when it is a link.
func cutNoteLink(rest int, url string) bot.Markup {
	if link := bot.Link(url, "the request's page"); url != "" && link != "the request's page" {
		return bot.Textf("… (cut: %d more characters; read all of it on ", rest) + link + ")"
	}
	return cutNote(rest)
}

func runeLen(s bot.Markup) int { return utf8.RuneCountInString(string(s)) }

// shown is how many characters s shows, an escape counting as one.
func shown(s bot.Markup) int { return utf8.RuneCountInString(unescaper.Replace(string(s))) }

var unescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

// cutMarkup returns s if it fits in max runes, and otherwise as much of it
// as fits with a cut note.
func cutMarkup(s bot.Markup, max int) bot.Markup {
	n := runeLen(s)
	if n <= max {
		return s
	}
	// The note for n characters is at least as long as the final one.
	kept := cutAt(s, max-runeLen(cutNote(n))-1)
	return kept + "\n" + cutNote(shown(s[len(kept):]))
}

// cutAt returns the longest prefix of s of at most max runes that ends
// outside an escape (&amp;) and a token (<@U1>, <https://…|label>): a
// cut inside one would show broken markup, or link to a cut URL.
func cutAt(s bot.Markup, max int) bot.Markup {
	safe, n := 0, 0
	inToken, entity := false, -1 // entity counts the runes since '&'
	for i, r := range string(s) {
		if !inToken && entity < 0 {
			safe = i
		}
		if n >= max {
			return s[:safe]
		}
		n++
		switch {
		case inToken:
			inToken = r != '>' && r != '\n'
		case entity >= 0:
			entity++
			if r == ';' || entity > 8 || !(r == '#' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				entity = -1
			}
		case r == '<':
			inToken = true
		case r == '&':
			entity = 0
		}
	}
	return s
}
