package bot

import (
	"context"
	"fmt"
	"strings"

	cs "github.com/countersign/countersign"
)

// Push is a GitHub push, as the intake (or the shell) hands it over.
type Push struct {
	Repo     string // owner/name
	Branch   string
	SHA      string
	Login    string // the pusher's GitHub login
	Title    string // first line of the head commit's message
	Delivery string // X-GitHub-Delivery, if any
}

// HandlePush starts a deploy thread for every service that follows the
// pushed repository and branch: post the parent message, wait for the
// commit's image, then request the deploy. It returns once the work is
// started; Idle waits for it. It reports how many services matched.
func (b *Bot) HandlePush(ctx context.Context, p Push) (int, error) {
	p.SHA = strings.ToLower(p.SHA)
	if err := b.store.Update(ctx, func(tx Tx) error {
		_, err := tx.Append(b.event(cs.EventWebhookReceived, cs.GitHubActor(p.Login), nil, map[string]any{
			"event": "push", "repo": p.Repo, "branch": p.Branch, "sha": p.SHA, "delivery": p.Delivery,
		}))
		return err
	}); err != nil {
		return 0, b.storeFailure(err)
	}
	n := 0
	for _, s := range b.cfg.Services {
		if !strings.EqualFold(s.Repo, p.Repo) || s.Branch != p.Branch {
			continue
		}
		n++
		b.work.add()
		go func(s Service) {
			defer b.work.done()
			b.deployPush(b.ctx, s, p)
		}(s)
	}
	return n, nil
}

// deployPush is one (service, commit) thread.
func (b *Bot) deployPush(ctx context.Context, s Service, p Push) {
	info := pushInfo{SHA: p.SHA, Branch: p.Branch, Login: p.Login, Title: p.Title}
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
		Requester: cs.GitHubActor(p.Login), Author: b.cfg.Identities[strings.ToLower(p.Login)], AuthorLogin: p.Login,
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
