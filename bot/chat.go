package bot

import (
	"context"

	cs "github.com/countersign/countersign"
)

// Chat is where the bot talks: Slack, or the terminal in `shell`.
// Implementations must be safe for concurrent use.
type Chat interface {
	// Post posts msg in msg.Channel, as a reply in msg.Thread if that is set,
	// and returns the new message's reference.
	Post(ctx context.Context, msg Message) (cs.MessageRef, error)
	// Update replaces the text (and buttons) of an earlier message in place.
	Update(ctx context.Context, ref cs.MessageRef, msg Message) error
	// Ephemeral shows msg to one user only (Slack's ephemeral replies).
	Ephemeral(ctx context.Context, channel string, user cs.Actor, msg Message) error
}

// Message is what the bot says, independent of how a chat renders it.
type Message struct {
	Channel string
	Thread  cs.MessageRef // zero: a top-level message
	// Title is the first line (Slack: a header section); Lines follow it.
	Title string
	Lines []string
	// Buttons asks for Approve/Deny buttons bound to Request and its
	// fingerprint; the chat sends them back through Bot.HandleButton.
	Buttons     bool
	Request     cs.RequestID
	Fingerprint string
}

// Text is the message as plain text: the title, then each line.
func (m Message) Text() string {
	s := m.Title
	for _, l := range m.Lines {
		if s != "" {
			s += "\n"
		}
		s += l
	}
	return s
}
