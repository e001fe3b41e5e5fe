package slack

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	cs "github.com/countersign/countersign"
)

// The deny modal's IDs. A submission's field errors are keyed by
// DenyReasonBlockID.
const (
	DenyCallbackID     = "deny_reason"
	DenyReasonBlockID  = "reason"
	DenyReasonActionID = "reason"
	// MaxDenyReason bounds the reason; Slack enforces it as it is typed.
	MaxDenyReason = 500
	// MaxModalTitle is Slack's limit on a modal's title.
	MaxModalTitle = 24
)

// Errors of DenyFromSubmission. ErrNoReason and ErrReasonTooLong are
// returned as they are, so that their text can be shown under the
// reason field.
var (
	ErrNotDenyModal  = errors.New("this form is not the deny form")
	ErrNoReason      = errors.New("a reason is needed to deny the request")
	ErrReasonTooLong = fmt.Errorf("keep the reason under %d characters", MaxDenyReason)
)

// DenyModal is the modal that asks why request id is denied. value comes
// back unchanged from DenyFromSubmission (Slack keeps it as the modal's
// private_metadata, at most 3,000 characters): typically the Deny
// button's value, which binds the denial to what the clicker saw.
func DenyModal(value string, id cs.RequestID) slackapi.ModalViewRequest {
	input := slackapi.NewPlainTextInputBlockElement(
		slackapi.NewTextBlockObject(slackapi.PlainTextType, "Why not?", false, false), DenyReasonActionID).
		WithMultiline(true).WithMaxLength(MaxDenyReason)
	reason := slackapi.NewInputBlock(DenyReasonBlockID,
		slackapi.NewTextBlockObject(slackapi.PlainTextType, "Reason", false, false),
		slackapi.NewTextBlockObject(slackapi.PlainTextType, "Posted in the request's thread and kept in the audit trail.", false, false),
		input)
	return slackapi.ModalViewRequest{
		Type:            slackapi.VTModal,
		CallbackID:      DenyCallbackID,
		PrivateMetadata: value,
		Title:           denyTitle(id),
		Submit:          slackapi.NewTextBlockObject(slackapi.PlainTextType, "Deny", false, false),
		Close:           slackapi.NewTextBlockObject(slackapi.PlainTextType, "Cancel", false, false),
		Blocks:          slackapi.Blocks{BlockSet: []slackapi.Block{reason}},
	}
}

// DenyRefusedModal replaces a DenyModal when the clicker turns out not
// to be allowed to deny request id (the modal opens before that is
// known): it says so and offers no submit. Why is told in the channel,
// where the bot answers the click.
func DenyRefusedModal(id cs.RequestID) slackapi.ModalViewRequest {
	text := slackapi.NewTextBlockObject(slackapi.PlainTextType,
		"You cannot deny "+string(id)+" now. Countersign says why in the channel.", false, false)
	return slackapi.ModalViewRequest{
		Type:   slackapi.VTModal,
		Title:  denyTitle(id),
		Close:  slackapi.NewTextBlockObject(slackapi.PlainTextType, "Close", false, false),
		Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{slackapi.NewSectionBlock(text, nil, nil)}},
	}
}

// denyTitle is "Deny R42", or "Deny request" where that is too long:
// Slack refuses the whole modal otherwise.
func denyTitle(id cs.RequestID) *slackapi.TextBlockObject {
	title := "Deny " + string(id)
	if utf8.RuneCountInString(title) > MaxModalTitle {
		title = "Deny request"
	}
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, title, false, false)
}

// DenyFromSubmission reads a submitted DenyModal: the value given to
// DenyModal and the reason, trimmed. It returns an error wrapping
// ErrNotDenyModal for any other interaction, and ErrNoReason or
// ErrReasonTooLong for a reason that is blank or too long; Slack shows
// those to the user under the field (see DenyReasonBlockID).
func DenyFromSubmission(cb slackapi.InteractionCallback) (value, reason string, err error) {
	if cb.Type != slackapi.InteractionTypeViewSubmission || cb.View.CallbackID != DenyCallbackID {
		return "", "", fmt.Errorf("%w: %s with callback_id %q", ErrNotDenyModal, cb.Type, cb.View.CallbackID)
	}
	if cb.View.State != nil {
		reason = strings.TrimSpace(cb.View.State.Values[DenyReasonBlockID][DenyReasonActionID].Value)
	}
	switch {
	case reason == "":
		return "", "", ErrNoReason
	case utf8.RuneCountInString(reason) > MaxDenyReason:
		return "", "", ErrReasonTooLong
	}
	return cb.View.PrivateMetadata, reason, nil
}
