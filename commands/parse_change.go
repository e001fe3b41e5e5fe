package commands

import "strings"

// The change commands on services: deploy, rollback, scale. Each may end
// with --break-glass REASON…, which the cursor takes.

// service reads a required SERVICE.
func (c *cursor) service() (string, error) {
	tok, err := c.need("SERVICE")
	if err != nil {
		return "", err
	}
	s, msg := checkService(tok.text)
	if msg != "" {
		return "", c.fail("service", tok.text, msg)
	}
	return s, nil
}

// parseDeploy reads: deploy SERVICE [REF|DIGEST] [--break-glass REASON…]
func parseDeploy(c *cursor) (Command, error) {
	svc, err := c.service()
	if err != nil {
		return nil, err
	}
	d := Deploy{Service: svc}
	tok, ok, err := c.next()
	if err != nil {
		return nil, err
	}
	if ok {
		ref, msg := checkRef(tok.text)
		if msg != "" {
			return nil, c.fail("ref", tok.text, msg)
		}
		d.Ref = ref
	}
	if err := c.end(); err != nil {
		return nil, err
	}
	d.BreakGlass = c.breakGlass
	return d, nil
}

// parseRollback reads: rollback SERVICE [to DEPLOYMENT] [--break-glass REASON…]
// The word "to" may be left out: `rollback www R40`.
func parseRollback(c *cursor) (Command, error) {
	svc, err := c.service()
	if err != nil {
		return nil, err
	}
	r := Rollback{Service: svc}
	tok, ok, err := c.next()
	if err != nil {
		return nil, err
	}
	if ok {
		if strings.EqualFold(tok.text, "to") && !tok.quoted {
			if tok, err = c.need("DEPLOYMENT after to (a request ID such as R40)"); err != nil {
				return nil, err
			}
		}
		id, msg := checkRequestID(tok.text)
		if msg != "" {
			return nil, c.fail("deployment", tok.text, msg)
		}
		r.To = id
	}
	if err := c.end(); err != nil {
		return nil, err
	}
	r.BreakGlass = c.breakGlass
	return r, nil
}

// parseScale reads: scale SERVICE REPLICAS [--break-glass REASON…]
func parseScale(c *cursor) (Command, error) {
	svc, err := c.service()
	if err != nil {
		return nil, err
	}
	tok, err := c.need("REPLICAS")
	if err != nil {
		return nil, err
	}
	n, msg := checkReplicas(tok.text)
	if msg != "" {
		return nil, c.fail("replicas", tok.text, msg)
	}
	if err := c.end(); err != nil {
		return nil, err
	}
	return Scale{Service: svc, Replicas: n, BreakGlass: c.breakGlass}, nil
}
