package bot

import (
	"context"
	"fmt"

	cs "github.com/countersign/countersign"
)

// PushBuilt: a build-only service's push has its image; nothing more
// happens.
const PushBuilt PushState = "built"

// BuildOnly reports whether s is never deployed.
func (s Service) BuildOnly() bool { return s.Kind == KindBuild }

// refuseBuildOnly is the error of a change a build-only service cannot
// take (deploy, rollback, scale); other actions pass.
func refuseBuildOnly(s Service, kind cs.ActionKind) error {
	if !s.BuildOnly() || (kind != cs.ActionDeploy && kind != cs.ActionRollback && kind != cs.ActionScale) {
		return nil
	}
	return fmt.Errorf("%s is a build-only service: it has no deploy target, so it cannot be %s; its commits are checked and built, never deployed",
		s.Name, map[cs.ActionKind]string{cs.ActionDeploy: "deployed", cs.ActionRollback: "rolled back", cs.ActionScale: "scaled"}[kind])
}

// builtOnly ends a build-only service's push once it has its image: the
// thread says so, and no request is made.
func (b *Bot) builtOnly(ctx context.Context, s Service, rec PushRecord, image string) {
	status := Textf("built `%s`; %s is build-only: nothing is deployed", image, s.Name)
	b.setPush(ctx, s, rec, pushStep{State: PushBuilt, Status: status})
	b.post(ctx, Message{Channel: rec.Thread.Channel, Thread: rec.Thread, Text: "✅ " + status})
}
