package swarm

import "github.com/docker/docker/client"

// Docker returns the Docker API client of c's engine, for packages that
// use the same engine for something else (executors/build builds and
// pushes images with it), so that the SSH tunnel and TLS set-up are made
// once. It stays c's: Close closes it.
func (c *Client) Docker() *client.Client { return c.api }
