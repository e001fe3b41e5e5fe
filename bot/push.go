package bot

import (
	"context"
	"fmt"
	"strings"

	cs "github.com/countersign/countersign"
)

// Push is a GitHub push, as the intake (or the shell) hands it over.
type Push struct {
	Repo   string // repository.full_name, owner/name
	Branch string
	SHA    string // head_commit.id
	// Pusher is who pushed (pusher.name, sender.login): the requester.
	Pusher string
	// Author is the head commit's author's GitHub login
	// (head_commit.author.username), "" when GitHub does not know it.
	// Neither the pusher nor the author may approve the deploy.
	Author   string
	Title    string // first line of the head commit's message
	URL      string // head_commit.url
	Delivery string // X-GitHub-Delivery, if any
}

// PushResult says what HandlePush did with a push.
type PushResult struct {
	// Duplicate: the delivery ID was seen before (a redelivery); nothing
	// was done.
	Duplicate bool
	// Services are those that follow the pushed branch, each now with a
	// thread.
	Services []string
}

// Delivery identifies a webhook delivery for the audit trail.
type Delivery struct {
	ID     string // X-GitHub-Delivery
	Event  string // X-GitHub-Event
	Repo   string // repository.full_name, if known
	Sender string // sender.login, if known
	Remote string // the caller's address
}

// HandlePush starts a deploy thread for every service that follows the
// pushed repository and branch: post the parent message, get the
// commit's image, then request the deploy. It returns once the push is
// recorded; the rest runs after (Idle waits for it). A delivery ID seen
// before is a redelivery: nothing is done.
func (b *Bot) HandlePush(ctx context.Context, p Push) (PushResult, error) {
	p.SHA = strings.ToLower(p.SHA)
	var res PushResult
	var matched []Service
	for _, s := range b.cfg.Services {
		if strings.EqualFold(s.Repo, p.Repo) && s.Branch == p.Branch {
			matched = append(matched, s)
			res.Services = append(res.Services, s.Name)
		}
	}
	err := b.store.Update(ctx, func(tx Tx) error {
		res.Duplicate = false
		if p.Delivery != "" {
			seen, err := tx.SeenDelivery(p.Delivery, b.now())
			if err != nil || seen {
				res.Duplicate = seen
				return err
			}
		}
		_, err := tx.Append(b.event(cs.EventWebhookReceived, cs.GitHubActor(p.Pusher), nil, map[string]any{
			"event": "push", "repo": p.Repo, "branch": p.Branch, "sha": p.SHA, "delivery": p.Delivery,
			"pusher": p.Pusher, "author": p.Author, "services": res.Services,
		}))
		return err
	})
	if err != nil {
		return res, b.storeFailure(err)
	}
	if res.Duplicate {
		return res, nil
	}
	for _, s := range matched {
		b.work.add()
		go func(s Service) {
			defer b.work.done()
			b.deployPush(b.ctx, s, p)
		}(s)
	}
	return res, nil
}

// WebhookIgnored audits a delivery the bot acknowledges and ignores (a
// ping, a tag push, a branch deletion, an event it does not handle) as
// webhook.received with the reason. A delivery ID seen before is not
// audited again; duplicate says so.
func (b *Bot) WebhookIgnored(ctx context.Context, d Delivery, reason string) (duplicate bool, err error) {
	err = b.store.Update(ctx, func(tx Tx) error {
		duplicate = false
		if d.ID != "" {
			seen, err := tx.SeenDelivery(d.ID, b.now())
			if err != nil || seen {
				duplicate = seen
				return err
			}
		}
		_, err := tx.Append(b.event(cs.EventWebhookReceived, deliveryActor(d), nil, map[string]any{
			"event": d.Event, "delivery": d.ID, "repo": d.Repo, "ignored": reason,
		}))
		return err
	})
	if err != nil {
		return false, b.storeFailure(err)
	}
	return duplicate, nil
}

// WebhookRefused audits a delivery refused before it was read (unsigned,
// badly signed, oversized) as webhook.refused: the delivery ID and the
// reason, never the body.
func (b *Bot) WebhookRefused(ctx context.Context, d Delivery, reason string) error {
	return b.store.Update(ctx, func(tx Tx) error {
		_, err := tx.Append(b.event(cs.EventWebhookRefused, cs.ActorBot, nil, map[string]any{
			"event": d.Event, "delivery": d.ID, "remote": d.Remote, "reason": reason,
		}))
		return err
	})
}

func deliveryActor(d Delivery) cs.Actor {
	if d.Sender != "" {
		return cs.GitHubActor(d.Sender)
	}
	return cs.ActorBot
}

// deployPush is one (service, commit) thread.
func (b *Bot) deployPush(ctx context.Context, s Service, p Push) {
	info := pushInfo{SHA: p.SHA, Branch: p.Branch, Login: p.Pusher, Title: p.Title}
	msg := b.pushMessage(s, info, "getting the image")
	msg.Channel = s.Channel
	parent := b.post(ctx, msg)
	if parent.ID == "" {
		return
	}
	fail := func(status Markup) {
		m := b.pushMessage(s, info, status)
		m.Channel = s.Channel
		b.update(ctx, parent, m)
		b.post(ctx, Message{Channel: s.Channel, Thread: parent, Text: "❌ " + status})
	}
	image, err := b.imageFor(ctx, s, p, parent)
	if err != nil {
		fail(Esc(err.Error()))
		return
	}
	d := draft{
		Action:    cs.Action{Kind: cs.ActionDeploy, Target: s.Name, Image: image, Commit: p.SHA, Ref: short(p.SHA), Branch: p.Branch},
		Source:    cs.SourcePush,
		Requester: cs.GitHubActor(p.Pusher), Author: b.cfg.Identities[strings.ToLower(p.Author)], AuthorLogin: p.Author,
		CommitTitle: p.Title, Thread: parent, Channel: s.Channel,
	}
	if _, err := b.submit(ctx, d); err != nil {
		fail(Textf("could not request the deploy: %v", err))
	}
}

// imageFor gets the commit's exact image the service's build way.
func (b *Bot) imageFor(ctx context.Context, s Service, p Push, thread cs.MessageRef) (string, error) {
	switch s.Build.Mode {
	case "wait":
		if b.images == nil || s.Build.Tag == nil {
			return "", fmt.Errorf("no registry access configured to wait for the image")
		}
		tag, err := s.Build.Tag(p.SHA, p.Branch)
		if err != nil {
			return "", fmt.Errorf("image tag: %w", err)
		}
		b.post(ctx, Message{Channel: s.Channel, Thread: thread,
			Text: Textf("waiting up to %s for %s:%s", s.Build.Timeout.String(), s.Image, tag)})
		img, err := b.images.Wait(ctx, s.Image, tag, s.Build.Timeout)
		if err != nil {
			return "", fmt.Errorf("no image for %s: %w", short(p.SHA), err)
		}
		b.post(ctx, Message{Channel: s.Channel, Thread: thread, Text: Textf("image %s", img)})
		return img, nil
	case "docker":
		return "", fmt.Errorf("building images with the Docker Engine (build.mode docker) is not in this version of Countersign; use build.mode wait")
	default:
		return "", fmt.Errorf("service %s has no build configured", s.Name)
	}
}
