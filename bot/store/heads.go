package store

import (
	"encoding/json"
	"fmt"

	"github.com/countersign/countersign/bot"
)

// PutBranchHead stores what the bot knows of a followed branch's head,
// under bot.HeadKey of its repository and branch.
func (t *tx) PutBranchHead(h bot.BranchHead) error {
	if err := t.usable(); err != nil {
		return err
	}
	if h.Repo == "" || h.Branch == "" {
		return fmt.Errorf("put branch head: repository and branch are required")
	}
	v, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode branch head %s %s: %w", h.Repo, h.Branch, err)
	}
	return t.put(bucketHeads, []byte(bot.HeadKey(h.Repo, h.Branch)), v)
}

// BranchHead returns what the bot knows of repo's branch (repo in any
// case); ok is false when it knows nothing.
func (t *tx) BranchHead(repo, branch string) (bot.BranchHead, bool, error) {
	if err := t.usable(); err != nil {
		return bot.BranchHead{}, false, err
	}
	v := t.get(bucketHeads, []byte(bot.HeadKey(repo, branch)))
	if v == nil {
		return bot.BranchHead{}, false, nil
	}
	var h bot.BranchHead
	if err := json.Unmarshal(v, &h); err != nil {
		return h, false, fmt.Errorf("decode branch head %s %s: %w", repo, branch, err)
	}
	return h, true, nil
}
