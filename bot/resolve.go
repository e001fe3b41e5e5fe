package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	cs "github.com/countersign/countersign"
)

// resolveDeploy fills a deploy action's exact image from what the user
// named: nothing (the latest build seen for the service), a commit, or a
// digest. Tags are never deployed: everything ends as repo@sha256:….
func (b *Bot) resolveDeploy(ctx context.Context, s Service, ref string, a *cs.Action) error {
	switch {
	case ref == "":
		img, commit, branch, err := b.latestBuild(ctx, s.Name)
		if err != nil {
			return err
		}
		a.Image, a.Commit, a.Branch, a.Ref = img, commit, branch, "latest build"
		return nil
	case cs.ValidDigest(ref):
		if b.images == nil {
			return fmt.Errorf("cannot check %s: no registry access configured", ref)
		}
		img := s.Image + "@" + ref
		if err := b.images.Check(ctx, img); err != nil {
			return fmt.Errorf("image %s: %w", img, err)
		}
		a.Image, a.Ref = img, ref
		return nil
	default: // a commit: the parser accepts only hex SHAs here
		if s.Build.Tag == nil || b.images == nil {
			return fmt.Errorf("%s has no image tag template: deploy it by digest (deploy %s sha256:…)", s.Name, s.Name)
		}
		ref = strings.ToLower(ref)
		if len(ref) < 40 {
			full, err := b.fullSHA(ctx, s.Name, ref)
			if err != nil {
				return err
			}
			ref = full
		}
		tag, err := s.Build.Tag(ref, s.Branch)
		if err != nil {
			return fmt.Errorf("tag for commit %s: %w", ref, err)
		}
		img, err := b.images.Resolve(ctx, s.Image, tag)
		if err != nil {
			return fmt.Errorf("image %s:%s for commit %s: %w", s.Image, tag, ref, err)
		}
		a.Image, a.Commit, a.Ref = img, ref, ref
		return nil
	}
}

// latestBuild finds the newest image a push resolved for the service, from
// the audit trail (the request.created records of pushes).
func (b *Bot) latestBuild(ctx context.Context, service string) (image, commit, branch string, err error) {
	var evs []cs.Event
	err = b.store.View(ctx, func(tx ReadTx) error {
		var err error
		evs, err = tx.Events(EventQuery{Target: service, Kind: cs.EventRequestCreated, Limit: 200})
		return err
	})
	if err != nil {
		return "", "", "", err
	}
	for i := len(evs) - 1; i >= 0; i-- {
		var d struct {
			Action cs.Action `json:"action"`
			Source cs.Source `json:"source"`
		}
		if json.Unmarshal(evs[i].Detail, &d) != nil || d.Source != cs.SourcePush || d.Action.Image == "" {
			continue
		}
		return d.Action.Image, d.Action.Commit, d.Action.Branch, nil
	}
	return "", "", "", fmt.Errorf("no build of %s seen yet: name a commit or a digest (deploy %s COMMIT | sha256:…)", service, service)
}

// resolveRollback picks the deployment to go back to: the one named, or
// the image that ran before what runs now.
func (b *Bot) resolveRollback(ctx context.Context, to cs.RequestID, a *cs.Action) error {
	var hist []cs.Deployment
	if err := b.store.View(ctx, func(tx ReadTx) error {
		var err error
		hist, err = tx.Deployments(a.Target, 0)
		return err
	}); err != nil {
		return err
	}
	p, err := pickRollback(a.Target, hist, to)
	if err != nil {
		return err
	}
	a.Image, a.Commit, a.Deployment, a.Ref = p.Image, p.Commit, p.Deployment, p.Ref
	return nil
}

// RollbackPick is what a rollback goes back to. An empty Image means no
// history at all: an executor that knows the target's own previous state
// (Swarm's PreviousSpec) fills it in Prepare, before policy sees the request.
type RollbackPick struct {
	Image, Commit string
	// Deployment is the request ID of the deployment gone back to, if it
	// was the bot's; Ref says where the image came from otherwise.
	Deployment string
	Ref        string
}

// pickRollback chooses from hist (newest first) the deployment named by
// to, or without one the image that ran before the last successful
// deploy (recorded as Replaced), else the newest successful deployment
// before it with a different image.
func pickRollback(target string, hist []cs.Deployment, to cs.RequestID) (RollbackPick, error) {
	var current *cs.Deployment
	for i := range hist {
		if hist[i].Succeeded {
			current = &hist[i]
			break
		}
	}
	if current == nil {
		if to != "" {
			return RollbackPick{}, fmt.Errorf("no deployment %s of %s is recorded", to, target)
		}
		return RollbackPick{}, nil
	}
	// The image that ran before the last successful deploy, when the
	// executor recorded it: right even when the bot never deployed it.
	if to == "" && current.Replaced != "" && current.Replaced != current.Image {
		// When the bot deployed that image itself, say which deployment
		// and commit it was: the approver sees the commit, GitHub gets a
		// deployment for it, the history keeps it.
		for i := range hist {
			if d := &hist[i]; d != current && d.Succeeded && d.Image == current.Replaced {
				return RollbackPick{Image: d.Image, Commit: d.Commit, Deployment: string(d.ID)}, nil
			}
		}
		return RollbackPick{Image: current.Replaced, Ref: "the image before " + string(current.ID)}, nil
	}
	var pick *cs.Deployment
	for i := range hist {
		d := &hist[i]
		switch {
		case to != "" && d.ID == to:
			if !d.Succeeded {
				return RollbackPick{}, fmt.Errorf("deployment %s of %s failed; roll back to a successful one (%s)", to, target, deploymentIDs(hist))
			}
			if d.Image == current.Image {
				return RollbackPick{}, fmt.Errorf("%s is already running %s (deployment %s)", target, d.Image, current.ID)
			}
			pick = d
		case to == "" && pick == nil && d.Succeeded && d.Image != current.Image:
			pick = d
		}
	}
	if pick == nil {
		if to != "" {
			return RollbackPick{}, fmt.Errorf("no deployment %s of %s (recorded: %s)", to, target, deploymentIDs(hist))
		}
		return RollbackPick{}, fmt.Errorf("no earlier successful deployment of %s with a different image than the current one (%s)", target, current.Image)
	}
	return RollbackPick{Image: pick.Image, Commit: pick.Commit, Deployment: string(pick.ID)}, nil
}

func deploymentIDs(hist []cs.Deployment) string {
	var ids []string
	for i, d := range hist {
		if i == 10 {
			ids = append(ids, "…")
			break
		}
		ids = append(ids, string(d.ID))
	}
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// fullSHA finds the one recorded push of service whose commit starts with
// prefix: image tags are built from full SHAs, so a short one cannot be
// looked up in the registry.
func (b *Bot) fullSHA(ctx context.Context, service, prefix string) (string, error) {
	seen := map[string]bool{}
	err := b.store.View(ctx, func(tx ReadTx) error {
		for _, st := range []PushState{PushWaiting, PushRequested, PushFailed, PushSuperseded} {
			recs, err := tx.Pushes(st)
			if err != nil {
				return err
			}
			for _, r := range recs {
				if r.Service == service && strings.HasPrefix(r.Push.SHA, prefix) {
					seen[r.Push.SHA] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	var shas []string
	for sha := range seen {
		shas = append(shas, sha)
	}
	sort.Strings(shas)
	switch len(shas) {
	case 1:
		return shas[0], nil
	case 0:
		return "", fmt.Errorf("no push of %s with a commit starting %s is recorded: give the full 40-digit SHA, or a digest (sha256:…)", service, prefix)
	default:
		return "", fmt.Errorf("%s is ambiguous: pushes of %s have commits %s; give more digits", prefix, service, strings.Join(shas, ", "))
	}
}
