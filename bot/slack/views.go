package slack

import (
	"context"

	slackapi "github.com/slack-go/slack"
)

// UpdateView replaces the open modal that was opened with externalID as
// its external_id (views.update). Like every call it waits out rate
// limits and classifies errors; a modal the user has closed answers
// not_found.
func (c *Client) UpdateView(ctx context.Context, externalID string, v slackapi.ModalViewRequest) error {
	return c.call(ctx, "views.update", func(ctx context.Context) error {
		_, err := c.api.Load().UpdateViewContext(ctx, v, externalID, "", "")
		return err
	})
}
