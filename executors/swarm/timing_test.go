package swarm

import (
	"fmt"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

// TestConvergenceTime measures, and logs, the time from the start of an
// approved deploy to a converged service, with Docker's default update
// settings (one task at a time, each watched for 5s). Not an assertion:
// run with -v to read the numbers.
func TestConvergenceTime(t *testing.T) {
	f := env(t)
	t.Parallel()
	for _, replicas := range []uint64{1, 3} {
		t.Run(fmt.Sprintf("%d replicas", replicas), func(t *testing.T) {
			t.Parallel()
			name := f.createService(t, svcOpts{image: f.v1, replicas: replicas, dockerDefaults: true})
			ex := connect(t, local, Options{Poll: 250 * time.Millisecond}).Service("www", name, f.repo)
			start := time.Now()
			_, _, st, err := run(t, ex, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: f.v2})
			took := time.Since(start)
			if err != nil {
				t.Fatalf("deploy: %v\n%s", err, st.all())
			}
			t.Logf("approval to converged deploy, %d replica(s), Docker's default update config: %s", replicas, took.Round(10*time.Millisecond))
		})
	}
}
