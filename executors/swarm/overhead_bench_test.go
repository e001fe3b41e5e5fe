package swarm

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	cs "github.com/countersign/countersign"
)

// BenchmarkDeployOverhead is the time from an approved deploy to a
// converged service on this machine's engine, through the executor with
// its default options (Execute, as the bot calls it on approval), against
// `docker service update --image IMAGE --detach=false` of the same
// service, alternating: the executor deploys one image, the CLI the
// other, and so on, so that both make the same updates. The services have
// one and three replicas, updated one task at a time, each watched for
// 1 s (Docker's default is 5 s: shorter makes any overhead show). It
// reports the mean seconds of each and ours ÷ the CLI's (target: ≤ 1.05).
// It needs the docker CLI; without it, or without an engine, it skips.
//
//	go test ./executors/swarm -run '^$' -bench DeployOverhead -benchtime 3x
func BenchmarkDeployOverhead(b *testing.B) {
	dockerCLI, err := exec.LookPath("docker")
	if err != nil {
		b.Skip("the docker CLI is not installed")
	}
	f := env(b)
	for _, replicas := range []uint64{1, 3} {
		b.Run(fmt.Sprintf("replicas-%d", replicas), func(b *testing.B) {
			name := f.createService(b, svcOpts{image: f.v1, replicas: replicas})
			c, err := Connect(context.Background(), local, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ex := c.Service("www", name, f.repo)
			ctx := context.Background()
			images := []string{f.v2, f.v1}
			var ours, cli time.Duration
			deploys := 0
			b.ResetTimer()
			for range b.N {
				image := images[deploys%2]
				deploys++
				a, err := ex.Prepare(ctx, cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: image})
				if err != nil {
					b.Fatal(err)
				}
				st := &steps{}
				start := time.Now()
				if _, err := ex.Execute(ctx, cs.Request{ID: "R1", Action: a}, st.add); err != nil {
					b.Fatalf("deploy: %v\n%s", err, st.all())
				}
				ours += time.Since(start)

				image = images[deploys%2]
				deploys++
				start = time.Now()
				out, err := exec.Command(dockerCLI, "service", "update", "--quiet", "--detach=false", "--image", image, name).CombinedOutput()
				cli += time.Since(start)
				if err != nil {
					b.Fatalf("docker service update: %v\n%s", err, out)
				}
				if got := f.imageOf(b, name); got != image {
					b.Fatalf("after the CLI's update the service runs %s, want %s", got, image)
				}
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(ours.Seconds()/n, "s/deploy")
			b.ReportMetric(cli.Seconds()/n, "cli-s/deploy")
			b.ReportMetric(ours.Seconds()/cli.Seconds(), "x-cli")
		})
	}
}
