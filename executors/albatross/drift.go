package albatross

import (
	"context"
	"fmt"

	"github.com/countersign/countersign/bot"
)

var (
	_ bot.Observer = (*Executor)(nil)
	_ bot.Sweeper  = (*Executor)(nil)
)

// Sweeper returns the executor itself: it serves one unikernel, read by
// one `albatross-client info` over one SSH connection.
func (e *Executor) Sweeper() bot.Sweeper { return e }

// Sweep reads what runs, from `albatross-client info`: the running
// binary's SHA-256 and, when the host's index has it, the image it came
// from (the newest image the index lists with that binary). A unikernel
// that is not running has neither. Every target gets the same answer;
// the executor serves one unikernel. A host that cannot be read is an
// error.
func (e *Executor) Sweep(ctx context.Context, targets []string) (map[string]bot.Live, error) {
	st, err := e.readOnly(ctx)
	if err != nil {
		return nil, fmt.Errorf("read what runs of %s: %w", e.uk.Name, err)
	}
	l := bot.Live{Hash: st.running, Replicas: -1}
	if x, ok := st.index.bySHA(st.running); ok && st.running != "" {
		l.Image = x.Image
	}
	out := make(map[string]bot.Live, len(targets))
	for _, t := range targets {
		out[t] = l
	}
	return out, nil
}
