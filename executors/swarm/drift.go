package swarm

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/countersign/countersign/bot"
)

var (
	_ bot.Observer = (*Executor)(nil)
	_ bot.Sweeper  = (*Client)(nil)
)

// Sweeper returns the executor's Client: every service of one engine is
// read by one call.
func (e *Executor) Sweeper() bot.Sweeper { return e.c }

// Sweep reads what runs at each of targets (Countersign's service names,
// of executors made by Service) with one ServiceList call: the image of
// the spec (as repo@sha256:…), the replicas (-1 for a global service)
// and when the spec last changed. A target the engine has no service for
// is unknown, and says so; an engine that cannot be read is an error
// wrapping ErrUnreachable when it did not answer.
func (c *Client) Sweep(ctx context.Context, targets []string) (map[string]bot.Live, error) {
	if err := c.ready(ctx); err != nil {
		return nil, fmt.Errorf("list the services of engine %s: %w", c.where(), err)
	}
	list, err := c.api.ServiceList(ctx, swarm.ServiceListOptions{})
	if err != nil {
		if client.IsErrConnectionFailed(err) {
			return nil, fmt.Errorf("list the services of engine %s: %w: %w", c.where(), ErrUnreachable, err)
		}
		return nil, fmt.Errorf("list the services of engine %s: %w", c.where(), err)
	}
	byName := make(map[string]*swarm.Service, len(list))
	for i := range list {
		byName[list[i].Spec.Name] = &list[i]
	}
	out := make(map[string]bot.Live, len(targets))
	for _, t := range targets {
		v, ok := c.services.Load(t)
		if !ok {
			out[t] = bot.Live{Unknown: fmt.Sprintf("%s is not a service of engine %s", t, c.where())}
			continue
		}
		e := v.(*Executor)
		svc, ok := byName[e.service]
		if !ok {
			out[t] = bot.Live{Unknown: fmt.Sprintf("%s: no such service", e.where())}
			continue
		}
		out[t] = live(*svc)
	}
	return out, nil
}

// live is what a service's spec says runs.
func live(svc swarm.Service) bot.Live {
	l := bot.Live{Image: currentImage(svc), Replicas: -1, Updated: svc.UpdatedAt}
	if r, err := parseImage(l.Image); err == nil && r.Digest != "" {
		l.Image = r.Pinned()
	}
	if m := svc.Spec.Mode.Replicated; m != nil && m.Replicas != nil {
		l.Replicas = int(*m.Replicas)
	}
	return l
}
