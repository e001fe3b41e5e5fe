package bot

import (
	"context"
	"errors"
	"time"

	cs "github.com/countersign/countersign"
)

// Chat is where the bot talks: Slack, or the terminal in `shell`. The bot
// never calls it directly from the workflow: messages go through its
// outbox, which retries what fails and keeps order, so that an
// implementation may simply return the error of a failed call.
// Implementations must be safe for concurrent use.
type Chat interface {
	// Post posts msg in msg.Channel, as a reply in msg.Thread if that is
	// set (its TS filled in), and returns the new message's reference.
	Post(ctx context.Context, msg Message) (cs.MessageRef, error)
	// Update replaces an earlier message in place (ref.TS is set).
	Update(ctx context.Context, ref cs.MessageRef, msg Message) error
	// Ephemeral shows msg to one user only (Slack's ephemeral replies).
	Ephemeral(ctx context.Context, to Caller, msg Message) error
}

// ErrChatRejected marks an error that retrying cannot fix (Slack answered
// channel_not_found, msg_blocks_too_long, or any code not known to heal;
// GitHub a 4xx): the outbox sets the entry aside at once (see Aside)
// instead of retrying it. Adapters wrap it around every error but those
// known to be temporary.
var ErrChatRejected = errors.New("the chat refused the message")

// Caller is who typed a command or clicked, and where.
type Caller struct {
	User    cs.Actor
	Channel string
	// ReplyURL is a chat-specific way to answer this caller where the bot
	// cannot post (Slack's response_url); may be empty.
	ReplyURL string
}

// Message is what the bot says, independent of how a chat renders it: a
// line of text (a reply, an answer, an error), a request's own message
// (Request), or the parent message of a push thread (Push). Text is always
// set; a chat that cannot draw the cards shows it.
type Message struct {
	Channel string
	Thread  cs.MessageRef // zero: a top-level message
	// Text is the whole message in chat markup.
	Text    Markup
	Request *RequestCard `json:",omitempty"`
	Push    *PushCard    `json:",omitempty"`
}

// RequestCard is everything a request's message shows: what will change,
// who asked, which policy matched, the approval progress, the outcome.
type RequestCard struct {
	ID     cs.RequestID
	Action cs.Action
	State  cs.State
	// Status is the state in words ("waiting for approval").
	Status string
	DryRun bool
	// RequestedBy is who asked: a mention, or the push and its author.
	RequestedBy Markup
	// Change is the change in one line; Details are its parts (service,
	// host or engine, image, commit, replicas from → to, DNS records).
	Change  Markup
	Details []Field
	// DNS holds the records an approver compares, for DNS changes.
	DNS *cs.DNSChange `json:",omitempty"`
	// Changes are the commits a deploy adds or takes away.
	Changes *ChangesCard `json:",omitempty"`
	// Drift, when set, says the target does not run what the bot last
	// approved and carried out (deploys, rollbacks, adopts while open).
	Drift Markup
	// Plan is what the executor said it will do, plain text.
	Plan          string
	BreakGlass    string
	Policy        string // "" when no policy matched
	PolicyVersion string
	Window        string
	// Lines is the approval progress, one entry per requirement line.
	Lines    []ApprovalLine
	Progress string // "1 of 2 approvals"
	Expires  time.Time
	Outcome  Markup
	// Notes are warnings for the reader, e.g. a user group that could not
	// be read.
	Notes []Markup
	// Buttons asks for Approve and Deny buttons bound to ID and
	// Fingerprint (see ButtonValue).
	Buttons     bool
	Fingerprint string
	// URL is the request's web page, when the bot has a public URL.
	URL string
}

// ApprovalLine is one requirement line and who filled it.
type ApprovalLine struct {
	Group     string
	Need      int
	Approvers []cs.Actor
}

// Field is one labelled part of a change.
type Field struct {
	Label string
	Value Markup
}

// PushCard is the parent message of a (service, commit) thread.
type PushCard struct {
	Service   string
	Repo      string
	SHA       string
	Branch    string
	Login     string // the pusher's GitHub login
	Title     string // first line of the commit message, as GitHub has it
	CommitURL string
	// Status is where the push stands, edited in place.
	Status Markup
}
