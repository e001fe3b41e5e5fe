package dryrun

import (
	"context"
	"errors"
	"strings"
	"testing"

	cs "github.com/countersign/countersign"
)

const img = "registry.example.org/x@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestExecutors_DescribeAndExecute(t *testing.T) {
	swarm := &Swarm{Service: "infra_web", Engine: "chives", EngineHost: "ssh://root@chives"}
	alb := &Albatross{Unikernel: "www", Binary: "unikernel.hvt", Host: "dopey", Address: "dopey:22", User: "deploy",
		Dir: "/var/lib/countersign/unikernels", Client: "albatross-client", Memory: 512, CPUs: 1,
		Net: []string{"service:br0"}, Args: []string{"--tls=true", "it's"}, RestartOnFail: true}
	dns := &DNS{Zone: "example.org", Server: "ns0:53", Key: "deploy.", Algorithm: "hmac-sha256"}
	for _, tc := range []struct {
		name string
		exec interface {
			Describe(context.Context, cs.Request) (string, error)
		}
		req   cs.Request
		wants []string
	}{
		{"swarm deploy", swarm, cs.Request{Action: cs.Action{Kind: cs.ActionDeploy, Target: "web", Image: img}},
			[]string{"Swarm service infra_web on engine chives (ssh://root@chives)", img}},
		{"swarm scale", swarm, cs.Request{Action: cs.Action{Kind: cs.ActionScale, Target: "web", Replicas: 3}},
			[]string{"to 3 replicas"}},
		{"albatross deploy", alb, cs.Request{Action: cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: img}},
			[]string{"stream unikernel.hvt out of " + img, "deploy@dopey:22", "sha256sum",
				"albatross-client create www '/var/lib/countersign/unikernels/www/<sha256>.hvt' --force --mem 512 --cpu 1 --arg=--tls=true '--arg=it'\\''s' --net service:br0 --restart-on-fail"}},
		{"albatross rollback", alb, cs.Request{Action: cs.Action{Kind: cs.ActionRollback, Target: "www", Image: img, Deployment: "R4"}},
			[]string{"deployment R4", "kept on the host"}},
		{"dns set", dns, cs.Request{Action: cs.Action{Kind: cs.ActionDNS, Target: "a.example.org.",
			DNS: &cs.DNSChange{Op: cs.DNSSet, Name: "a.example.org.", Type: "A", Value: "192.0.2.1", TTL: 300}}},
			[]string{"zone example.org to ns0:53", "TSIG key deploy. (hmac-sha256)", "add a.example.org. A 192.0.2.1 with TTL 300"}},
		{"dns delete", dns, cs.Request{Action: cs.Action{Kind: cs.ActionDNS, Target: "a.example.org.",
			DNS: &cs.DNSChange{Op: cs.DNSDelete, Name: "a.example.org.", Type: "TXT"}}},
			[]string{"delete the whole a.example.org. TXT RRset"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.exec.Describe(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, "DRY RUN: ") {
				t.Errorf("description does not say DRY RUN: %s", got)
			}
			for _, w := range tc.wants {
				if !strings.Contains(got, w) {
					t.Errorf("description lacks %q:\n%s", w, got)
				}
			}
		})
	}

	var steps []string
	res, err := alb.Execute(context.Background(), cs.Request{Action: cs.Action{Kind: cs.ActionDeploy, Target: "www", Image: img}},
		func(s string) error { steps = append(steps, s); return nil })
	if err != nil || !res.DryRun || res.Image != img || len(steps) != 5 {
		t.Fatalf("execute = %+v, %v, %d steps", res, err, len(steps))
	}
	for _, s := range steps {
		if !strings.HasPrefix(s, "DRY RUN: would ") {
			t.Errorf("step not labelled as a dry run: %s", s)
		}
	}
}

func TestExecutors_Refuse(t *testing.T) {
	alb := &Albatross{Unikernel: "www"}
	if _, err := alb.Describe(context.Background(), cs.Request{Action: cs.Action{Kind: cs.ActionScale, Target: "www", Replicas: 2}}); err == nil {
		t.Error("albatross accepted a scale")
	}
	if _, err := (&DNS{}).Describe(context.Background(), cs.Request{Action: cs.Action{Kind: cs.ActionDeploy}}); err == nil {
		t.Error("dns accepted a deploy")
	}
	if _, err := (&Swarm{}).Execute(context.Background(), cs.Request{Action: cs.Action{Kind: cs.ActionDNS}}, nil); err == nil {
		t.Error("swarm accepted a dns change")
	}
	stop := errors.New("audit down")
	_, err := (&Swarm{}).Execute(context.Background(), cs.Request{Action: cs.Action{Kind: cs.ActionDeploy, Image: img}},
		func(string) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("progress error not returned: %v", err)
	}
}
