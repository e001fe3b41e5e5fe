package commands

// Adopt asks to take what runs at a service now as its approved state
// (after drift).
type Adopt struct {
	Service string
}

// Verb returns "adopt".
func (Adopt) Verb() string { return "adopt" }

// parseAdopt reads: adopt SERVICE
func parseAdopt(c *cursor) (Command, error) {
	svc, err := c.service()
	if err != nil {
		return nil, err
	}
	if err := c.end(); err != nil {
		return nil, err
	}
	return Adopt{Service: svc}, nil
}
