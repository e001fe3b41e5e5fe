package bot

import (
	"context"

	cs "github.com/countersign/countersign"
)

// Directory answers who is in a chat user group. The Slack adapter
// implements it with usergroups.users.list and a short cache.
type Directory interface {
	// UsergroupMembers returns the members of user group id ("S…").
	UsergroupMembers(ctx context.Context, id string) ([]cs.Actor, error)
}

// usergroups resolves every user group the policies name. A group that
// cannot be read is left out, so its members do not count (deny by
// default), and a note says so for the message that depends on it.
func (b *Bot) usergroups(ctx context.Context) (map[string][]cs.Actor, []Markup) {
	ids := b.rules().Policy.Usergroups()
	if len(ids) == 0 {
		return nil, nil
	}
	if b.cfg.Directory == nil {
		return nil, []Markup{Textf("user groups (%s) cannot be read without Slack, so their members do not count", Join(escAll(ids), ", "))}
	}
	groups := make(map[string][]cs.Actor, len(ids))
	var notes []Markup
	for _, id := range ids {
		m, err := b.cfg.Directory.UsergroupMembers(ctx, id)
		if err != nil {
			b.log.Warn("read user group", "usergroup", id, "err", err)
			notes = append(notes, Textf("user group %s could not be read from Slack, so its members do not count", id))
			continue
		}
		groups[id] = m
	}
	return groups, notes
}

func escAll(s []string) []Markup {
	out := make([]Markup, len(s))
	for i, x := range s {
		out[i] = Esc(x)
	}
	return out
}
