package commands

// The commands that act on locks and on pending requests: lock, unlock,
// approve, deny.

import cs "github.com/countersign/countersign"

// requestID reads a required REQUEST.
func (c *cursor) requestID() (cs.RequestID, error) {
	tok, err := c.need("REQUEST (a request ID such as R42)")
	if err != nil {
		return "", err
	}
	id, msg := checkRequestID(tok.text)
	if msg != "" {
		return "", c.fail("request", tok.text, msg)
	}
	return id, nil
}

// parseLock reads: lock SERVICE REASON…
func parseLock(c *cursor) (Command, error) {
	svc, err := c.service()
	if err != nil {
		return nil, err
	}
	reason, err := c.reason("REASON (why deploys must wait)")
	if err != nil {
		return nil, err
	}
	return Lock{Service: svc, Reason: reason}, nil
}

// parseUnlock reads: unlock SERVICE
func parseUnlock(c *cursor) (Command, error) {
	svc, err := c.service()
	if err != nil {
		return nil, err
	}
	if err := c.end(); err != nil {
		return nil, err
	}
	return Unlock{Service: svc}, nil
}

// parseApprove reads: approve REQUEST
func parseApprove(c *cursor) (Command, error) {
	id, err := c.requestID()
	if err != nil {
		return nil, err
	}
	if err := c.end(); err != nil {
		return nil, err
	}
	return Approve{ID: id}, nil
}

// parseDeny reads: deny REQUEST REASON…
func parseDeny(c *cursor) (Command, error) {
	id, err := c.requestID()
	if err != nil {
		return nil, err
	}
	reason, err := c.reason("REASON (why the request is denied)")
	if err != nil {
		return nil, err
	}
	return Deny{ID: id, Reason: reason}, nil
}
